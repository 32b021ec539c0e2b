import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { BROKER_ROLES, type BrokerRole } from '../config/broker-roles';
import type { AuthSettings } from '../config/env';
import type { Policy } from '../config/policy';
import { AuthError } from './auth.errors';
import { CallerAuthenticator, type VerifiedCaller } from './caller-authenticator';
import type { DevIssuer } from './dev-issuer';
import { tokenRejection } from './token-rejection';

export class DevAuthenticator extends CallerAuthenticator {
  constructor(private readonly issuer: DevIssuer) {
    super();
  }

  protected verify(token: string): Promise<VerifiedCaller> {
    return this.issuer.verify(token);
  }
}

/** OIDC bearer tokens: signature against the IdP's JWKS, issuer, audience; groups → broker roles. */
export class OidcAuthenticator extends CallerAuthenticator {
  private readonly jwks;

  constructor(
    private readonly settings: Extract<AuthSettings, { mode: 'oidc' }>,
    private readonly policy: Policy,
  ) {
    super();
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30000 });
  }

  protected async verify(token: string): Promise<VerifiedCaller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.settings.issuer, audience: this.settings.audience }));
    } catch (error) {
      throw tokenRejection(error, { issuer: this.settings.issuer, renew: 'breakglass login' }, token);
    }
    if (!payload.sub) throw new AuthError('invalid_token', 'Bearer token has no subject');
    const claimed = payload[this.settings.rolesClaim];
    const groups = new Set(Array.isArray(claimed) ? claimed.filter((g): g is string => typeof g === 'string') : typeof claimed === 'string' ? [claimed] : []);
    const roles: BrokerRole[] = BROKER_ROLES.filter((role) => this.policy.roles[role].some((group) => groups.has(group)));
    const email = payload[this.settings.emailClaim];
    return { principal: { subject: payload.sub, email: typeof email === 'string' ? email : null, roles }, expiresAt: payload.exp };
  }
}
