import { Module, type OnModuleInit } from '@nestjs/common';
import { DomainEventBus } from '../common/domain-events';
import { LoadedPolicy } from '../config/config.providers';
import { Metrics } from '../health/metrics.service';
import { EmailChannel } from './channels/email.channel';
import { LogChannel } from './channels/log.channel';
import { PagerDutyChannel } from './channels/pagerduty.channel';
import { SlackChannel } from './channels/slack.channel';
import { TeamsChannel } from './channels/teams.channel';
import { WebhookChannel } from './channels/webhook.channel';
import { Dispatcher } from './dispatcher';
import { NotificationsRepository } from './notifications.repository';
import { Notifications } from './notifications.service';

@Module({
  providers: [Notifications, NotificationsRepository, Dispatcher, EmailChannel, PagerDutyChannel, WebhookChannel, LogChannel, SlackChannel, TeamsChannel],
  exports: [Notifications, NotificationsRepository],
})
export class NotificationsModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly dispatcher: Dispatcher,
    private readonly repository: NotificationsRepository,
    private readonly metrics: Metrics,
    private readonly policy: LoadedPolicy,
  ) {}

  onModuleInit(): void {
    this.events.onCommitted('notifications.enqueued', () => this.dispatcher.wake());
    // Something to alert on: a channel whose deliveries pile up or fail (every policy channel, 0 included).
    const byChannel = async (figure: 'backlog' | 'failing') => {
      const rows = new Map((await this.repository.backlogByChannel()).map((row) => [row.channel, row]));
      const channels = new Set([...Object.keys(this.policy.channels), ...rows.keys()]);
      return [...channels].map((channel) => ({ labels: { channel }, value: rows.get(channel)?.[figure] ?? 0 }));
    };
    this.metrics.observe('breakglass_notifications_backlog', 'Notifications waiting for delivery, by channel', ['channel'], () => byChannel('backlog'));
    this.metrics.observe('breakglass_notifications_failing', 'Notifications whose delivery failed (retrying or given up), by channel', ['channel'], () =>
      byChannel('failing'),
    );
  }
}
