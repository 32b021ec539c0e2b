import { Injectable, Logger } from '@nestjs/common';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { Channel, type DeliveryOutcome } from './channel';

/** Writes the notice to the service log (a SIEM collecting the logs receives it). */
@Injectable()
export class LogChannel extends Channel<Extract<ChannelPolicy, { type: 'log' }>> {
  readonly type = 'log' as const;
  private readonly logger = new Logger('notice');

  async deliver(message: NoticeMessage, _policy: Extract<ChannelPolicy, { type: 'log' }>, notificationId: string): Promise<DeliveryOutcome> {
    this.logger.log({ msg: message.summary, notification: notificationId, notice: message.notice, details: message.details });
    return { outcome: 'delivered' };
  }
}
