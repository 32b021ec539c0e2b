import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import { Answers } from '../../common/api-schema';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals, hmacSha256Signature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Grants } from '../../grants/grants.service';
import { pagerDutyIncidentId } from '../../pagerduty/incidents';
import { WebhookError } from '../webhook.errors';
import { PagerDutyWebhookAnswer } from './pagerduty-webhook.views';

/** A PagerDuty Webhooks v3 delivery: one event (docs/incidents.md). */
interface WebhookV3Body {
  event?: { id?: unknown; event_type?: unknown; resource_type?: unknown; occurred_at?: unknown; data?: { id?: unknown; type?: unknown } | null };
}

/**
 * PagerDuty Webhooks v3, authenticated by `X-PagerDuty-Signature` (`v1=<hex HMAC-SHA256 of the
 * body>`, several comma-separated while PagerDuty rotates the subscription's secret: one must match).
 * `incident.resolved` applies the targets' `onIncidentResolved` to the incident's grants; other event
 * types are acknowledged and ignored.
 */
@ApiTags('webhooks')
@Controller('v1/webhooks/pagerduty')
export class PagerDutyWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly grants: Grants,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'PagerDuty Webhooks v3 (X-PagerDuty-Signature): incident.resolved applies onIncidentResolved to the incident’s grants' })
  @Answers(PagerDutyWebhookAnswer)
  async receive(@Req() req: Request & RequestWithRawBody, @Headers('x-pagerduty-signature') signatures: string | undefined): Promise<PagerDutyWebhookAnswer> {
    const secret = this.config.env.PAGERDUTY_WEBHOOK_SECRET;
    if (!secret) throw new WebhookError('webhook_not_configured', 'PAGERDUTY_WEBHOOK_SECRET is not set');
    // `v1=` + the hex HMAC-SHA256 GitHub sends as `sha256=`.
    const expected = hmacSha256Signature(secret, req.rawBody ?? '').replace(/^sha256=/, 'v1=');
    const offered = (signatures ?? '').split(',').map((signature) => signature.trim());
    if (!req.rawBody || !offered.some((signature) => constantTimeEquals(signature, expected))) {
      throw new WebhookError('invalid_signature', 'No X-PagerDuty-Signature matches the body');
    }
    const event = (req.body as WebhookV3Body)?.event;
    if (!event || typeof event.id !== 'string' || !event.id || typeof event.event_type !== 'string') {
      throw new WebhookError('malformed_payload', 'A PagerDuty v3 webhook body is { event: { id, event_type, data } }');
    }
    if (event.event_type !== 'incident.resolved') return { ignored: event.event_type, grants: [] };
    if (typeof event.data?.id !== 'string' || !event.data.id) throw new WebhookError('malformed_payload', 'incident.resolved without event.data.id');
    return this.grants.incidentResolved({ id: event.id, type: event.event_type }, pagerDutyIncidentId(event.data.id));
  }
}
