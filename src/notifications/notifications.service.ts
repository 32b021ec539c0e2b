import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainEventBus } from '../common/domain-events';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { REQUESTER_CHANNEL, type ChannelPolicy } from '../config/policy';
import { renderAudienceNotice, renderNotice, type AudienceNoticeKind, type GrantFacts, type NoticeKind, type NoticeMessage } from './notice';
import { NotificationsRepository } from './notifications.repository';

export interface NoticeRequest {
  kind: NoticeKind;
  grant: GrantFacts;
  /** Channel names from the policy, or `requester`. */
  channels: readonly string[];
  /** Unique per cause (e.g. `<clock>:step:2`); with the channel it makes the delivery happen once. */
  key: string;
  clockId?: string;
  facts?: Record<string, string | number | boolean | null>;
  /** PagerDuty event action and dedup key; default: trigger with `breakglass/<grant>/<notice>`. */
  pagerduty?: { action: 'trigger' | 'resolve'; dedupKey: string };
}

/**
 * The transactional outbox: call `notify` inside the transaction of the change that causes the
 * notice; the dispatcher delivers after commit. A rolled-back change sends nothing.
 */
declare module '../common/domain-events' {
  interface CommittedEvents {
    /** A transaction wrote notices to the outbox (the dispatcher wakes up). */
    'notifications.enqueued': true;
  }
}

@Injectable()
export class Notifications {
  private readonly logger = new Logger('notifications');

  constructor(
    private readonly repository: NotificationsRepository,
    private readonly policy: LoadedPolicy,
    private readonly config: ServiceConfig,
    private readonly events: DomainEventBus,
  ) {}

  async notify(tx: EntityManager, request: NoticeRequest): Promise<number> {
    const base = renderNotice(request.kind, { grant: request.grant, publicUrl: this.config.publicUrl, facts: request.facts });
    const rows = [...new Set(request.channels)].flatMap((name) => {
      const resolved = this.resolve(name, request.grant);
      if (!resolved) {
        this.logger.warn(`notice ${request.kind} for ${request.grant.id}: channel ${name} is not in the policy`);
        return [];
      }
      const message: NoticeMessage = { ...base, ...(resolved.to ? { to: resolved.to } : {}), ...(request.pagerduty ? { pagerduty: request.pagerduty } : {}) };
      return [
        {
          idempotencyKey: `${request.key}:${name}`,
          grantId: request.grant.id,
          clockId: request.clockId ?? null,
          notice: request.kind,
          channel: name,
          channelType: resolved.policy.type,
          message,
        },
      ];
    });
    return this.enqueue(tx, rows);
  }

  /**
   * A notice about no grant to a standing audience's channels (`requester` cannot apply). Like
   * `notify`, it commits with the caller's transaction and is delivered once per key and channel.
   */
  async notifyAudience(
    tx: EntityManager,
    request: {
      kind: AudienceNoticeKind;
      channels: readonly string[];
      key: string;
      headline: string;
      facts: Record<string, string | number | boolean | null>;
      links: { path: string; text: string }[];
      pagerdutyDedupKey: string;
    },
  ): Promise<number> {
    const message: NoticeMessage = {
      ...renderAudienceNotice(request.kind, { headline: request.headline, facts: request.facts, publicUrl: this.config.publicUrl, links: request.links }),
      pagerduty: { action: 'trigger', dedupKey: request.pagerdutyDedupKey },
    };
    const rows = [...new Set(request.channels)].flatMap((name) => {
      const policy = this.policy.channels[name];
      if (!policy) {
        this.logger.warn(`notice ${request.kind}: channel ${name} is not in the policy`);
        return [];
      }
      return [
        { idempotencyKey: `${request.key}:${name}`, grantId: null, clockId: null, notice: request.kind, channel: name, channelType: policy.type, message },
      ];
    });
    return this.enqueue(tx, rows);
  }

  private async enqueue(tx: EntityManager, rows: Parameters<NotificationsRepository['enqueue']>[1]): Promise<number> {
    const written = rows.length ? await this.repository.enqueue(tx, rows) : 0;
    if (written) this.events.publishAfterCommit(tx, 'notifications.enqueued');
    return written;
  }

  /** The policy's channel; `requester` becomes an email to the requester's address. */
  resolve(name: string, grant: Pick<GrantFacts, 'requesterEmail'>): { policy: ChannelPolicy; to?: string[] } | undefined {
    if (name === REQUESTER_CHANNEL)
      return { policy: { type: 'email', to: grant.requesterEmail ? [grant.requesterEmail] : [] }, to: grant.requesterEmail ? [grant.requesterEmail] : [] };
    const policy = this.policy.channels[name];
    return policy ? { policy } : undefined;
  }

  forGrant(grantId: string) {
    return this.repository.forGrant(grantId);
  }
}
