import { VerifiedTokens } from '../common/verified-tokens';
import type { Principal } from './principal';

/** A verified bearer token: its caller, and its `exp` (seconds) if it has one. */
export interface VerifiedCaller {
  principal: Principal;
  expiresAt: number | undefined;
}

/** Callers whose tokens were verified are remembered this long at most (an OIDC key the IdP drops stops counting within it). */
const VERIFIED_CALLER_MAX_AGE_MS = 60_000;
const VERIFIED_CALLERS_KEPT = 10_000;

/** Turns a bearer token into a Principal, or throws AuthError. One implementation per AUTH_MODE. */
export abstract class CallerAuthenticator {
  private readonly verified = new VerifiedTokens<Principal>(VERIFIED_CALLERS_KEPT, VERIFIED_CALLER_MAX_AGE_MS);

  async authenticate(token: string): Promise<Principal> {
    const known = this.verified.get(token);
    if (known) return known;
    const { principal, expiresAt } = await this.verify(token);
    this.verified.set(token, principal, expiresAt);
    return principal;
  }

  /** Checks the token's signature and claims (every time: authenticate keeps the answers). */
  protected abstract verify(token: string): Promise<VerifiedCaller>;
}
