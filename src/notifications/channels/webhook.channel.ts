import { Injectable } from '@nestjs/common';
import { hmacSha256Signature } from '../../common/signatures';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { Channel, DELIVERY_TIMEOUT_MS, failure, type DeliveryOutcome } from './channel';

/** A JSON POST signed with `X-Breakglass-Signature: sha256=<HMAC-SHA256 of the body>`. */
@Injectable()
export class WebhookChannel extends Channel<Extract<ChannelPolicy, { type: 'webhook' }>> {
  readonly type = 'webhook' as const;

  async deliver(message: NoticeMessage, policy: Extract<ChannelPolicy, { type: 'webhook' }>, notificationId: string): Promise<DeliveryOutcome> {
    const body = JSON.stringify({
      id: notificationId,
      notice: message.notice,
      subject: message.subject,
      summary: message.summary,
      severity: message.severity,
      details: message.details,
      links: message.links,
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-breakglass-delivery': notificationId };
    if (policy.secret) headers['x-breakglass-signature'] = hmacSha256Signature(policy.secret, body);
    try {
      const response = await fetch(policy.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
      const answer = { status: response.status, body: (await response.text()).slice(0, 500) };
      if (response.ok) return { outcome: 'delivered', response: answer };
      return { outcome: 'failed', error: `webhook answered HTTP ${response.status}`, response: answer };
    } catch (error) {
      return failure((error as Error).cause ?? error);
    }
  }
}
