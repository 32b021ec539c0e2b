import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  publicJwk: JWK;
  sealedPrivateKey: string;
  createdAt: Date;
  retiredAt: Date | null;
  publishUntil: Date | null;
}

const COLUMNS = `kid, public_jwk AS "publicJwk", sealed_private_key AS "sealedPrivateKey", created_at AS "createdAt",
                 retired_at AS "retiredAt", publish_until AS "publishUntil"`;

@Injectable()
export class SigningKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Keys still published: the signing key and retired keys whose tokens may not have expired. */
  published(): Promise<SigningKeyRow[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM signing_keys
        WHERE publish_until IS NULL OR publish_until > now()
        ORDER BY created_at DESC, kid DESC`,
    );
  }

  async insert(tx: EntityManager, key: { kid: string; publicJwk: JWK; sealedPrivateKey: string }): Promise<void> {
    await tx.query(`INSERT INTO signing_keys (kid, public_jwk, sealed_private_key) VALUES ($1, $2, $3)`, [key.kid, key.publicJwk, key.sealedPrivateKey]);
  }

  /** Retires every key but `keepKid`; each stays published until `publishForSeconds` from now. */
  async retireAllBut(tx: EntityManager, keepKid: string, publishForSeconds: number): Promise<string[]> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [rows]: [{ kid: string }[], number] = await tx.query(
      `UPDATE signing_keys SET retired_at = now(), publish_until = now() + make_interval(secs => $2)
        WHERE kid <> $1 AND retired_at IS NULL RETURNING kid`,
      [keepKid, publishForSeconds],
    );
    return rows.map((row) => row.kid);
  }

  /** Serialises key creation between instances starting at once. */
  async lock(tx: EntityManager): Promise<void> {
    await tx.query(`LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`);
  }

  async hasActive(tx: EntityManager): Promise<boolean> {
    const rows = await tx.query(`SELECT 1 FROM signing_keys WHERE retired_at IS NULL LIMIT 1`);
    return rows.length > 0;
  }
}
