import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals, hmacSignature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Gitops } from '../../gitops/gitops.service';
import { commitOf, type ObjectRef, type ReconcilerEvent } from '../../gitops/reconciler-event';
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
const HELM_APPLIED = new Set(['InstallSucceeded', 'UpgradeSucceeded']);
// kustomize-controller names each event after its Ready condition's reason at the moment: the
// change set of an apply and of garbage collection is sent while Ready is `Progressing`
// (Flux < 2.0 sent it with the final `ReconciliationSucceeded`).
const CHANGE_SET_REASONS = new Set(['Progressing', 'ReconciliationSucceeded']);
// One changed object per line: `Kind/namespace/name action` (ssa change sets) or helm-controller's
// drift summary `Kind/namespace/name changed (…)` / `… removed`; cluster-scoped objects have no namespace.
const CHANGE_LINE = /^([A-Za-z][A-Za-z0-9]*)\/(?:([a-z0-9][-a-z0-9]*)\/)?([^\s/]+)\s+(configured|created|deleted|changed|removed)\b/;

interface ChangedObjects {
  /** Objects Flux created, reconfigured, or found changed or removed: drift when the revision did not move. */
  corrected: ObjectRef[];
  /** Objects garbage-collected (pruned): only a new revision removes them from the inventory. */
  deleted: ObjectRef[];
}

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
    const message = textOrNull(payload.message) ?? '';
    const changed = changedObjects(message);
    const classified = classify(payload, changed);
    if (!classified) return { ignored: true, reason: payload.reason };
    const metadata = payload.metadata && typeof payload.metadata === 'object' ? payload.metadata : {};
    const revision = revisionOf(metadata);
    return this.gitops.record({
      source: 'flux',
      deliveryKey: createHash('sha256').update(req.rawBody).digest('hex'),
      kind: classified.kind,
      sameRevision: classified.sameRevision,
      object: { kind: object!.kind!, namespace: textOrNull(object!.namespace), name: object!.name! },
      cluster: textOrNull(metadata.cluster),
      namespaces: [],
      resources: (changed.corrected.length ? changed.corrected : changed.deleted).slice(0, MAX_LISTED_RESOURCES),
      revision,
      commit: commitOf(revision),
      reason: payload.reason!,
      message,
    });
  }
}

/**
 * helm-controller reports drift as a Warning (severity `error`), so its reason comes first. A
 * kustomize-controller change set is a reconcile, or drift when the object was already reconciled
 * at this revision (the service decides: it knows the last revision); the final "Reconciliation
 * finished" at an already reconciled revision is the periodic re-run, not news.
 */
function classify(event: FluxEvent, changed: ChangedObjects): Pick<ReconcilerEvent, 'kind' | 'sameRevision'> | null {
  if (event.reason === 'DriftDetected') return { kind: 'drift' };
  if (event.severity === 'error') return { kind: 'failed' };
  const reason = event.reason ?? '';
  if (HELM_APPLIED.has(reason)) return { kind: 'reconciled' };
  if (!CHANGE_SET_REASONS.has(reason)) return null;
  if (changed.corrected.length) return { kind: 'reconciled', sameRevision: 'drift' };
  if (changed.deleted.length) return { kind: 'reconciled' };
  return reason === 'ReconciliationSucceeded' ? { kind: 'reconciled', sameRevision: 'repeat' } : null;
}

/** `metadata.revision`, or the controller-prefixed key (`kustomize.toolkit.fluxcd.io/revision`). */
function revisionOf(metadata: Record<string, unknown>): string | null {
  const key = Object.keys(metadata).find((name) => name === 'revision' || name.endsWith('/revision'));
  return key ? textOrNull(metadata[key]) : null;
}

function changedObjects(message: string): ChangedObjects {
  const changed: ChangedObjects = { corrected: [], deleted: [] };
  for (const line of message.split('\n')) {
    const match = CHANGE_LINE.exec(line.trim());
    if (match) (match[4] === 'deleted' ? changed.deleted : changed.corrected).push({ kind: match[1], namespace: match[2] ?? null, name: match[3] });
  }
  return changed;
}
