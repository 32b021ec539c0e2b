// The API's answers, as far as the dashboard reads them (see /openapi.json for the full shapes).

export interface Grant {
  id: string;
  status: 'active' | 'expired' | 'revoked';
  target: string;
  environment: string;
  requester: string;
  incident: string;
  reason: string;
  role: string | null;
  durationSeconds: number;
  activatedAt: string;
  expiresAt: string;
  endedAt: string | null;
  endedBy: string | null;
  endReason: string | null;
  flags: string[];
  onCall: Record<string, unknown> | null;
  credential: {
    type: string;
    username: string | null;
    database: string | null;
    jti: string | null;
    fingerprint: string;
    expiresAt: string;
    revokedAt: string | null;
    providerStatus: string;
  } | null;
  extensions: { at: string; by: string; addedSeconds: number; reason: string }[];
  retroPr: { reference: string; dueAt: string | null; repo: string | null };
  review: { dueAt: string | null };
  gitops?: {
    drift: {
      source: string;
      object: { kind: string; namespace: string | null; name: string };
      resources: { kind: string; namespace: string | null; name: string }[];
      receivedAt: string;
    }[];
    reconciled: { repo: string; number: number; commit: string; reconciledAt: string; secondsFromActivation: number } | null;
  };
}

export interface Clock {
  id: string;
  grant: string;
  kind: 'retro_pr' | 'review';
  state: string;
  requester: string;
  startedAt: string;
  dueAt: string;
  breachedAt: string | null;
  resolvedAt: string | null;
  steps: { step: number; after: string; fireAt: string; notify: string[]; state: string; firedAt: string | null }[];
}

export interface Verdict {
  valid: boolean;
  count: number;
  headHash: string;
  firstInvalidSeq?: number;
  brokenAnchor?: { seq: number; expectedHash: string; actualHash: string | null };
}

/** A session record as `GET /v1/grants/:id/events` returns it (docs/formats.md). */
export interface SessionRecord {
  seq: number;
  type: string;
  command: string | null;
  cwd: string | null;
  user: string | null;
  host: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  detail?: { [key: string]: unknown } | null;
  late: boolean;
}

export interface Review {
  id: string;
  reviewer: string;
  outcome: string;
  notes: string;
  chainValid: boolean;
  at: string;
}
