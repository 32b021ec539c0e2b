import { Module, type OnModuleInit } from '@nestjs/common';
import { DomainEventBus } from '../common/domain-events';
import { EmailChannel } from './channels/email.channel';
import { LogChannel } from './channels/log.channel';
import { PagerDutyChannel } from './channels/pagerduty.channel';
import { WebhookChannel } from './channels/webhook.channel';
import { Dispatcher } from './dispatcher';
import { NotificationsRepository } from './notifications.repository';
import { Notifications } from './notifications.service';

@Module({
  providers: [Notifications, NotificationsRepository, Dispatcher, EmailChannel, PagerDutyChannel, WebhookChannel, LogChannel],
  exports: [Notifications, NotificationsRepository],
})
export class NotificationsModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly dispatcher: Dispatcher,
  ) {}

  onModuleInit(): void {
    this.events.onCommitted('notifications.enqueued', () => this.dispatcher.wake());
  }
}
