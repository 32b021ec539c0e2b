import { Client, type Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { MIGRATIONS } from '../../migrations';
import { AfterCommitSubscriber } from './after-commit';

export const APPLICATION_DATABASE = 'breakglass';
// Any constant works; it only has to be the same for every instance sharing a database.
const MIGRATION_LOCK_KEY = 0x6272_6b67;

export function createDataSource(url: string, poolSize = 20): DataSource {
  return new DataSource({
    // migrate() holds one connection for its lock while the migrations run on another.
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    subscribers: [AfterCommitSubscriber],
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    // TypeORM's own error log prints query parameters (reasons, session commands — possibly
    // secrets typed on a command line); failures are logged by the error filter without them.
    logging: false,
    extra: { max: Math.max(poolSize, 2), connectionTimeoutMillis: 5000, application_name: 'breakglass' },
  });
}

/** Runs pending migrations; an advisory lock keeps two instances starting together from racing. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

/** Names of migrations the code knows but the database has not applied. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await dataSource.query('SELECT name FROM migrations').catch((error) => {
    if (error?.driverError?.code === '42P01') return []; // no migrations table yet: nothing applied
    throw error;
  });
  const applied = new Set(rows.map((row) => row.name));
  return MIGRATIONS.map((migration) => migration.name).filter((name) => !applied.has(name));
}

/** Creates the broker's own database on a server reached with superuser rights (embedded mode). */
export async function ensureDatabase(serverUrl: string, name = APPLICATION_DATABASE): Promise<string> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    // Temporary roles of the demo target live on this server: by default every role may connect
    // to every database, and the broker's own is none of their business.
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${client.escapeIdentifier(name)} FROM PUBLIC`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * TypeORM's own pg pool, for what TypeORM's query() cannot send: named (prepared) statements and
 * array rows, on the hot paths where parsing and planning each time showed.
 */
export function pgPoolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}
