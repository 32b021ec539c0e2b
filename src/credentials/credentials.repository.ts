import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface CredentialRecord {
  id: string;
  grantId: string;
  purpose: 'access' | 'session';
  type: 'jwt' | 'postgres';
  jti: string | null;
  kid: string | null;
  username: string | null;
  database: string | null;
  fingerprint: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  providerStatus: 'active' | 'revoked' | 'revoke_failed';
  providerError: string | null;
}

export type NewCredential = Omit<CredentialRecord, 'id' | 'revokedAt' | 'providerStatus' | 'providerError'>;

const columns = (t: string) => `${t}.id, ${t}.grant_id AS "grantId", ${t}.purpose, ${t}.type, ${t}.jti, ${t}.kid,
  ${t}.username, ${t}.database, ${t}.fingerprint, ${t}.issued_at AS "issuedAt", ${t}.expires_at AS "expiresAt",
  ${t}.revoked_at AS "revokedAt", ${t}.provider_status AS "providerStatus", ${t}.provider_error AS "providerError"`;

@Injectable()
export class CredentialsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, credentials: NewCredential[]): Promise<void> {
    for (const c of credentials) {
      await tx.query(
        `INSERT INTO credentials (grant_id, purpose, type, jti, kid, username, database, fingerprint, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [c.grantId, c.purpose, c.type, c.jti, c.kid, c.username, c.database, c.fingerprint, c.issuedAt, c.expiresAt],
      );
    }
  }

  forGrant(grantId: string, tx?: EntityManager): Promise<CredentialRecord[]> {
    return (tx ?? this.dataSource).query(`SELECT ${columns('c')} FROM credentials c WHERE grant_id = $1 ORDER BY issued_at`, [grantId]);
  }

  /** For introspection: the credential of a JWT id and whether its grant is still active. */
  async byJti(jti: string): Promise<(CredentialRecord & { grantStatus: string; target: string }) | undefined> {
    const [row] = await this.dataSource.query(
      `SELECT ${columns('c')}, g.status AS "grantStatus", g.target
         FROM credentials c JOIN grants g ON g.id = c.grant_id
        WHERE c.jti = $1`,
      [jti],
    );
    return row;
  }

  async extend(tx: EntityManager, id: string, expiresAt: Date): Promise<void> {
    await tx.query(`UPDATE credentials SET expires_at = $2 WHERE id = $1`, [id, expiresAt]);
  }

  async markRevoked(id: string, outcome: { error: string | null }, tx?: EntityManager): Promise<void> {
    await (tx ?? this.dataSource).query(
      `UPDATE credentials SET revoked_at = coalesce(revoked_at, now()),
              provider_status = CASE WHEN $2::text IS NULL THEN 'revoked' ELSE 'revoke_failed' END,
              provider_error = $2
        WHERE id = $1`,
      [id, outcome.error],
    );
  }

  /** Postgres login roles whose grant has ended but whose removal has not succeeded yet. */
  pendingRemovals(): Promise<(CredentialRecord & { target: string })[]> {
    return this.dataSource.query(
      `SELECT ${columns('c')}, g.target FROM credentials c JOIN grants g ON g.id = c.grant_id
        WHERE c.type = 'postgres' AND c.purpose = 'access' AND c.provider_status = 'revoke_failed'`,
    );
  }

  /** Usernames of postgres credentials that are still meant to work. */
  async liveUsernames(): Promise<Set<string>> {
    const rows: { username: string }[] = await this.dataSource.query(
      `SELECT c.username FROM credentials c JOIN grants g ON g.id = c.grant_id
        WHERE c.type = 'postgres' AND c.username IS NOT NULL AND g.status = 'active' AND c.revoked_at IS NULL`,
    );
    return new Set(rows.map((row) => row.username));
  }
}
