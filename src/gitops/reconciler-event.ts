import type { GitopsScope } from '../config/policy';
import type { ObjectRef, ReconcilerEventKind, ReconcilerSource } from './gitops.views';

// A reconciler event (Flux or Argo CD) in one shape, whatever sent it, and the rules that place it
// in targets' GitOps scopes.

export type { ObjectRef, ReconcilerEventKind, ReconcilerSource } from './gitops.views';

export interface ReconcilerEvent {
  source: ReconcilerSource;
  /** Identifies a delivery for de-duplication (the SHA-256 of the body: neither sender has a delivery id). */
  deliveryKey: string;
  kind: ReconcilerEventKind;
  /** The reconciler's own object: a Flux Kustomization / HelmRelease, or an Argo CD Application. */
  object: ObjectRef;
  cluster: string | null;
  /** Namespaces the event touches besides the object's own (e.g. the Argo CD destination). */
  namespaces: string[];
  /** Resources that drifted or were corrected (empty when the sender does not say). */
  resources: ObjectRef[];
  /** As the reconciler wrote it, e.g. `main@sha1:0123…` or `main/0123…`. */
  revision: string | null;
  /** The Git commit SHA inside the revision, lower case. */
  commit: string | null;
  reason: string;
  message: string;
  /**
   * What the event means when its object was last reconciled at this same revision and cluster
   * (Flux, which has no drift event for Kustomizations): `drift` for a change set (Flux corrected a
   * hand edit), `repeat` for a success that changed nothing (the periodic re-run: not stored).
   * Unset: the event stands as it is.
   */
  sameRevision?: 'drift' | 'repeat';
}

/** The commit SHA in a Flux or Argo CD revision: `main@sha1:<sha>`, `main/<sha>`, `<sha>`. */
export function commitOf(revision: string | null | undefined): string | null {
  const match = /(?:^|[@:/])([0-9a-f]{40}|[0-9a-f]{64})$/i.exec(revision ?? '');
  return match ? match[1].toLowerCase() : null;
}

/** Whether an event concerns a target's scope: its cluster (if set) and any listed object or namespace. */
export function inScope(scope: GitopsScope, event: ReconcilerEvent): boolean {
  if (scope.cluster && scope.cluster !== event.cluster) return false;
  const { object } = event;
  const listedObject =
    event.source === 'argocd'
      ? scope.apps.includes(object.name)
      : scope.kustomizations.some((entry) => (entry.includes('/') ? entry === `${object.namespace}/${object.name}` : entry === object.name));
  if (listedObject) return true;
  const namespaces = new Set([...event.namespaces, ...event.resources.map((resource) => resource.namespace)]);
  // Flux objects usually live in flux-system; their own namespace counts only when nothing else is known.
  if (!namespaces.size && object.namespace) namespaces.add(object.namespace);
  return scope.namespaces.some((namespace) => namespaces.has(namespace));
}

/** `Kind/namespace/name` or `Kind/name`, as Flux and our reports print resources. */
export function describeObject(object: ObjectRef): string {
  return [object.kind, object.namespace, object.name].filter(Boolean).join('/');
}
