import { publicJson } from './api';
import type { DevToken, GrantAction, Me } from './types';

export type { Me } from './types';

// Sign-in: a token kept in sessionStorage only (gone when the browser session ends). With
// AUTH_MODE=oidc the authorization-code flow with PKCE (S256) against the configured issuer.

const TOKEN_KEY = 'breakglass.token';
const PKCE_KEY = 'breakglass.pkce';

export interface DashboardConfig {
  authMode: 'dev' | 'oidc';
  oidc: { issuer: string; clientId: string; audience: string } | null;
  devSignIn: boolean;
}

/** Whether the API lets this caller do `action` to this grant: the table `GET /v1/me` sent. */
export const mayOnGrant = (me: Me, grant: { requester: string }, action: GrantAction): boolean =>
  me.grantAccess.anyGrant.includes(action) || (grant.requester === me.subject && me.grantAccess.ownGrants.includes(action));

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string): void => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

export function loadConfig(): Promise<DashboardConfig> {
  return publicJson<DashboardConfig>('/ui/config.json');
}

export async function devToken(subject: string, roles: string[], email: string): Promise<string> {
  const body = await publicJson<DevToken>('/v1/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, roles, ...(email ? { email } : {}) }),
  });
  return body.token;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomString = (size: number) => base64url(crypto.getRandomValues(new Uint8Array(size)));
const redirectUri = () => `${location.origin}/ui/`;

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  return publicJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

export async function startOidcSignIn(oidc: NonNullable<DashboardConfig['oidc']>): Promise<void> {
  const endpoints = await discover(oidc.issuer);
  const verifier = randomString(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = randomString(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, tokenEndpoint: endpoints.token_endpoint }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    audience: oidc.audience,
  });
  location.assign(`${endpoints.authorization_endpoint}?${query}`);
}

/** On the redirect back: exchanges the code (with the verifier) for a token; null when not returning from the IdP. */
export async function completeOidcSignIn(oidc: NonNullable<DashboardConfig['oidc']>): Promise<string | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string; tokenEndpoint: string } | null;
  if (!code || !pending) return null;
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', '/ui/');
  if (params.get('state') !== pending.state) throw new Error('The sign-in answer does not match the request (state); sign in again.');
  const tokens = await publicJson<{ access_token?: string; id_token?: string }>(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
    }),
  });
  // The API needs a JWT for OIDC_AUDIENCE: the access token when the IdP issues JWTs, else the ID token.
  const token = tokens.access_token?.split('.').length === 3 ? tokens.access_token : tokens.id_token;
  if (!token) throw new Error('The identity provider returned no usable token.');
  return token;
}
