import { InvalidArgumentError, type Command } from 'commander';
import { endedGrantMessage } from '../access/ended-grant';
import { isBrokerRole, type BrokerRole } from '../config/broker-roles';
import { parseDurationSeconds } from '../config/duration';
import { ApiClient, ApiError } from './api-client';
import type { GrantView } from './api-types';
import { cliHome, loadGrant, type LocalGrant } from './local-state';

/** What every command group gets: the program, the caller's client and output mode (plain functions, safe to destructure). */
export interface Cli {
  program: Command;
  /** A client of the broker at --url with --token. */
  client: () => ApiClient;
  /** --json: machine-readable output. */
  asJson: () => boolean;
  /** The caller's token: --token / BREAKGLASS_TOKEN, else the one `breakglass login` cached. */
  token: () => string | undefined;
  /** --token / BREAKGLASS_TOKEN only. */
  explicitToken: () => string | undefined;
}

export function requireLocalGrant(id: string): LocalGrant {
  const grant = loadGrant(id);
  if (!grant) throw new Error(`no local record of ${id}: request it from this machine with \`breakglass request\` (records live in ${cliHome()})`);
  return grant;
}

/**
 * Why a local grant can no longer be used ("BG-… was revoked by sec-1 at …: reason — request a new
 * grant"), or null. The broker decides when it answers; when it cannot be asked (down, no caller
 * token) the local expiry does, with a warning: the cluster's audit webhook still records every use
 * (docs/kubernetes.md).
 */
export async function grantEnded(cli: Cli, grant: LocalGrant): Promise<string | null> {
  const token = cli.token();
  try {
    const current = await new ApiClient({ baseUrl: process.env.BREAKGLASS_URL ?? grant.broker, token }).get<GrantView>(
      `v1/grants/${encodeURIComponent(grant.id)}`,
    );
    return current.status === 'active' && Date.parse(current.expiresAt) > Date.now()
      ? null
      : endedGrantMessage({ ...current, endedAt: current.status === 'revoked' ? current.endedAt : current.expiresAt });
  } catch (error) {
    if (Date.parse(grant.expiresAt) <= Date.now())
      return endedGrantMessage({ id: grant.id, status: 'expired', endedAt: grant.expiresAt, endedBy: null, endReason: null });
    if (error instanceof ApiError && error.status === 404) return `${grant.id} is unknown to the broker at ${process.env.BREAKGLASS_URL ?? grant.broker}`;
    process.stderr.write(
      `breakglass: could not confirm ${grant.id} with the broker (${(error as Error).message}); using the local expiry ${grant.expiresAt}\n`,
    );
    return null;
  }
}

/** Session events go to the broker the grant came from, with its session token. */
export function sessionClient(grant: LocalGrant): ApiClient {
  return new ApiClient({ baseUrl: process.env.BREAKGLASS_URL ?? grant.broker, token: grant.sessionToken });
}

export function parseRoles(value: string): BrokerRole[] {
  const roles = value
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const unknown = roles.filter((role) => !isBrokerRole(role));
  if (!roles.length || unknown.length)
    throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ') || '(none given)'}; use engineer, security, compliance, admin`);
  return roles as BrokerRole[];
}

export function parseDuration(value: string): number {
  try {
    const seconds = parseDurationSeconds(value);
    if (seconds <= 0) throw new Error('must be positive');
    return seconds;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
