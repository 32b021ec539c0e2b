import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { Injectable } from '@nestjs/common';
import { event } from '@pagerduty/pdjs';
import { ServiceConfig } from '../../config/config.providers';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { Channel, DELIVERY_TIMEOUT_MS, failure, type DeliveryOutcome } from './channel';

/**
 * PagerDuty Events API v2 through pdjs: trigger, and resolve with the same dedup_key. The severity
 * is the channel's (policy `severity`): it decides how loudly PagerDuty pages, not the notice.
 */
@Injectable()
export class PagerDutyChannel extends Channel<Extract<ChannelPolicy, { type: 'pagerduty' }>> {
  readonly type = 'pagerduty' as const;
  private readonly agent?: Agent;

  constructor(private readonly config: ServiceConfig) {
    super();
    // pdjs always speaks https; a private CA (or a test receiver) is trusted through this file.
    const caFile = config.env.PAGERDUTY_CA_FILE;
    if (caFile) this.agent = new Agent({ ca: readFileSync(caFile), keepAlive: true });
  }

  async deliver(message: NoticeMessage, policy: Extract<ChannelPolicy, { type: 'pagerduty' }>): Promise<DeliveryOutcome> {
    const action = message.pagerduty?.action ?? 'trigger';
    const dedupKey = message.pagerduty?.dedupKey ?? `breakglass/${message.details.grant}/${message.notice}`;
    try {
      const response = await event({
        server: this.config.env.PAGERDUTY_EVENTS_SERVER,
        data: {
          routing_key: policy.routingKey,
          event_action: action,
          dedup_key: dedupKey,
          payload: {
            summary: message.summary,
            source: 'breakglass',
            severity: policy.severity,
            // Events v2: when it happened (not when this attempt runs), and what it is about.
            timestamp: message.at ?? new Date().toISOString(),
            component: componentOf(message),
            class: message.notice,
            custom_details: message.details,
          },
          links: message.links,
        },
        // pdjs's own timeout option does nothing; abort ourselves.
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) as never,
        ...(this.agent ? { agent: this.agent } : {}),
      } as Parameters<typeof event>[0]);
      const answer = { status: response.status, body: response.data };
      if (response.status === 202) return { outcome: 'delivered', response: answer };
      // 400 means the event itself is malformed (e.g. a bad routing key): retrying cannot help.
      if (response.status === 400)
        return { outcome: 'undeliverable', error: `PagerDuty refused the event: ${JSON.stringify(response.data)}`, response: answer };
      return { outcome: 'failed', error: `PagerDuty answered HTTP ${response.status}`, response: answer };
    } catch (error) {
      return failure(error);
    }
  }
}

/** The target a notice is about, else its cluster or object (drift, Kubernetes), else breakglass itself. */
export function componentOf(message: NoticeMessage): string {
  for (const key of ['target', 'cluster', 'object'] as const) {
    const value = message.details[key];
    if (typeof value === 'string' && value) return value;
  }
  return 'breakglass';
}
