import { Injectable } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { ServiceConfig } from '../../config/config.providers';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { Channel, DELIVERY_TIMEOUT_MS, failure, type DeliveryOutcome } from './channel';

/** Email through SMTP_URL with nodemailer. Without SMTP_URL notices are logged as undeliverable. */
@Injectable()
export class EmailChannel extends Channel<Extract<ChannelPolicy, { type: 'email' }>> {
  readonly type = 'email' as const;
  private readonly transport?: Transporter;

  constructor(private readonly config: ServiceConfig) {
    super();
    const url = config.env.SMTP_URL;
    if (url) {
      this.transport = createTransport(url, {
        connectionTimeout: DELIVERY_TIMEOUT_MS,
        greetingTimeout: DELIVERY_TIMEOUT_MS,
        socketTimeout: DELIVERY_TIMEOUT_MS,
      });
    }
  }

  async deliver(message: NoticeMessage, policy: Extract<ChannelPolicy, { type: 'email' }>, notificationId: string): Promise<DeliveryOutcome> {
    if (!this.transport) return { outcome: 'undeliverable', error: 'no transport: SMTP_URL is not set' };
    const to = message.to ?? policy.to;
    if (!to.length) return { outcome: 'undeliverable', error: 'no recipient address' };
    try {
      const info = await this.transport.sendMail({
        from: this.config.env.SMTP_FROM,
        to,
        subject: message.subject,
        text: message.text,
        // Lets a mail server or reader spot a re-delivery of the same notice; on the broker's own host.
        messageId: `<${notificationId}@${new URL(this.config.publicUrl).hostname}>`,
        headers: { 'X-Breakglass-Notice': message.notice, 'X-Breakglass-Grant': String(message.details.grant ?? '') },
      });
      return { outcome: 'delivered', response: { messageId: info.messageId, accepted: info.accepted, response: info.response } };
    } catch (error) {
      return failure(error);
    }
  }
}
