import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  calculateJwkThumbprint,
  CompactSign,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { MasterKey } from './master-key';
import { SigningKeysRepository, type SigningKeyRow } from './signing-keys.repository';

const ALG = 'EdDSA';
// A cached view of the keys is refreshed this often, so a rotation made by another instance or the
// CLI is picked up quickly without a database read per signature.
const CACHE_MS = 5000;
/** Session tokens outlive their grant by this much, so a recorder can flush late events. */
export const SESSION_TOKEN_GRACE_SECONDS = 24 * 3600;

interface KeyView {
  loadedAt: number;
  signing: { kid: string; key: KeyObject };
  verifying: Map<string, Awaited<ReturnType<typeof importJWK>>>;
  jwks: JWK[];
}

/** Ed25519 signing keys in the database: sign, verify, publish (JWKS), rotate. */
@Injectable()
export class KeyStore implements OnApplicationBootstrap {
  private view?: KeyView;
  private readonly masterKey: MasterKey;

  constructor(
    private readonly repository: SigningKeysRepository,
    private readonly dataSource: DataSource,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    config: ServiceConfig,
  ) {
    this.masterKey = MasterKey.open(config.dataDir, config.env.BREAKGLASS_KEY);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await this.repository.lock(tx);
      if (!(await this.repository.hasActive(tx))) await this.createKey(tx);
    });
    await this.refresh();
  }

  async sign(payload: JWTPayload, claims: { audience: string; subject: string; issuer: string; jti: string; expiresAt: Date; issuedAt: Date }): Promise<{ token: string; kid: string }> {
    const { signing } = await this.current();
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: signing.kid, typ: 'JWT' })
      .setIssuer(claims.issuer)
      .setSubject(claims.subject)
      .setAudience(claims.audience)
      .setJti(claims.jti)
      .setIssuedAt(Math.floor(claims.issuedAt.getTime() / 1000))
      // A credential must not outlive its grant: round the expiry down to the second.
      .setExpirationTime(Math.floor(claims.expiresAt.getTime() / 1000))
      .sign(signing.key);
    return { token, kid: signing.kid };
  }

  /** Verifies signature (any published kid), issuer, audience and expiry. Throws on failure. */
  async verify(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, (header) => this.verificationKey(header.kid), { ...options, algorithms: [ALG] });
    return payload;
  }

  /** A compact JWS over `payload` (evidence bundles: payload = canon(bundle)). */
  /** Seals a secret the broker itself must use later (a proxy login's upstream password) with the master key. */
  sealSecret(secret: string, context: string): string {
    return this.masterKey.seal(Buffer.from(secret, 'utf8'), context);
  }

  unsealSecret(sealed: string, context: string): string {
    return this.masterKey.unseal(sealed, context).toString('utf8');
  }

  async signCompact(payload: Uint8Array): Promise<string> {
    const { signing } = await this.current();
    return new CompactSign(payload).setProtectedHeader({ alg: ALG, kid: signing.kid }).sign(signing.key);
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.current()).jwks };
  }

  /** A new signing key; old keys stay published until every token they signed has expired. */
  async rotate(actor: string): Promise<{ kid: string; retired: string[] }> {
    const result = await this.dataSource.transaction(async (tx) => {
      await this.repository.lock(tx);
      const kid = await this.createKey(tx);
      const retired = await this.repository.retireAllBut(tx, kid, this.longestTokenLifetimeSeconds());
      await this.auditLog.append(tx, { actor, action: 'keys.rotated', data: { kid, retired } });
      return { kid, retired };
    });
    await this.refresh();
    return result;
  }

  private longestTokenLifetimeSeconds(): number {
    const longestGrant = Math.max(0, ...this.policy.targets.map((target) => target.maxTotalDurationSeconds));
    return longestGrant + SESSION_TOKEN_GRACE_SECONDS;
  }

  private async createKey(tx: Parameters<SigningKeysRepository['insert']>[0]): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const pkcs8 = await exportPKCS8(privateKey);
    await this.repository.insert(tx, {
      kid,
      publicJwk: { ...publicJwk, kid, alg: ALG, use: 'sig' },
      sealedPrivateKey: this.masterKey.seal(Buffer.from(pkcs8), kid),
    });
    return kid;
  }

  private async verificationKey(kid: string | undefined) {
    if (!kid) throw new Error('token has no kid');
    let key = (await this.current()).verifying.get(kid);
    if (!key) key = (await this.refresh()).verifying.get(kid); // rotated elsewhere a moment ago?
    if (!key) throw new Error(`unknown signing key ${kid}`);
    return key;
  }

  private async current(): Promise<KeyView> {
    if (!this.view || Date.now() - this.view.loadedAt > CACHE_MS) return this.refresh();
    return this.view;
  }

  private async refresh(): Promise<KeyView> {
    const rows = await this.repository.published();
    const active = rows.find((row) => row.retiredAt === null);
    if (!active) throw new Error('no active signing key');
    const verifying = new Map<string, Awaited<ReturnType<typeof importJWK>>>();
    for (const row of rows) verifying.set(row.kid, await importJWK(row.publicJwk, ALG));
    this.view = {
      loadedAt: Date.now(),
      signing: { kid: active.kid, key: this.privateKeyOf(active) },
      verifying,
      jwks: rows.map((row) => row.publicJwk),
    };
    return this.view;
  }

  private privateKeyOf(row: SigningKeyRow): KeyObject {
    const pem = this.masterKey.unseal(row.sealedPrivateKey, row.kid).toString('utf8');
    return createPrivateKey(pem);
  }
}
