import { Injectable } from '@nestjs/common';
import type { JWK } from 'jose';
import { DataSource, type EntityManager } from 'typeorm';

/** JWS algorithms the broker signs with (P2.3): RS256 and ES256 for relying parties, EdDSA for its own tokens and evidence. */
export const SIGNING_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface SigningKeyRow {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JWK;
  sealedPrivateKey: string;
  createdAt: Date;
  retiredAt: Date | null;
  publishUntil: Date | null;
}

const COLUMNS = `kid, alg, public_jwk AS "publicJwk", sealed_private_key AS "sealedPrivateKey", created_at AS "createdAt",
                 retired_at AS "retiredAt", publish_until AS "publishUntil"`;

@Injectable()
export class SigningKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Keys still published: the signing keys and retired keys whose tokens may not have expired. */
  published(): Promise<SigningKeyRow[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM signing_keys
        WHERE publish_until IS NULL OR publish_until > now()
        ORDER BY created_at DESC, kid DESC`,
    );
  }

  /** Every key of `alg` ever made, newest first (rows are never deleted: evidence keys stay verifiable). */
  everOfAlgorithm(alg: SigningAlgorithm): Promise<SigningKeyRow[]> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM signing_keys WHERE alg = $1 ORDER BY created_at DESC, kid DESC`, [alg]);
  }

  async insert(tx: EntityManager, key: { kid: string; alg: SigningAlgorithm; publicJwk: JWK; sealedPrivateKey: string }): Promise<void> {
    await tx.query(`INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private_key) VALUES ($1, $2, $3, $4)`, [
      key.kid,
      key.alg,
      key.publicJwk,
      key.sealedPrivateKey,
    ]);
  }

  /** Retires the signing key of `alg`; it stays published for `publishForSeconds` from now. */
  async retire(tx: EntityManager, alg: SigningAlgorithm, publishForSeconds: number): Promise<string[]> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [rows]: [{ kid: string }[], number] = await tx.query(
      `UPDATE signing_keys SET retired_at = now(), publish_until = now() + make_interval(secs => $2)
        WHERE alg = $1 AND retired_at IS NULL RETURNING kid`,
      [alg, publishForSeconds],
    );
    return rows.map((row) => row.kid);
  }

  /** Serialises key creation between instances starting at once. */
  async lock(tx: EntityManager): Promise<void> {
    await tx.query(`LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`);
  }

  /** Algorithms that have a signing (unretired) key. */
  async activeAlgorithms(tx: EntityManager): Promise<SigningAlgorithm[]> {
    const rows: { alg: SigningAlgorithm }[] = await tx.query(`SELECT alg FROM signing_keys WHERE retired_at IS NULL`);
    return rows.map((row) => row.alg);
  }
}
