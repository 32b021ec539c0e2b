import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client, Pool, escapeIdentifier, escapeLiteral } from 'pg';
import { BROKER_DATABASE_ADMIN_URL, type CredentialPolicy, type TargetPolicy } from '../../config/policy';
import { BrokerDatabaseServer } from '../../database/broker-database-server';
import type { CredentialRecord } from '../credentials.repository';
import { CredentialError } from '../credentials.errors';
import type { GrantSubject, Issued, IssuedCredential } from '../credential.types';
import { Installation } from '../installation';
import { fingerprintOf } from './jwt-credentials';
import { scramSha256Verifier } from './scram';

type PostgresPolicy = Extract<CredentialPolicy, { type: 'postgres' }>;
const CONNECT_TIMEOUT_MS = 5000;
const BACKEND_EXIT_WAIT_MS = 3000;

/**
 * Real temporary PostgreSQL login roles on a target server: `CREATE ROLE … LOGIN … VALID UNTIL`
 * (so the server itself refuses logins after expiry even if the broker is down), granted the
 * policy's roles; on expiry or revoke the role's backends are terminated and the role dropped.
 */
@Injectable()
export class PostgresCredentials implements OnModuleDestroy {
  private readonly logger = new Logger('credentials.postgres');
  private readonly pools = new Map<string, Pool>();
  private readonly demoPrepared = new Set<string>();

  constructor(
    private readonly brokerServer: BrokerDatabaseServer,
    private readonly installation: Installation,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.end()));
    this.pools.clear();
  }

  /** Role names carry this installation's id, so cleanup only ever touches our own roles. */
  get rolePattern(): RegExp {
    return new RegExp(`^bg_${this.installation.id}_\\d+_[a-z0-9]{4}$`);
  }

  async create(grant: GrantSubject, target: TargetPolicy, issuedAt: Date): Promise<Issued<Extract<IssuedCredential, { type: 'postgres' }>>> {
    const policy = target.credential as PostgresPolicy;
    const adminUrl = this.adminUrlOf(policy);
    const database = this.databaseOf(policy);
    const username = `bg_${this.installation.id}_${grant.id.split('-').pop()}_${randomBytes(3).toString('hex').slice(0, 4)}`;
    const password = randomBytes(24).toString('base64url');
    const roles = grant.role ? [grant.role] : policy.grantRoles;
    await this.withProviderErrors(target, 'create the login role', async () => {
      if (policy.adminUrl === BROKER_DATABASE_ADMIN_URL) await this.prepareDemoTarget(adminUrl, database, policy.grantRoles);
      const client = await this.pool(adminUrl).connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `CREATE ROLE ${escapeIdentifier(username)} LOGIN INHERIT CONNECTION LIMIT 20 ` +
            `PASSWORD ${escapeLiteral(scramSha256Verifier(password))} VALID UNTIL ${escapeLiteral(grant.expiresAt.toISOString())}`,
        );
        for (const role of roles) await client.query(`GRANT ${escapeIdentifier(role)} TO ${escapeIdentifier(username)}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
    const server = new URL(adminUrl);
    const url = `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${server.host}/${encodeURIComponent(database)}`;
    return {
      credential: { type: 'postgres', username, password, url, expiresAt: grant.expiresAt.toISOString() },
      record: { grantId: grant.id, purpose: 'access', type: 'postgres', jti: null, kid: null, username, database, fingerprint: fingerprintOf(password), issuedAt, expiresAt: grant.expiresAt },
    };
  }

  async extend(target: TargetPolicy, credential: CredentialRecord, expiresAt: Date): Promise<void> {
    const adminUrl = this.adminUrlOf(target.credential as PostgresPolicy);
    await this.withProviderErrors(target, 'extend the login role', () =>
      this.pool(adminUrl).query(`ALTER ROLE ${escapeIdentifier(credential.username!)} VALID UNTIL ${escapeLiteral(expiresAt.toISOString())}`),
    );
  }

  /** Stops new logins, kills open sessions, hands over anything the role created, drops it. */
  async remove(target: TargetPolicy, credential: Pick<CredentialRecord, 'username' | 'database'>): Promise<void> {
    const adminUrl = this.adminUrlOf(target.credential as PostgresPolicy);
    const role = escapeIdentifier(credential.username!);
    await this.withProviderErrors(target, 'remove the login role', async () => {
      const pool = this.pool(adminUrl);
      const exists = await pool.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [credential.username]);
      if (!exists.rowCount) return;
      await pool.query(`ALTER ROLE ${role} NOLOGIN`);
      await this.terminateBackends(pool, credential.username!);
      // Objects made during the incident are kept (reassigned to the admin role), not dropped.
      await this.inDatabase(adminUrl, credential.database ?? this.databaseOf(target.credential as PostgresPolicy), async (client) => {
        await client.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
        await client.query(`DROP OWNED BY ${role}`);
      });
      await pool.query(`DROP ROLE IF EXISTS ${role}`);
    });
  }

  /** Our roles on the target that no live credential accounts for (left by a crash). */
  async strayRoles(target: TargetPolicy, liveUsernames: Set<string>): Promise<{ username: string; database: string }[]> {
    const policy = target.credential as PostgresPolicy;
    const { rows } = await this.pool(this.adminUrlOf(policy)).query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`bg\\_${this.installation.id}\\_%`]);
    return rows
      .map((row) => row.rolname)
      .filter((name) => this.rolePattern.test(name) && !liveUsernames.has(name))
      .map((username) => ({ username, database: this.databaseOf(policy) }));
  }

  private async terminateBackends(pool: Pool, username: string): Promise<void> {
    const deadline = Date.now() + BACKEND_EXIT_WAIT_MS;
    for (;;) {
      const { rowCount } = await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [username]);
      if (!rowCount || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The demo target lives on the broker's own server: make its database and roles if missing. */
  private async prepareDemoTarget(adminUrl: string, database: string, roles: string[]): Promise<void> {
    const key = `${database}:${roles.join(',')}`;
    if (this.demoPrepared.has(key)) return;
    const pool = this.pool(adminUrl);
    const { rowCount } = await pool.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
    if (!rowCount) await pool.query(`CREATE DATABASE ${escapeIdentifier(database)}`).catch(ignoreDuplicate);
    for (const role of roles) {
      await pool.query(`CREATE ROLE ${escapeIdentifier(role)} NOLOGIN`).catch(ignoreDuplicate);
      await this.inDatabase(adminUrl, database, (client) =>
        client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${escapeIdentifier(role)}; ` + `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${escapeIdentifier(role)}`),
      );
    }
    this.demoPrepared.add(key);
  }

  private adminUrlOf(policy: PostgresPolicy): string {
    return policy.adminUrl === BROKER_DATABASE_ADMIN_URL ? this.brokerServer.adminUrl : policy.adminUrl;
  }

  private databaseOf(policy: PostgresPolicy): string {
    if (policy.database) return policy.database;
    const fromUrl = decodeURIComponent(new URL(this.adminUrlOf(policy)).pathname.slice(1));
    return fromUrl || 'postgres';
  }

  private pool(adminUrl: string): Pool {
    let pool = this.pools.get(adminUrl);
    if (!pool) {
      pool = new Pool({ connectionString: adminUrl, max: 4, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'breakglass-credentials' });
      pool.on('error', (error) => this.logger.warn(`idle connection to a target failed: ${error.message}`));
      this.pools.set(adminUrl, pool);
    }
    return pool;
  }

  private async inDatabase<T>(adminUrl: string, database: string, work: (client: Client) => Promise<T>): Promise<T> {
    const url = new URL(adminUrl);
    url.pathname = `/${encodeURIComponent(database)}`;
    const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  private async withProviderErrors<T>(target: TargetPolicy, what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      // The message names the target and the step, never the admin URL (it holds a password).
      throw new CredentialError('provider_unavailable', `Could not ${what} on target ${target.name}: ${(error as Error).message}`);
    }
  }
}

function ignoreDuplicate(error: { code?: string }) {
  // 42710 duplicate_object, 42P04 duplicate_database: another instance made it first.
  if (error.code !== '42710' && error.code !== '42P04') throw error;
}
