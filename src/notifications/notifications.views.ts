import { Int, ListOf, NullableText, NullableTimestamp, OneOf, Text, Timestamp } from '../common/api-schema';
import { CHANNEL_TYPES, type ChannelSpec } from '../config/policy.schema';

export const OUTBOX_STATES = ['pending', 'delivered', 'failed', 'undeliverable'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** An outbox row of a grant: what was sent where, and whether it arrived (no message body). */
export class NotificationView {
  @Text()
  id: string;
  @Text({ description: 'The notice kind, e.g. grant_activated, sla_breached' })
  notice: string;
  @Text({ description: 'The policy channel name' })
  channel: string;
  @OneOf(CHANNEL_TYPES)
  channelType: ChannelSpec['type'];
  @NullableText({ description: 'The SLA clock of an escalation' })
  clock: string | null;
  @Text()
  subject: string;
  @OneOf(OUTBOX_STATES)
  status: OutboxState;
  @Int()
  attempts: number;
  @NullableText()
  lastError: string | null;
  @Timestamp()
  createdAt: Date;
  @NullableTimestamp()
  deliveredAt: Date | null;
}

export class GrantNotifications {
  @ListOf(() => NotificationView)
  notifications: NotificationView[];
}
