import type { GrantFacts } from './notice';

/** Selects a grant `g` as one `grant` JSON column holding the facts a notice carries. */
export const GRANT_FACTS_COLUMN = `json_build_object('id', g.id, 'target', g.target, 'environment', g.environment, 'requester', g.requester,
  'requesterEmail', g.requester_email, 'incident', g.incident, 'reason', g.reason, 'activatedAt', g.activated_at, 'expiresAt', g.expires_at, 'drill', g.drill_name) AS grant`;

/** json_build_object gives the grant's times as strings. */
export function withGrantDates<T extends { grant: GrantFacts }>(row: T): T {
  return { ...row, grant: { ...row.grant, activatedAt: new Date(row.grant.activatedAt), expiresAt: new Date(row.grant.expiresAt) } };
}
