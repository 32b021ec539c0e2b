import { commitOf, type ObjectRef, type ReconcilerEvent, type ReconcilerEventKind } from '../../gitops/reconciler-event';
import { MAX_LISTED_RESOURCES, textOrNull } from '../payload';
import { WebhookError } from '../webhook.errors';

// The body of our Argo CD template (docs/gitops.md) as the reconciler's own vocabulary.

/** The body of the `breakglass` template in docs/gitops.md (Argo CD's webhook body is user-defined). */
export interface ArgoCdNotification {
  app?: string;
  appNamespace?: string;
  project?: string;
  destination?: { server?: string; name?: string; namespace?: string };
  syncStatus?: string;
  health?: string;
  /** The revision Argo CD compares against (Git's head of the tracked branch); single-source apps. */
  revision?: string;
  /** The revision of the last sync operation; single-source apps. */
  syncedRevision?: string;
  /** Multi-source apps (`spec.sources`): one revision per source, in order. */
  revisions?: string[];
  syncedRevisions?: string[];
  operationPhase?: string;
  resources?: { kind?: string; namespace?: string; name?: string; status?: string }[];
}

// notifications-engine renders with Go's text/template, which prints a missing map key as this.
const NO_VALUE = '<no value>';

/** A rendered template field: empty or `<no value>` is absent, never a value to store or compare. */
function rendered(value: unknown): string | null {
  const text = textOrNull(value);
  return text === NO_VALUE ? null : text;
}

function renderedList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(rendered).filter((text): text is string => text !== null) : [];
}

/** The notification as breakglass records it, or why it is not recorded; `400 malformed_payload` without app and syncStatus. */
export function argoCdReconcilerEvent(
  payload: ArgoCdNotification,
  deliveryKey: string,
): ReconcilerEvent | { ignored: true; syncStatus: string; operationPhase: string | null } {
  const [app, syncStatus] = [rendered(payload.app), rendered(payload.syncStatus)];
  if (!app || !syncStatus) {
    throw new WebhookError('malformed_payload', 'An Argo CD notification needs app and syncStatus (see the template in docs/gitops.md)');
  }
  const phase = rendered(payload.operationPhase);
  // What Git's head is and what was last synced: one revision, or one per source of a multi-source app.
  const current = revisionsOf(payload.revision, payload.revisions);
  const synced = revisionsOf(payload.syncedRevision, payload.syncedRevisions);
  const kind = classify(syncStatus, phase, current, synced);
  if (!kind) return { ignored: true, syncStatus, operationPhase: phase };
  const resources = (Array.isArray(payload.resources) ? payload.resources : []).filter(
    (resource) => kind !== 'drift' || rendered(resource?.status) === 'OutOfSync',
  );
  const revisions = kind === 'reconciled' && synced.length ? synced : current;
  const destination = payload.destination && typeof payload.destination === 'object' ? payload.destination : {};
  const namespace = rendered(destination.namespace);
  const health = rendered(payload.health) ?? 'Unknown';
  return {
    source: 'argocd',
    deliveryKey,
    kind,
    object: { kind: 'Application', namespace: rendered(payload.appNamespace), name: app },
    cluster: rendered(destination.name) ?? rendered(destination.server),
    namespaces: namespace ? [namespace] : [],
    resources: resources
      .flatMap((resource): ObjectRef[] => {
        const [kind, name] = [rendered(resource?.kind), rendered(resource?.name)];
        return kind && name ? [{ kind, namespace: rendered(resource.namespace), name }] : [];
      })
      .slice(0, MAX_LISTED_RESOURCES),
    revision: revisions.length ? revisions.join(', ') : null,
    commit: commitOfSources(revisions),
    reason: `${phase ?? 'NoOperation'}/${syncStatus}/${health}`,
    message: `${app}: sync ${syncStatus}, health ${health}, operation ${phase ?? 'none'}`,
  };
}

function revisionsOf(single: unknown, perSource: unknown): string[] {
  const revision = rendered(single);
  return revision ? [revision] : renderedList(perSource);
}

/** The Git commit of the sync: of a multi-source app, the one source whose revision is a commit. */
function commitOfSources(revisions: string[]): string | null {
  const commits = [...new Set(revisions.map(commitOf).filter((commit): commit is string => commit !== null))];
  return commits.length === 1 ? commits[0] : null;
}

/**
 * Failed sync → failed; Synced after a successful operation → reconciled; OutOfSync while Git has
 * not moved since the last sync (every revision known on both sides, and equal) → the live state
 * drifted. OutOfSync because of a new commit is the normal pending deploy, not drift; so is
 * OutOfSync when either side is unknown.
 */
function classify(syncStatus: string, phase: string | null, current: string[], synced: string[]): ReconcilerEventKind | null {
  if (phase === 'Failed' || phase === 'Error') return 'failed';
  const gitUnmoved = current.length > 0 && current.length === synced.length && current.every((revision, i) => revision === synced[i]);
  if (syncStatus === 'OutOfSync' && gitUnmoved) return 'drift';
  if (syncStatus === 'Synced' && phase === 'Succeeded') return 'reconciled';
  return null;
}
