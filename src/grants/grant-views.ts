import type { CredentialRecord } from '../credentials/credentials.repository';
import type { GrantExtension, GrantRecord } from './grants.repository';

/** A grant as the API shows it after creation: everything but secrets. */
export function grantView(grant: GrantRecord, credentials: CredentialRecord[], extensions: GrantExtension[]) {
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
  };
}

export type GrantView = ReturnType<typeof grantView>;
