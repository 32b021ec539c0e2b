import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as oidc from 'openid-client';
import { isLoopback } from '../config/loopback';
import { cliHome, writePrivateFile } from './local-state';

// `breakglass login`: the OAuth 2.0 device authorization grant (RFC 8628) against the broker's
// identity provider, and the token cache every other command falls back on (like kubectl's, 0600).

export interface CachedLogin {
  broker: string;
  issuer: string;
  clientId: string;
  accessToken: string;
  refreshToken: string | null;
  /** ISO time the access token stops working. */
  expiresAt: string;
}

/** Tokens are renewed this long before they expire, so a command does not start with one about to lapse. */
const RENEW_BEFORE_MS = 30_000;

export function loginFile(): string {
  return path.join(cliHome(), 'token.json');
}

export function readLogin(): CachedLogin | undefined {
  return existsSync(loginFile()) ? (JSON.parse(readFileSync(loginFile(), 'utf8')) as CachedLogin) : undefined;
}

export function forgetLogin(): boolean {
  const existed = existsSync(loginFile());
  rmSync(loginFile(), { force: true });
  return existed;
}

/** The identity provider's configuration; plain http only for an issuer on this machine (tests, local IdPs). */
async function provider(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  const insecure = url.protocol === 'http:' && isLoopback(url.hostname.replace(/^\[|\]$/g, ''));
  return oidc.discovery(url, clientId, undefined, oidc.None(), insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
}

function cached(broker: string, issuer: string, clientId: string, tokens: oidc.TokenEndpointResponse, previousRefresh: string | null): CachedLogin {
  return {
    broker,
    issuer,
    clientId,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? previousRefresh,
    expiresAt: new Date(Date.now() + (tokens.expires_in ?? 3600) * 1000).toISOString(),
  };
}

/**
 * Signs in with the device flow: prints where to go and the code to enter, waits while the person
 * approves in a browser (anywhere: a phone will do), then caches the token.
 */
export async function deviceLogin(options: {
  broker: string;
  issuer: string;
  clientId: string;
  scope: string;
  audience: string | null;
  tell: (text: string) => void;
}): Promise<CachedLogin> {
  const config = await provider(options.issuer, options.clientId);
  const parameters: Record<string, string> = { scope: options.scope, ...(options.audience ? { audience: options.audience } : {}) };
  const device = await oidc.initiateDeviceAuthorization(config, parameters);
  const minutes = Math.max(1, Math.round(device.expires_in / 60));
  options.tell(
    device.verification_uri_complete
      ? `To sign in, open ${device.verification_uri_complete} (code ${device.user_code}) within ${minutes} min. Waiting…`
      : `To sign in, open ${device.verification_uri} and enter the code ${device.user_code} within ${minutes} min. Waiting…`,
  );
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, device, parameters);
  const login = cached(options.broker, options.issuer, options.clientId, tokens, null);
  writePrivateFile(loginFile(), JSON.stringify(login, null, 2));
  return login;
}

/**
 * The cached login's access token, renewed with its refresh token when it is about to expire. A
 * token that cannot be renewed is still returned: the broker's answer then says when it expired
 * and to run `breakglass login`.
 */
export async function loggedInToken(): Promise<string | undefined> {
  const login = readLogin();
  if (!login) return undefined;
  if (Date.parse(login.expiresAt) - RENEW_BEFORE_MS > Date.now() || !login.refreshToken) return login.accessToken;
  try {
    const config = await provider(login.issuer, login.clientId);
    const renewed = cached(login.broker, login.issuer, login.clientId, await oidc.refreshTokenGrant(config, login.refreshToken), login.refreshToken);
    writePrivateFile(loginFile(), JSON.stringify(renewed, null, 2));
    return renewed.accessToken;
  } catch (error) {
    process.stderr.write(`breakglass: could not renew the login token (${(error as Error).message}); run \`breakglass login\`\n`);
    return login.accessToken;
  }
}
