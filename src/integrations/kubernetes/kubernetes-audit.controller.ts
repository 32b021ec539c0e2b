import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { RequestHandler } from 'express';
import { bearerTokenOf } from '../../auth/auth.guard';
import { Public } from '../../auth/decorators';
import { jsonBody } from '../../common/json-body';
import { constantTimeEquals } from '../../common/signatures';
import type { AppConfig } from '../../config/env';
import { ClusterActivity } from '../../kubernetes/cluster-activity.service';
import { WebhookError } from '../webhook.errors';
import { AUDIT_BODY_LIMIT, parseEventList } from './audit-event-list';

/** At most this many unusable events are listed in the answer (all are counted). */
const PROBLEMS_LISTED = 20;

/**
 * The audit webhook's token is checked before its body (up to 32 MiB) is read, so an
 * unauthenticated sender costs nothing but a header comparison. Mounted ahead of the general parser.
 */
export function kubernetesAuditBody(config: AppConfig): RequestHandler[] {
  const authenticate: RequestHandler = (req, _res, next) => {
    const expected = config.env.KUBERNETES_AUDIT_TOKEN;
    if (!expected) return next(new WebhookError('webhook_not_configured', 'KUBERNETES_AUDIT_TOKEN is not set'));
    const token = bearerTokenOf(req.headers.authorization);
    if (!token || !constantTimeEquals(token, expected))
      return next(new WebhookError('invalid_signature', 'Authorization: Bearer <KUBERNETES_AUDIT_TOKEN> is required'));
    next();
  };
  // parseEventList checks each value it keeps (storable text, bounded), so the body is not walked twice.
  return [authenticate, jsonBody(AUDIT_BODY_LIMIT, { checkValues: false })];
}

/** kube-apiserver's audit webhook backend (`--audit-webhook-config-file`), P2.3. */
@ApiTags('webhooks')
@Controller('v1/webhooks/kubernetes/audit')
export class KubernetesAuditController {
  constructor(private readonly activity: ClusterActivity) {}

  // Authenticated by kubernetesAuditBody (bearer token) before the body is parsed; not rate limited,
  // since kube-apiserver retries refused batches and a busy cluster sends several per second.
  @Public()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Query('cluster') cluster: unknown, @Body() body: unknown) {
    if (typeof cluster !== 'string' || !cluster)
      throw new WebhookError('unknown_cluster', 'The webhook URL needs ?cluster=<name of a kubernetes cluster in the policy>');
    const targets = this.activity.targetsOf(cluster);
    if (!targets.length) throw new WebhookError('unknown_cluster', `No target in the policy names cluster ${cluster.slice(0, 100)}`);
    const events = parseEventList(body, Date.now());
    const result = await this.activity.ingest(cluster, targets, events.requests);
    return {
      cluster,
      received: events.requests.length + events.otherStages + events.invalid.length,
      ...result,
      otherStages: events.otherStages,
      ignored: events.invalid.length,
      problems: events.invalid.slice(0, PROBLEMS_LISTED),
    };
  }
}
