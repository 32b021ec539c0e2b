import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EndedGrant } from '../access/ended-grant';
import type { ScramSecret } from './providers/scram';

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

export type NewCredential = Omit<CredentialRecord, 'id' | 'revokedAt' | 'providerStatus' | 'providerError'> & {
  /** A proxy login: the SCRAM secret of the engineer's password, and the target role's password sealed. */
  proxy?: { scram: ScramSecret; sealedUpstreamPassword: string };
};

/** What the PostgreSQL proxy needs to authenticate a login and reach its target (credentials + grant). */
export interface ProxyLoginRecord {
  credentialId: string;
  grantId: string;
  target: string;
  requester: string;
  username: string;
  database: string | null;
  scram: ScramSecret | null;
  sealedUpstreamPassword: string | null;
  expiresAt: Date;
  grantStatus: string;
  revokedAt: Date | null;
}

const columns = (t: string) => `${t}.id, ${t}.grant_id AS "grantId", ${t}.purpose, ${t}.type, ${t}.jti, ${t}.kid,
  ${t}.username, ${t}.database, ${t}.fingerprint, ${t}.issued_at AS "issuedAt", ${t}.expires_at AS "expiresAt",
  ${t}.revoked_at AS "revokedAt", ${t}.provider_status AS "providerStatus", ${t}.provider_error AS "providerError"`;

@Injectable()
export class CredentialsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A grant's credentials (access and session) in one statement. */
  async insert(tx: EntityManager, credentials: NewCredential[]): Promise<void> {
    if (!credentials.length) return;
    const rows = credentials.map((c) => [
      c.grantId,
      c.purpose,
      c.type,
      c.jti,
      c.kid,
      c.username,
      c.database,
      c.fingerprint,
      c.issuedAt,
      c.expiresAt,
      c.proxy ? JSON.stringify(c.proxy.scram) : null,
      c.proxy?.sealedUpstreamPassword ?? null,
    ]);
    const values = rows.map((row, r) => `(${row.map((_, i) => `$${r * row.length + i + 1}`).join(', ')})`).join(', ');
    await tx.query(
      `INSERT INTO credentials (grant_id, purpose, type, jti, kid, username, database, fingerprint, issued_at, expires_at, proxy_scram, upstream_secret)
       VALUES ${values}`,
      rows.flat(),
    );
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
      // A proxy login's secrets are destroyed with it (the role itself is dropped at the target).
      `UPDATE credentials SET revoked_at = coalesce(revoked_at, now()),
              provider_status = CASE WHEN $2::text IS NULL THEN 'revoked' ELSE 'revoke_failed' END,
              provider_error = $2, proxy_scram = NULL, upstream_secret = NULL
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

  /**
   * The postgres credential of this username (usernames are unique to a grant). Its proxy secrets are
   * null unless it is a proxy login that has not been revoked.
   */
  async proxyLogin(username: string): Promise<ProxyLoginRecord | undefined> {
    const [row] = await this.dataSource.query(
      `SELECT c.id AS "credentialId", c.grant_id AS "grantId", g.target, g.requester, c.username, c.database, c.proxy_scram AS scram,
              c.upstream_secret AS "sealedUpstreamPassword", c.expires_at AS "expiresAt", g.status AS "grantStatus", c.revoked_at AS "revokedAt"
         FROM credentials c JOIN grants g ON g.id = c.grant_id
        WHERE c.username = $1 AND c.type = 'postgres' AND c.purpose = 'access'
        ORDER BY c.issued_at DESC LIMIT 1`,
      [username],
    );
    return row;
  }

  /** Which of these grants have ended (or run out without the expiry worker having ended them yet). */
  async endedGrants(grantIds: string[]): Promise<EndedGrant[]> {
    return this.dataSource.query(
      `SELECT id, CASE WHEN status = 'active' THEN 'expired' ELSE status END AS status, CASE WHEN status = 'revoked' THEN ended_at ELSE expires_at END AS "endedAt",
              ended_by AS "endedBy", end_reason AS "endReason"
         FROM grants WHERE id = ANY($1::text[]) AND (status <> 'active' OR expires_at <= now())`,
      [grantIds],
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
