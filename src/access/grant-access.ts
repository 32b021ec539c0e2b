import type { BrokerRole } from '../config/broker-roles';
import type { GrantAbilities } from './access.views';
import { GrantError } from './grant.errors';

/** The caller as access sees it (auth's Principal fits; access sits below auth, so it does not import it). */
export interface GrantCaller {
  subject: string;
  roles: readonly BrokerRole[];
}

/**
 * Who may do what to one grant, in one table: the requester (for their own grants) and the roles
 * that may do it to any grant. Services check with `requireGrantAccess`; `GET /v1/me` sends the
 * caller's row of it so the dashboard shows exactly the buttons the API accepts. Role gates per
 * endpoint (`@Roles`) still apply first.
 */
export const GRANT_ACCESS = {
  'grant.read': { requester: true, roles: ['security', 'compliance'], denied: (id: string) => `${id} belongs to another requester` },
  'grant.extend': { requester: true, roles: [], denied: () => 'Only the requester can extend a grant' },
  'grant.revoke': { requester: true, roles: ['security', 'admin'], denied: () => 'Only the requester, security or an admin can revoke a grant' },
  'session.read': { requester: true, roles: ['security', 'compliance'], denied: (id: string) => `${id}'s session belongs to another requester` },
  'pr.link': { requester: true, roles: ['security'], denied: () => 'Only the requester or security can link a PR by hand' },
  'gitops.pause': { requester: true, roles: ['security'], denied: () => 'Only the requester or security can record pausing reconciliation' },
} as const satisfies Record<string, { requester: boolean; roles: readonly BrokerRole[]; denied: (id: string) => string }>;

export type GrantAction = keyof typeof GRANT_ACCESS;

export function grantAbilitiesOf(caller: GrantCaller): GrantAbilities {
  const actions = Object.keys(GRANT_ACCESS) as GrantAction[];
  return {
    anyGrant: actions.filter((action) => mayOnEveryGrant(caller, action)),
    ownGrants: actions.filter((action) => GRANT_ACCESS[action].requester),
  };
}

export function mayOnGrant(caller: GrantCaller, grant: { requester: string }, action: GrantAction): boolean {
  return mayOnEveryGrant(caller, action) || (GRANT_ACCESS[action].requester && grant.requester === caller.subject);
}

/** The grant, if the caller may do `action` to it: `grant_not_found` (404) or `not_your_grant` (403) otherwise. */
export function requireGrantAccess<G extends { id: string; requester: string }>(
  caller: GrantCaller,
  grant: G | undefined | null,
  id: string,
  action: GrantAction,
): G {
  if (!grant) throw new GrantError('grant_not_found', `No grant ${id}`);
  if (!mayOnGrant(caller, grant, action)) throw new GrantError('not_your_grant', GRANT_ACCESS[action].denied(id));
  return grant;
}

/** Whether one of the caller's roles lets them do `action` to any grant, whoever requested it. */
export function mayOnEveryGrant(caller: GrantCaller, action: GrantAction): boolean {
  const roles: readonly BrokerRole[] = GRANT_ACCESS[action].roles;
  return roles.some((role) => caller.roles.includes(role));
}
