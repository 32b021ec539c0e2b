import { decodeProtectedHeader, errors } from 'jose';
import { AuthError } from './auth.errors';

/** Who verifies caller tokens, for messages that say what to do next. */
export interface TokenVerifier {
  /** The issuer this broker accepts. */
  issuer: string;
  /** What an engineer runs for a new token. */
  renew: string;
  /** Which key signed what we accept, when that helps (the dev issuer key's thumbprint). */
  expectedKey?: string;
}

/**
 * A rejected bearer token as a person under stress reads it: not `"exp" claim timestamp check
 * failed` but when it expired and what to run. Nothing secret is said: the issuer and key ids are public.
 */
export function tokenRejection(error: unknown, verifier: TokenVerifier, token: string): AuthError {
  if (error instanceof errors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? new Date(error.payload.exp * 1000).toISOString() : 'an unknown time';
    return new AuthError('invalid_token', `Your token expired at ${exp}: run \`${verifier.renew}\``, { reason: 'expired', expiredAt: exp });
  }
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iss') {
    return new AuthError(
      'invalid_token',
      `Your token was issued by ${JSON.stringify(error.payload.iss ?? null)}, but this broker accepts tokens from ${verifier.issuer}: run \`${verifier.renew}\``,
      { reason: 'wrong_issuer', issuer: verifier.issuer },
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    const kid = keyIdOf(token);
    const expected = verifier.expectedKey ? ` (this broker verifies with key ${verifier.expectedKey})` : '';
    return new AuthError(
      'invalid_token',
      `Your token is signed by ${kid ? `key ${kid}` : 'a key'} that ${verifier.issuer} does not use for this broker${expected}: run \`${verifier.renew}\``,
      { reason: 'unknown_key', issuer: verifier.issuer, ...(kid ? { kid } : {}) },
    );
  }
  return new AuthError('invalid_token', `Bearer token rejected: ${(error as Error).message}`);
}

function keyIdOf(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}
