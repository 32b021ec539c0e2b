import { commitOf, type ObjectRef, type ReconcilerEvent } from '../../gitops/reconciler-event';
import { MAX_LISTED_RESOURCES, textOrNull } from '../payload';
import { WebhookError } from '../webhook.errors';

// Flux events as the reconciler's own vocabulary: which are reconciles, failures, drift or noise
// (the rules are in docs/gitops.md; the controllers' sources behind them in test/fixtures/flux/).

/** Flux's `Event` (fluxcd/pkg/runtime/events), as the notification-controller's generic-hmac provider posts it. */
export interface FluxEvent {
  involvedObject?: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string };
  severity?: string;
  timestamp?: string;
  message?: string;
  reason?: string;
  metadata?: Record<string, unknown>;
  reportingController?: string;
  reportingInstance?: string;
}

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

/** The event as breakglass records it, or why it is not recorded; `400 malformed_payload` without its key fields. */
export function fluxReconcilerEvent(payload: FluxEvent, deliveryKey: string): ReconcilerEvent | { ignored: true; reason: string } {
  const object = payload?.involvedObject;
  if (!textOrNull(object?.kind) || !textOrNull(object?.name) || !textOrNull(payload?.reason)) {
    throw new WebhookError('malformed_payload', 'A Flux event needs involvedObject.kind, involvedObject.name and reason');
  }
  const message = textOrNull(payload.message) ?? '';
  const changed = changedObjects(message);
  const classified = classify(payload, changed);
  if (!classified) return { ignored: true, reason: payload.reason! };
  const metadata = payload.metadata && typeof payload.metadata === 'object' ? payload.metadata : {};
  const revision = revisionOf(metadata);
  return {
    source: 'flux',
    deliveryKey,
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
  };
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
