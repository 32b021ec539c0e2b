import type { Principal } from './principal';

/** Turns a bearer token into a Principal, or throws AuthError. One implementation per AUTH_MODE. */
export abstract class CallerAuthenticator {
  abstract authenticate(token: string): Promise<Principal>;
}
