import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';

export interface DeliveryOutcome {
  outcome: 'delivered' | 'failed' | 'undeliverable';
  error?: string;
  /** What the provider answered (status, ids), kept with the attempt as evidence. */
  response?: unknown;
  /** The provider said when to try again (Slack's 429 Retry-After): the retry waits this long, not the backoff. */
  retryAfterMs?: number;
}

/** The outbox row being delivered, for channels that group a grant's notices (Slack threads). */
export interface DeliveryContext {
  notificationId: string;
  grantId: string | null;
  /** The policy's channel name. */
  channel: string;
  notice: string;
  createdAt: Date;
}

/** One way of delivering a notice. `undeliverable` is final; `failed` is retried with backoff. */
export abstract class Channel<P extends ChannelPolicy = ChannelPolicy> {
  abstract readonly type: P['type'];
  abstract deliver(message: NoticeMessage, policy: P, notificationId: string, context: DeliveryContext): Promise<DeliveryOutcome>;
}

export const DELIVERY_TIMEOUT_MS = 10_000;

export function failure(error: unknown): DeliveryOutcome {
  return { outcome: 'failed', error: error instanceof Error ? error.message : String(error) };
}
