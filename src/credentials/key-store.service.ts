import { createPrivateKey, type KeyObject } from 'node:crypto';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
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
import { DataSource } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { MasterKey } from './master-key';
import { SIGNING_ALGORITHMS, SigningKeysRepository, type SigningAlgorithm, type SigningKeyRow } from './signing-keys.repository';

// EdDSA signs what only breakglass itself verifies (session tokens, evidence bundles): small keys,
// fast, deterministic signatures. Relying parties get the algorithm their target asks for.
const OWN_ALGORITHM: SigningAlgorithm = 'EdDSA';
const KEY_OPTIONS: Record<SigningAlgorithm, Parameters<typeof generateKeyPair>[1]> = {
  EdDSA: { crv: 'Ed25519', extractable: true },
  RS256: { modulusLength: 2048, extractable: true },
  ES256: { extractable: true },
};
// A cached view of the keys is refreshed this often, so a rotation made by another instance or the
// CLI is picked up quickly without a database read per signature.
const CACHE_MS = 5000;
/** Session tokens outlive their grant by this much, so a recorder can flush late events. */
export const SESSION_TOKEN_GRACE_SECONDS = 24 * 3600;

interface KeyView {
  loadedAt: number;
  signing: Map<SigningAlgorithm, { kid: string; key: KeyObject }>;
  verifying: Map<string, { alg: SigningAlgorithm; key: Awaited<ReturnType<typeof importJWK>> }>;
  jwks: JWK[];
}

/** Signing keys in the database, one signing key per algorithm: sign, verify, publish (JWKS), rotate. */
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
    await this.ensureKeys(this.algorithmsInUse());
  }

  /**
   * What this issuer signs tokens with: the algorithms of the policy's jwt targets, then EdDSA
   * (session-recorder tokens). Discovery's `id_token_signing_alg_values_supported`.
   */
  algorithmsInUse(): SigningAlgorithm[] {
    const targets = this.policy.targets.flatMap((target) => (target.credential.type === 'jwt' ? [target.credential.algorithm] : []));
    return [...new Set([...targets, OWN_ALGORITHM])];
  }

  async sign(
    payload: JWTPayload,
    claims: { audience: string; subject: string; issuer: string; jti: string; expiresAt: Date; issuedAt: Date },
    algorithm: SigningAlgorithm = OWN_ALGORITHM,
  ): Promise<{ token: string; kid: string }> {
    const signing = await this.signingKey(algorithm);
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: algorithm, kid: signing.kid, typ: 'JWT' })
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

  /**
   * Verifies signature (any published kid, with the algorithm that key was made for), issuer,
   * audience and expiry. Throws on failure.
   */
  async verify(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, (header) => this.verificationKey(header.kid, header.alg), { ...options, algorithms: [...SIGNING_ALGORITHMS] });
    return payload;
  }

  /** Seals a secret the broker itself must use later (a proxy login's upstream password) with the master key. */
  sealSecret(secret: string, context: string): string {
    return this.masterKey.seal(Buffer.from(secret, 'utf8'), context);
  }

  unsealSecret(sealed: string, context: string): string {
    return this.masterKey.unseal(sealed, context).toString('utf8');
  }

  /** A compact EdDSA JWS over `payload` (evidence bundles: payload = canon(bundle)). */
  /** Signs with the evidence key (EdDSA); `signedBy` gives the public JWK to embed in what is signed. */
  async signCompact(payload: (signingKey: JWK) => Uint8Array): Promise<string> {
    const signing = await this.signingKey(OWN_ALGORITHM);
    const publicJwk = (await this.current()).jwks.find((jwk) => jwk.kid === signing.kid)!;
    return new CompactSign(payload(publicJwk)).setProtectedHeader({ alg: OWN_ALGORITHM, kid: signing.kid }).sign(signing.key);
  }

  /**
   * Every evidence-signing key ever used, retired ones included and marked (`retiredAt`): a bundle
   * signed years ago still verifies against it, long after its key left the JWKS.
   */
  async evidenceKeyHistory(): Promise<{ keys: (JWK & { createdAt: string; retiredAt: string | null })[] }> {
    const rows = await this.repository.everOfAlgorithm(OWN_ALGORITHM);
    return { keys: rows.map((row) => ({ ...row.publicJwk, createdAt: row.createdAt.toISOString(), retiredAt: row.retiredAt?.toISOString() ?? null })) };
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.current()).jwks };
  }

  /**
   * A new signing key for every algorithm in use; the old keys stay published until every token
   * they signed has expired. `kid` is the new EdDSA key (evidence bundles).
   */
  async rotate(actor: string): Promise<{ kid: string; retired: string[]; keys: { alg: SigningAlgorithm; kid: string }[] }> {
    const result = await this.dataSource.transaction(async (tx) => {
      await this.repository.lock(tx);
      const algorithms = [...new Set([...this.algorithmsInUse(), ...(await this.repository.activeAlgorithms(tx))])];
      const keys: { alg: SigningAlgorithm; kid: string }[] = [];
      const retired: string[] = [];
      for (const alg of algorithms) {
        retired.push(...(await this.repository.retire(tx, alg, this.longestTokenLifetimeSeconds())));
        keys.push({ alg, kid: await this.createKey(tx, alg) });
      }
      const kid = keys.find((key) => key.alg === OWN_ALGORITHM)!.kid;
      await this.auditLog.append(tx, { actor, action: 'keys.rotated', data: { kid, retired, keys } });
      return { kid, retired, keys };
    });
    await this.refresh();
    return result;
  }

  private longestTokenLifetimeSeconds(): number {
    const longestGrant = Math.max(0, ...this.policy.targets.map((target) => target.maxTotalDurationSeconds));
    return longestGrant + SESSION_TOKEN_GRACE_SECONDS;
  }

  /** Creates the signing keys of algorithms that have none (at boot, or a policy naming a new one). */
  private async ensureKeys(algorithms: SigningAlgorithm[]): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await this.repository.lock(tx);
      const active = new Set(await this.repository.activeAlgorithms(tx));
      for (const alg of algorithms) if (!active.has(alg)) await this.createKey(tx, alg);
    });
    await this.refresh();
  }

  private async createKey(tx: Parameters<SigningKeysRepository['insert']>[0], alg: SigningAlgorithm): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(alg, KEY_OPTIONS[alg]);
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const pkcs8 = await exportPKCS8(privateKey);
    await this.repository.insert(tx, {
      kid,
      alg,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
      sealedPrivateKey: this.masterKey.seal(Buffer.from(pkcs8), kid),
    });
    return kid;
  }

  private async signingKey(alg: SigningAlgorithm): Promise<{ kid: string; key: KeyObject }> {
    const signing = (await this.current()).signing.get(alg);
    if (signing) return signing;
    await this.ensureKeys([alg]);
    return this.view!.signing.get(alg)!;
  }

  /** The key of `kid`, only for the algorithm it was made for (no algorithm confusion across kids). */
  private async verificationKey(kid: string | undefined, alg: string | undefined) {
    if (!kid) throw new Error('token has no kid');
    let entry = (await this.current()).verifying.get(kid);
    if (!entry) entry = (await this.refresh()).verifying.get(kid); // rotated elsewhere a moment ago?
    if (!entry) throw new Error(`unknown signing key ${kid}`);
    if (entry.alg !== alg) throw new Error(`key ${kid} signs ${entry.alg}, not ${alg}`);
    return entry.key;
  }

  private async current(): Promise<KeyView> {
    if (!this.view || Date.now() - this.view.loadedAt > CACHE_MS) return this.refresh();
    return this.view;
  }

  private async refresh(): Promise<KeyView> {
    const rows = await this.repository.published();
    const signing: KeyView['signing'] = new Map();
    const verifying: KeyView['verifying'] = new Map();
    for (const row of rows) {
      verifying.set(row.kid, { alg: row.alg, key: await importJWK(row.publicJwk, row.alg) });
      if (row.retiredAt === null) signing.set(row.alg, { kid: row.kid, key: this.privateKeyOf(row) });
    }
    this.view = {
      loadedAt: Date.now(),
      signing,
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
