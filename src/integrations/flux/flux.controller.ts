import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import { WebhookRateLimit } from '../../common/rate-limit';
import type { RequestWithRawBody } from '../../common/json-body';
import { constantTimeEquals, hmacSignature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Gitops } from '../../gitops/gitops.service';
import { commitOf, type ObjectRef, type ReconcilerEventKind } from '../../gitops/reconciler-event';
import { MAX_LISTED_RESOURCES, textOrNull } from '../payload';
import { WebhookError } from '../webhook.errors';

/** Flux's `Event` (fluxcd/pkg/runtime/events), as the notification-controller's generic-hmac provider posts it. */
interface FluxEvent {
  involvedObject?: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string };
  severity?: string;
  timestamp?: string;
  message?: string;
  reason?: string;
  metadata?: Record<string, unknown>;
  reportingController?: string;
  reportingInstance?: string;
}

const ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512'] as const;
const APPLIED = new Set(['ReconciliationSucceeded', 'InstallSucceeded', 'UpgradeSucceeded']);
// kustomize-controller lists what it applied, one `Kind/namespace/name action` per line.
const CHANGE_LINE = /^([A-Za-z][A-Za-z0-9]*)\/(?:([a-z0-9][-a-z0-9]*)\/)?([^\s/]+)\s+(configured|created|deleted|changed|removed)\b/;

/** Flux notification-controller events (`generic-hmac` provider), authenticated by `X-Signature`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/flux')
export class FluxWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly gitops: Gitops,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request & RequestWithRawBody, @Headers('x-signature') signature: string | undefined) {
    const secret = this.config.env.FLUX_WEBHOOK_SECRET;
    if (!secret) throw new WebhookError('webhook_not_configured', 'FLUX_WEBHOOK_SECRET is not set');
    const algorithm = ALGORITHMS.find((name) => signature?.startsWith(`${name}=`));
    if (!signature || !algorithm || !req.rawBody || !constantTimeEquals(signature, hmacSignature(algorithm, secret, req.rawBody))) {
      throw new WebhookError('invalid_signature', 'X-Signature does not match the body (expected <sha224|sha256|sha384|sha512>=<hex HMAC>)');
    }
    const payload = req.body as FluxEvent;
    const object = payload?.involvedObject;
    if (!textOrNull(object?.kind) || !textOrNull(object?.name) || !textOrNull(payload?.reason)) {
      throw new WebhookError('malformed_payload', 'A Flux event needs involvedObject.kind, involvedObject.name and reason');
    }
    const kind = classify(payload);
    if (!kind) return { ignored: true, reason: payload.reason };
    const metadata = payload.metadata && typeof payload.metadata === 'object' ? payload.metadata : {};
    const revision = revisionOf(metadata);
    const message = textOrNull(payload.message) ?? '';
    return this.gitops.record({
      source: 'flux',
      deliveryKey: createHash('sha256').update(req.rawBody).digest('hex'),
      kind,
      object: { kind: object!.kind!, namespace: textOrNull(object!.namespace), name: object!.name! },
      cluster: textOrNull(metadata.cluster),
      namespaces: [],
      resources: changedResources(message),
      revision,
      commit: commitOf(revision),
      reason: payload.reason!,
      message,
    });
  }
}

function classify(event: FluxEvent): ReconcilerEventKind | null {
  if (event.severity === 'error') return 'failed';
  if (event.reason === 'DriftDetected') return 'drift';
  return APPLIED.has(event.reason ?? '') ? 'reconciled' : null;
}

/** `metadata.revision`, or the controller-prefixed key (`kustomize.toolkit.fluxcd.io/revision`). */
function revisionOf(metadata: Record<string, unknown>): string | null {
  const key = Object.keys(metadata).find((name) => name === 'revision' || name.endsWith('/revision'));
  return key ? textOrNull(metadata[key]) : null;
}

function changedResources(message: string): ObjectRef[] {
  const changed = message.split('\n').flatMap((line) => {
    const match = CHANGE_LINE.exec(line.trim());
    return match ? [{ kind: match[1], namespace: match[2] ?? null, name: match[3] }] : [];
  });
  return changed.slice(0, MAX_LISTED_RESOURCES);
}
