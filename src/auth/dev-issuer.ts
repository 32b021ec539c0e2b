import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { createFileOnce } from '../common/create-file-once';
import { isBrokerRole, type BrokerRole } from '../config/broker-roles';
import { AuthError } from './auth.errors';
import type { VerifiedCaller } from './caller-authenticator';
import { tokenRejection } from './token-rejection';

// Dev mode: the broker is its own identity provider, with an Ed25519 key kept in the data dir.
// Tokens carry broker roles directly (no group mapping). Never for production (see env.ts).

export const DEV_ISSUER = 'urn:breakglass:dev-issuer';
export const DEV_AUDIENCE = 'urn:breakglass:api';
const KEY_FILE = 'dev-issuer.jwk.json';

type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export class DevIssuer {
  private constructor(
    private readonly privateKey: SigningKey,
    private readonly publicKey: SigningKey,
    /** The key's RFC 7638 thumbprint, the `kid` of its tokens: tells which data dir's key signed a token. */
    readonly keyId: string,
  ) {}

  /** Whether `dataDir` already holds a dev issuer key (the broker creates it at its first start). */
  static existsIn(dataDir: string): boolean {
    return existsSync(path.join(dataDir, KEY_FILE));
  }

  /** Loads the dev issuer key from the data dir, creating it on first use. */
  static async open(dataDir: string): Promise<DevIssuer> {
    const file = path.join(dataDir, KEY_FILE);
    if (!existsSync(file)) {
      const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
      // Another process (the CLI or a second instance) may create it first: then theirs is used.
      createFileOnce(file, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'EdDSA' }));
    }
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    const { d: _secret, ...publicJwk } = jwk;
    return new DevIssuer(await importJWK(jwk, 'EdDSA'), await importJWK(publicJwk, 'EdDSA'), await calculateJwkThumbprint(publicJwk));
  }

  async mint(options: { subject: string; roles: BrokerRole[]; email?: string; ttlSeconds?: number }): Promise<string> {
    return new SignJWT({ roles: options.roles, ...(options.email ? { email: options.email } : {}) })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: this.keyId })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject(options.subject)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 12 * 3600))
      .sign(this.privateKey);
  }

  async verify(token: string): Promise<VerifiedCaller> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, algorithms: ['EdDSA'] }));
    } catch (error) {
      throw tokenRejection(error, { issuer: DEV_ISSUER, renew: 'breakglass dev-token', expectedKey: this.keyId }, token);
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isBrokerRole) : [];
    if (!payload.sub) throw new AuthError('invalid_token', 'Bearer token has no subject');
    return { principal: { subject: payload.sub, email: typeof payload.email === 'string' ? payload.email : null, roles }, expiresAt: payload.exp };
  }
}
