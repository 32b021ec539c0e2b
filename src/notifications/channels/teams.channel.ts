import { Injectable } from '@nestjs/common';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { Channel, DELIVERY_TIMEOUT_MS, failure, type DeliveryOutcome } from './channel';
import { chatFacts } from './chat-facts';

type TeamsPolicy = Extract<ChannelPolicy, { type: 'teams' }>;

/** The Adaptive Card version Teams renders everywhere (desktop, mobile, Workflows). */
const CARD_VERSION = '1.4';

/**
 * Microsoft Teams through a Workflows webhook (or a legacy incoming webhook): a message with one
 * Adaptive Card attachment — headline, facts, a button to the dashboard. Any 2xx is delivered
 * (Workflows answers 202, incoming webhooks 200).
 */
@Injectable()
export class TeamsChannel extends Channel<TeamsPolicy> {
  readonly type = 'teams' as const;

  async deliver(message: NoticeMessage, policy: TeamsPolicy): Promise<DeliveryOutcome> {
    try {
      const response = await fetch(policy.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(teamsMessage(message)),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      const answer = { status: response.status, body: (await response.text()).slice(0, 500) };
      if (response.ok) return { outcome: 'delivered', response: answer };
      return { outcome: 'failed', error: `Teams webhook answered HTTP ${response.status}`, response: answer };
    } catch (error) {
      return failure((error as Error).cause ?? error);
    }
  }
}

export function teamsMessage(message: NoticeMessage) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: CARD_VERSION,
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: message.subject,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              color: message.severity === 'critical' || message.severity === 'error' ? 'Attention' : 'Default',
            },
            { type: 'FactSet', facts: chatFacts(message) },
            {
              type: 'TextBlock',
              text: 'Sent by breakglass. Every break-glass is recorded in a hash-chained audit log.',
              isSubtle: true,
              wrap: true,
              size: 'Small',
            },
          ],
          actions: message.links.map((link) => ({ type: 'Action.OpenUrl', title: link.text, url: link.href })),
        },
      },
    ],
  };
}
