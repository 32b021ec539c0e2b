import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { bearerTokenOf } from '../../auth/auth.guard';
import { Public } from '../../auth/decorators';
import { WebhookRateLimit } from '../../common/rate-limit';
import type { RequestWithRawBody } from '../../common/json-body';
import { constantTimeEquals } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Gitops } from '../../gitops/gitops.service';
import { commitOf, type ObjectRef, type ReconcilerEventKind } from '../../gitops/reconciler-event';
import { MAX_LISTED_RESOURCES, textOrNull } from '../payload';
import { WebhookError } from '../webhook.errors';

/** The body of the `breakglass` template in docs/gitops.md (Argo CD's webhook body is user-defined). */
interface ArgoCdNotification {
  app?: string;
  appNamespace?: string;
  project?: string;
  destination?: { server?: string; name?: string; namespace?: string };
  syncStatus?: string;
  health?: string;
  /** The revision Argo CD compares against (Git's head of the tracked branch). */
  revision?: string;
  /** The revision of the last sync operation. */
  syncedRevision?: string;
  operationPhase?: string;
  resources?: { kind?: string; namespace?: string; name?: string; status?: string }[];
}

/** Argo CD notifications (webhook service), authenticated by `Authorization: Bearer <ARGOCD_WEBHOOK_TOKEN>`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/argocd')
export class ArgoCdWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly gitops: Gitops,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request & RequestWithRawBody, @Headers('authorization') authorization: string | undefined) {
    const expected = this.config.env.ARGOCD_WEBHOOK_TOKEN;
    if (!expected) throw new WebhookError('webhook_not_configured', 'ARGOCD_WEBHOOK_TOKEN is not set');
    const token = bearerTokenOf(authorization);
    if (!token || !constantTimeEquals(token, expected)) throw new WebhookError('invalid_signature', 'Authorization: Bearer <ARGOCD_WEBHOOK_TOKEN> is required');
    const payload = req.body as ArgoCdNotification;
    if (!textOrNull(payload?.app) || !textOrNull(payload?.syncStatus)) {
      throw new WebhookError('malformed_payload', 'An Argo CD notification needs app and syncStatus (see the template in docs/gitops.md)');
    }
    const kind = classify(payload);
    if (!kind) return { ignored: true, syncStatus: payload.syncStatus, operationPhase: payload.operationPhase ?? null };
    const resources = (Array.isArray(payload.resources) ? payload.resources : []).filter((resource) => kind !== 'drift' || resource?.status === 'OutOfSync');
    const revision = kind === 'reconciled' ? (textOrNull(payload.syncedRevision) ?? textOrNull(payload.revision)) : textOrNull(payload.revision);
    const destination = payload.destination && typeof payload.destination === 'object' ? payload.destination : {};
    const namespace = textOrNull(destination.namespace);
    const [health, phase] = [textOrNull(payload.health) ?? 'Unknown', textOrNull(payload.operationPhase)];
    return this.gitops.record({
      source: 'argocd',
      deliveryKey: createHash('sha256').update(req.rawBody ?? '').digest('hex'),
      kind,
      object: { kind: 'Application', namespace: textOrNull(payload.appNamespace), name: payload.app! },
      cluster: textOrNull(destination.name) ?? textOrNull(destination.server),
      namespaces: namespace ? [namespace] : [],
      resources: resources
        .flatMap((resource): ObjectRef[] => {
          const [kind, name] = [textOrNull(resource?.kind), textOrNull(resource?.name)];
          return kind && name ? [{ kind, namespace: textOrNull(resource.namespace), name }] : [];
        })
        .slice(0, MAX_LISTED_RESOURCES),
      revision,
      commit: commitOf(revision),
      reason: `${phase ?? 'NoOperation'}/${payload.syncStatus}/${health}`,
      message: `${payload.app}: sync ${payload.syncStatus}, health ${health}, operation ${phase ?? 'none'}`,
    });
  }
}

/**
 * Failed sync → failed; Synced after a successful operation → reconciled; OutOfSync while Git has
 * not moved since the last sync (revision = syncedRevision) → the live state drifted. OutOfSync
 * because of a new commit is the normal pending deploy, not drift.
 */
function classify(n: ArgoCdNotification): ReconcilerEventKind | null {
  if (n.operationPhase === 'Failed' || n.operationPhase === 'Error') return 'failed';
  if (n.syncStatus === 'OutOfSync' && n.revision && n.revision === n.syncedRevision) return 'drift';
  if (n.syncStatus === 'Synced' && n.operationPhase === 'Succeeded') return 'reconciled';
  return null;
}
