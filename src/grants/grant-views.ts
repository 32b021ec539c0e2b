import { ApiExtraModels, OmitType } from '@nestjs/swagger';
import {
  Int,
  ListOf,
  Nested,
  NullableFreeObject,
  NullableNested,
  NullableText,
  NullableTimestamp,
  OneOf,
  OneOfShapes,
  Text,
  Texts,
  Timestamp,
} from '../common/api-schema';
import { ISSUED_CREDENTIAL_TYPES, type IssuedCredential } from '../credentials/credential.types';
import type { CredentialRecord } from '../credentials/credentials.repository';
import { ForgeVerificationView } from '../forge/forge.views';
import { GrantGitops } from '../gitops/gitops.views';
import { ReviewVerdict } from '../sessions/sessions.views';
import { GRANT_STATUSES, type GrantExtension, type GrantRecord, type GrantStatus, type IncidentRecord, type OnCallRecord } from './grants.repository';

/** What is stored of the grant's access credential: never the secret itself. */
export class CredentialSummary {
  @OneOf(['jwt', 'postgres'])
  type: CredentialRecord['type'];
  @NullableText()
  username: string | null;
  @NullableText()
  database: string | null;
  @NullableText()
  jti: string | null;
  @Text({ description: 'SHA-256 of the secret, to match it against logs without storing it' })
  fingerprint: string;
  @Timestamp()
  expiresAt: string;
  @NullableTimestamp()
  revokedAt: string | null;
  @Text({ description: 'Whether the target system applied the credential (and its revocation)' })
  providerStatus: string;
}

export class GrantExtensionView {
  @Timestamp()
  at: string;
  @Text()
  by: string;
  @Int()
  addedSeconds: number;
  @Text()
  reason: string;
  @Timestamp()
  newExpiresAt: string;
}

export class RetroPrDue {
  @Text({ description: 'What a PR title or body must mention to link (the grant id)' })
  reference: string;
  @NullableTimestamp()
  dueAt: string | null;
  @NullableText()
  repo: string | null;
}

export class ReviewDue {
  @NullableTimestamp()
  dueAt: string | null;
}

/** The drill run a grant was made by (docs/drills.md); drills start no SLA clocks. */
export class GrantDrillView {
  @Text()
  name: string;
  @Int()
  run: number;
}

/** A grant as the API shows it: everything but secrets. */
export class GrantView {
  @Text({ example: 'BG-2026-000042' })
  id: string;
  @OneOf(GRANT_STATUSES)
  status: GrantStatus;
  @Text()
  target: string;
  @Text()
  environment: string;
  @Text()
  requester: string;
  @Text()
  incident: string;
  @Text()
  reason: string;
  @NullableText()
  role: string | null;
  @Int()
  durationSeconds: number;
  @Timestamp()
  activatedAt: string;
  @Timestamp()
  expiresAt: string;
  @NullableTimestamp()
  endedAt: string | null;
  @NullableText()
  endedBy: string | null;
  @NullableText()
  endReason: string | null;
  @Texts({ description: 'e.g. off_call_override, on_call_unverified' })
  flags: string[];
  @NullableFreeObject({ description: 'The PagerDuty on-call evidence checked at request time' })
  onCall: OnCallRecord | null;
  @NullableFreeObject({
    description:
      'Targets with incident.pagerduty: the PagerDuty incident as checked at request time (id, status, title, urgency, service, assignees, escalationPolicy, htmlUrl), or { status: unavailable, error }',
  })
  incidentEvidence: IncidentRecord | null;
  @NullableNested(() => CredentialSummary)
  credential: CredentialSummary | null;
  @ListOf(() => GrantExtensionView)
  extensions: GrantExtensionView[];
  @Nested(() => RetroPrDue)
  retroPr: RetroPrDue;
  @Nested(() => ReviewDue)
  review: ReviewDue;
  @NullableNested(() => GrantDrillView, { description: 'Set on the grants of break-glass drills, null on real ones' })
  drill: GrantDrillView | null;
}

/** One thing the session changed (P2.7): what the retroactive PR should cover. */
export class SessionChangeView {
  @Text({ description: '`schema.table` (or `table`), or `resource/namespace/name` for Kubernetes' })
  object: string;
  @Text({ description: 'UPDATE, INSERT, DELETE, MERGE, COPY FROM, CREATE TABLE, … or a Kubernetes write verb (PATCH, …)' })
  operation: string;
  @Int()
  count: number;
  @Timestamp()
  firstAt: string;
  @Timestamp()
  lastAt: string;
}

/** GET /v1/grants/:id: the grant with what the GitOps reconcilers showed about it. */
export class GrantDetail extends GrantView {
  @ListOf(() => SessionChangeView, {
    description: 'What the session changed: statements that write (the proxy’s sql records, parsed) and Kubernetes writes, per object and operation',
  })
  changes: SessionChangeView[];
  @Nested(() => GrantGitops)
  gitops: GrantGitops;
  @NullableNested(() => ReviewVerdict, { description: 'The current review verdict (the latest review), or null before any review' })
  verdict: ReviewVerdict | null;
  @ListOf(() => ForgeVerificationView, {
    description: 'Per merged retro PR, what the forge said (docs/forge-evidence.md); `status: pending` while verification is pending',
  })
  forge: ForgeVerificationView[];
}

/** The answer to breaking the glass: the credential and the session token, shown this once. */
@ApiExtraModels(...ISSUED_CREDENTIAL_TYPES)
export class GrantCreated extends OmitType(GrantView, ['credential'] as const) {
  @OneOfShapes(ISSUED_CREDENTIAL_TYPES, { description: 'The secret credential (shown once)' })
  credential: IssuedCredential;
  @Text({ description: 'Authenticates the session recorder for this grant only (shown once)' })
  sessionToken: string;
}

/** An extension; `newCredential` when the target had to issue a new secret (a JWT cannot be extended). */
@ApiExtraModels(...ISSUED_CREDENTIAL_TYPES)
export class GrantExtended extends GrantView {
  @OneOfShapes(ISSUED_CREDENTIAL_TYPES, { optional: true, description: 'Shown once' })
  newCredential?: IssuedCredential;
}

export class GrantPage {
  @ListOf(() => GrantView)
  grants: GrantView[];
  @NullableText({ description: 'Pass as `after` for the next page' })
  next: string | null;
}

export function grantView(grant: GrantRecord, credentials: CredentialRecord[], extensions: GrantExtension[]): GrantView {
  const access = credentials.filter((c) => c.purpose === 'access').at(-1);
  return {
    id: grant.id,
    status: grant.status,
    target: grant.target,
    environment: grant.environment,
    requester: grant.requester,
    incident: grant.incident,
    reason: grant.reason,
    role: grant.role,
    durationSeconds: grant.requestedSeconds,
    activatedAt: grant.activatedAt.toISOString(),
    expiresAt: grant.expiresAt.toISOString(),
    endedAt: grant.endedAt?.toISOString() ?? null,
    endedBy: grant.endedBy,
    endReason: grant.endReason,
    flags: grant.flags,
    onCall: grant.onCall,
    incidentEvidence: grant.incidentEvidence,
    credential: access
      ? {
          type: access.type,
          username: access.username,
          database: access.database,
          jti: access.jti,
          fingerprint: access.fingerprint,
          expiresAt: access.expiresAt.toISOString(),
          revokedAt: access.revokedAt?.toISOString() ?? null,
          providerStatus: access.providerStatus,
        }
      : null,
    extensions: extensions.map((e) => ({
      at: e.at.toISOString(),
      by: e.by,
      addedSeconds: e.addedSeconds,
      reason: e.reason,
      newExpiresAt: e.newExpiresAt.toISOString(),
    })),
    retroPr: { reference: grant.id, dueAt: grant.retroPrDueAt?.toISOString() ?? null, repo: grant.retroPrRepo },
    review: { dueAt: grant.reviewDueAt?.toISOString() ?? null },
    drill: grant.drill ? { name: grant.drill.name, run: Number(grant.drill.run) } : null,
  };
}
