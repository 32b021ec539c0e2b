import { Bool, Int, ListOf, Nested, NullableInt, NullableNested, NullableText, NullableTimestamp, OneOf, Text, Texts, Timestamp } from '../common/api-schema';

// What the GitOps endpoints answer, and what the grant view shows of the reconcilers.

export const RECONCILER_SOURCES = ['flux', 'argocd'] as const;
export type ReconcilerSource = (typeof RECONCILER_SOURCES)[number];
export const RECONCILER_EVENT_KINDS = ['reconciled', 'failed', 'drift'] as const;
export type ReconcilerEventKind = (typeof RECONCILER_EVENT_KINDS)[number];

/** A Kubernetes object: a reconciler's own (Kustomization, HelmRelease, Application) or one it applied. */
export class ObjectRef {
  @Text()
  kind: string;
  @NullableText()
  namespace: string | null;
  @Text()
  name: string;
}

export class StoredGitopsEvent {
  @Text()
  id: string;
  @OneOf(RECONCILER_SOURCES)
  source: ReconcilerSource;
  @OneOf(RECONCILER_EVENT_KINDS)
  kind: ReconcilerEventKind;
  @Nested(() => ObjectRef)
  object: ObjectRef;
  @NullableText()
  cluster: string | null;
  @NullableText()
  revision: string | null;
  @NullableText()
  commit: string | null;
  @ListOf(() => ObjectRef)
  resources: ObjectRef[];
  @Text()
  reason: string;
  @Text()
  message: string;
  @Texts({ description: 'Targets whose GitOps scope the event concerns' })
  targets: string[];
  @NullableInt({ description: 'The audit event that records it (null for the few milliseconds before it is sequenced)' })
  auditSeq: number | null;
  @Timestamp()
  receivedAt: Date;
}

/** The closed loop: the grant's merged retro PR, reconciled. */
export class Reconciliation {
  @Text()
  eventId: string;
  @Text()
  repo: string;
  @Int()
  number: number;
  @Text()
  commit: string;
  @Timestamp()
  reconciledAt: Date;
  @Int({ description: 'From grant activation to the reconcile' })
  secondsFromActivation: number;
}

/** The pause helper's record: reconciliation of a grant's scope suspended and resumed. */
export class PauseRecord {
  @NullableTimestamp()
  pausedAt: Date | null;
  @NullableText()
  pausedBy: string | null;
  @NullableTimestamp()
  resumedAt: Date | null;
  @NullableText()
  resumedBy: string | null;
}

export class GrantGitops {
  @ListOf(() => StoredGitopsEvent, { description: 'Drift attributed to the grant' })
  drift: StoredGitopsEvent[];
  @NullableNested(() => Reconciliation)
  reconciled: Reconciliation | null;
  @NullableNested(() => PauseRecord)
  pause: PauseRecord | null;
}

/** The answer to a Flux or Argo CD delivery. */
export class RecordOutcome {
  @Bool({ description: 'This delivery was stored before' })
  duplicate: boolean;
  @Bool({ optional: true, description: 'A success at the revision already reconciled (Flux’s periodic re-run): nothing stored' })
  ignored?: true;
  @Text({ optional: true })
  reason?: string;
  @Text({ optional: true, description: 'The revision already reconciled' })
  alreadyReconciled?: string;
  @OneOf(RECONCILER_EVENT_KINDS, { optional: true })
  kind?: ReconcilerEventKind;
  @Texts({ optional: true, description: 'Targets whose GitOps scope the event concerns' })
  targets?: string[];
  @Texts({ optional: true, description: 'Drift only: the grants it was attributed to (empty = unattributed)' })
  attributedTo?: string[];
  @Texts({ optional: true, description: 'Grants whose merged retro PR this reconcile applied (the closed loop)' })
  reconciled?: string[];
}
