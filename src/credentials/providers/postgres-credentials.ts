import { randomBytes } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Pool, escapeIdentifier, escapeLiteral } from 'pg';
import { BROKER_DATABASE_ADMIN_URL, type CredentialPolicy, type TargetPolicy } from '../../config/policy';
import { BrokerDatabaseServer } from '../../database/broker-database-server';
import type { GrantSubject, Issued, IssuedCredential } from '../credential.types';
import { CredentialError } from '../credentials.errors';
import type { CredentialRecord } from '../credentials.repository';
import { Installation } from '../installation';
import { KeyStore } from '../key-store.service';
import { ProxyAddress } from '../proxy-address';
import { fingerprintOf } from './jwt-credentials';
import { scramSha256Secret, scramSha256Verifier } from './scram';

type PostgresPolicy = Extract<CredentialPolicy, { type: 'postgres' }>;

/** Owns what temporary roles created, once they are gone (docs/postgres-cleanup.md). */
export const ORPHAN_HOLDER_ROLE = 'breakglass_orphans';

/** What removing a temporary role neutralised and handed to the holder role (`credential.cleanup`). */
export interface RoleCleanup {
  holder: string;
  /** Databases where the role owned something. */
  databases: string[];
  /** `db: schema.fn(args)` made SECURITY INVOKER, EXECUTE revoked from PUBLIC. */
  routinesNeutralised: string[];
  /** `db: trigger ON table` that called one of the role's functions. */
  triggersDropped: string[];
  eventTriggersDropped: string[];
  largeObjects: number;
  /** Objects whose ownership went to the holder role. */
  objectsReassigned: number;
  /** Roles the temporary role had created (it administered them). */
  rolesDropped: string[];
}

// One round trip per database: what the role owns that could run code, and how much it owns.
const ROLE_FOOTPRINT = `
  WITH r AS (SELECT oid FROM pg_roles WHERE rolname = $1)
  SELECT
    ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p, r WHERE p.proowner = r.oid AND p.prokind IN ('f', 'p') ORDER BY 1) AS routines,
    ARRAY(SELECT format('%I ON %s', t.tgname, t.tgrelid::regclass) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid, r
           WHERE p.proowner = r.oid AND NOT t.tgisinternal ORDER BY 1) AS triggers,
    ARRAY(SELECT e.evtname::text FROM pg_event_trigger e, r WHERE e.evtowner = r.oid ORDER BY 1) AS event_triggers,
    (SELECT count(*)::int FROM pg_largeobject_metadata l, r WHERE l.lomowner = r.oid) AS large_objects,
    (SELECT count(*)::int FROM pg_shdepend s, r WHERE s.refobjid = r.oid AND s.deptype = 'o'
        AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS owned`;
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
  private readonly serverVersions = new Map<string, number>();

  constructor(
    private readonly brokerServer: BrokerDatabaseServer,
    private readonly installation: Installation,
    private readonly keys: KeyStore,
    private readonly proxyAddress: ProxyAddress,
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
    // Through the proxy, the role's own password never leaves the broker: the engineer gets another.
    const password = randomBytes(24).toString('base64url');
    const roles = grant.role ? [grant.role] : policy.grantRoles;
    await this.withProviderErrors(target, 'create the login role', async () => {
      if (policy.adminUrl === BROKER_DATABASE_ADMIN_URL) await this.prepareDemoTarget(adminUrl, database, policy.grantRoles);
      await this.refuseUnsafeRoles(adminUrl, roles);
      const client = await this.pool(adminUrl).connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `CREATE ROLE ${escapeIdentifier(username)} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20 ` +
            `PASSWORD ${escapeLiteral(scramSha256Verifier(password))} VALID UNTIL ${escapeLiteral(grant.expiresAt.toISOString())}`,
        );
        // From PostgreSQL 16 on, SET FALSE keeps the privileges but not SET ROLE: whatever the
        // engineer creates is owned by the temporary role, so the cleanup at the end finds it.
        const membership = (await this.serverVersion(adminUrl)) >= 160000 ? ' WITH INHERIT TRUE, SET FALSE' : '';
        for (const role of roles) await client.query(`GRANT ${escapeIdentifier(role)} TO ${escapeIdentifier(username)}${membership}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
    const record = {
      grantId: grant.id,
      purpose: 'access',
      type: 'postgres',
      jti: null,
      kid: null,
      username,
      database,
      issuedAt,
      expiresAt: grant.expiresAt,
    } as const;
    const expiresAt = grant.expiresAt.toISOString();
    if (policy.access === 'direct') {
      // What clients reach can differ from what the broker administers through (compose, NAT, a pooler).
      const host = target.connectHost ?? new URL(adminUrl).host;
      const url = `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}/${encodeURIComponent(database)}`;
      return { credential: { type: 'postgres', username, password, url, expiresAt }, record: { ...record, fingerprint: fingerprintOf(password) } };
    }
    const login = randomBytes(24).toString('base64url');
    const { host, port } = this.proxyAddress.get();
    const url = `postgres://${encodeURIComponent(username)}:${encodeURIComponent(login)}@${host.includes(':') ? `[${host}]` : host}:${port}/${encodeURIComponent(database)}`;
    return {
      credential: { type: 'postgres', access: 'proxy', username, password: login, host, port, database, url, expiresAt },
      record: {
        ...record,
        fingerprint: fingerprintOf(login),
        proxy: { scram: scramSha256Secret(login), sealedUpstreamPassword: this.keys.sealSecret(password, upstreamSecretContext(username)) },
      },
    };
  }

  /** The target role's password of a proxy login, for the proxy's upstream connection only. */
  upstreamPassword(username: string, sealed: string): string {
    return this.keys.unsealSecret(sealed, upstreamSecretContext(username));
  }

  /** A URL for `username` at the target's server and database (the proxy's upstream connection). */
  upstreamUrl(target: TargetPolicy, username: string, password: string, database: string | null): string {
    const policy = target.credential as PostgresPolicy;
    const url = new URL(this.adminUrlOf(policy));
    url.username = encodeURIComponent(username);
    url.password = encodeURIComponent(password);
    url.pathname = `/${encodeURIComponent(database ?? this.databaseOf(policy))}`;
    return url.toString();
  }

  async extend(target: TargetPolicy, credential: CredentialRecord, expiresAt: Date): Promise<void> {
    const adminUrl = this.adminUrlOf(target.credential as PostgresPolicy);
    await this.withProviderErrors(target, 'extend the login role', () =>
      this.pool(adminUrl).query(`ALTER ROLE ${escapeIdentifier(credential.username!)} VALID UNTIL ${escapeLiteral(expiresAt.toISOString())}`),
    );
  }

  /**
   * Stops new logins, kills open sessions, neutralises and hands over anything the role created,
   * drops it. Answers what was neutralised (audited as `credential.cleanup`); undefined when the
   * role was already gone.
   */
  async remove(target: TargetPolicy, credential: Pick<CredentialRecord, 'username' | 'database'>): Promise<RoleCleanup | undefined> {
    const adminUrl = this.adminUrlOf(target.credential as PostgresPolicy);
    return this.withProviderErrors(target, 'remove the login role', async () => {
      const pool = this.pool(adminUrl);
      const exists = await pool.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [credential.username]);
      if (!exists.rowCount) return undefined;
      const cleanup: RoleCleanup = {
        holder: ORPHAN_HOLDER_ROLE,
        databases: [],
        routinesNeutralised: [],
        triggersDropped: [],
        eventTriggersDropped: [],
        largeObjects: 0,
        objectsReassigned: 0,
        rolesDropped: [],
      };
      await this.ensureHolderRole(pool);
      await this.dropRole(adminUrl, credential.username!, credential.database ?? this.databaseOf(target.credential as PostgresPolicy), cleanup);
      return cleanup;
    });
  }

  /**
   * Objects the role made are kept (they may be the fix of the incident), but nothing of theirs may
   * run with someone else's rights afterwards: REASSIGN OWNED to the admin would let a SECURITY
   * DEFINER function or a trigger run as the admin. So, in every database where the role owns
   * anything: its routines become SECURITY INVOKER without EXECUTE for PUBLIC, triggers that call
   * its functions and its event triggers are dropped, and what remains goes to an unprivileged
   * NOLOGIN holder role. Roles it administers (PostgreSQL 16+ records the creator that way) go too.
   */
  private async dropRole(adminUrl: string, username: string, homeDatabase: string, cleanup: RoleCleanup): Promise<void> {
    const pool = this.pool(adminUrl);
    const role = escapeIdentifier(username);
    await pool.query(`ALTER ROLE ${role} NOLOGIN`);
    await this.terminateBackends(pool, username);
    const { rows: created } = await pool.query<{ rolname: string }>(
      `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
        WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) AND m.admin_option AND r.rolname <> $1`,
      [username],
    );
    for (const { rolname } of created) {
      if (cleanup.rolesDropped.includes(rolname) || rolname === ORPHAN_HOLDER_ROLE) continue;
      cleanup.rolesDropped.push(rolname);
      await this.dropRole(adminUrl, rolname, homeDatabase, cleanup);
    }
    // pg_shdepend knows every database where the role owns objects or holds privileges (a large
    // object in another database would otherwise block DROP ROLE for ever).
    const { rows } = await pool.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND d.datallowconn`,
      [username],
    );
    const databases = [...new Set([homeDatabase, ...rows.map((row) => row.datname)])];
    for (const database of databases) {
      await this.inDatabase(adminUrl, database, async (client) => {
        await client.query('BEGIN');
        try {
          const found = await client.query<{ routines: string[]; triggers: string[]; event_triggers: string[]; large_objects: number; owned: number }>(
            ROLE_FOOTPRINT,
            [username],
          );
          const { routines, triggers, event_triggers: eventTriggers, large_objects: largeObjects, owned } = found.rows[0];
          for (const routine of routines) {
            await client.query(`ALTER ROUTINE ${routine} SECURITY INVOKER`);
            await client.query(`REVOKE ALL ON ROUTINE ${routine} FROM PUBLIC`);
          }
          for (const trigger of triggers) await client.query(`DROP TRIGGER ${trigger}`);
          for (const name of eventTriggers) await client.query(`DROP EVENT TRIGGER ${escapeIdentifier(name)}`);
          await client.query(`REASSIGN OWNED BY ${role} TO ${escapeIdentifier(ORPHAN_HOLDER_ROLE)}`);
          await client.query(`DROP OWNED BY ${role}`);
          await client.query('COMMIT');
          if (owned || routines.length || triggers.length || eventTriggers.length) cleanup.databases.push(database);
          const where = (name: string) => `${database}: ${name}`;
          cleanup.routinesNeutralised.push(...routines.map(where));
          cleanup.triggersDropped.push(...triggers.map(where));
          cleanup.eventTriggersDropped.push(...eventTriggers.map(where));
          cleanup.largeObjects += largeObjects;
          cleanup.objectsReassigned += owned;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    }
    await pool.query(`DROP ROLE IF EXISTS ${role}`);
  }

  /** The holder of what grants leave behind: no login, no privileges, member of nothing. */
  private async ensureHolderRole(pool: Pool): Promise<void> {
    const { rowCount } = await pool.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [ORPHAN_HOLDER_ROLE]);
    if (!rowCount) await pool.query(`CREATE ROLE ${escapeIdentifier(ORPHAN_HOLDER_ROLE)} NOLOGIN NOINHERIT`).catch(ignoreDuplicate);
  }

  /**
   * A policy role that is (or can become, through its memberships) a superuser or a role creator
   * would let the grant make logins the broker cannot find or take back.
   */
  private async refuseUnsafeRoles(adminUrl: string, roles: string[]): Promise<void> {
    const { rows } = await this.pool(adminUrl).query<{ rolname: string; rolsuper: boolean }>(
      `WITH RECURSIVE reach(oid) AS (
         SELECT oid FROM pg_roles WHERE rolname = ANY($1::text[])
         UNION SELECT m.roleid FROM pg_auth_members m JOIN reach ON m.member = reach.oid)
       SELECT rolname, rolsuper FROM pg_roles WHERE oid IN (SELECT oid FROM reach) AND (rolsuper OR rolcreaterole) ORDER BY rolname`,
      [roles],
    );
    if (rows.length) {
      const named = rows.map((row) => `${row.rolname} (${row.rolsuper ? 'SUPERUSER' : 'CREATEROLE'})`).join(', ');
      throw new CredentialError(
        'grant_role_unsafe',
        `The policy grants ${named}: a temporary role with it could create logins that outlive the grant. Grant a role without SUPERUSER or CREATEROLE.`,
        { roles: rows.map((row) => row.rolname) },
      );
    }
  }

  private async serverVersion(adminUrl: string): Promise<number> {
    let version = this.serverVersions.get(adminUrl);
    if (version === undefined) {
      const { rows } = await this.pool(adminUrl).query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
      version = Number(rows[0].v);
      this.serverVersions.set(adminUrl, version);
    }
    return version;
  }

  /** Our roles on the target that no live credential accounts for (left by a crash). */
  async strayRoles(target: TargetPolicy, liveUsernames: Set<string>): Promise<{ username: string; database: string }[]> {
    const policy = target.credential as PostgresPolicy;
    const { rows } = await this.pool(this.adminUrlOf(policy)).query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [
      `bg\\_${this.installation.id}\\_%`,
    ]);
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
        client.query(
          `GRANT USAGE, CREATE ON SCHEMA public TO ${escapeIdentifier(role)}; ` + `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${escapeIdentifier(role)}`,
        ),
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
      if (error instanceof CredentialError) throw error;
      throw new CredentialError('provider_unavailable', `Could not ${what} on target ${target.name}: ${(error as Error).message}`);
    }
  }
}

/** The sealed upstream password is bound to its login: it cannot be moved to another row. */
function upstreamSecretContext(username: string): string {
  return `proxy-upstream:${username}`;
}

function ignoreDuplicate(error: { code?: string }) {
  // 42710 duplicate_object, 42P04 duplicate_database: another instance made it first.
  if (error.code !== '42710' && error.code !== '42P04') throw error;
}
