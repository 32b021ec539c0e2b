import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

const TEMPLATE_DATABASE = 'breakglass_template';

export interface TestDatabase {
  name: string;
  /** URL of this database as the cluster superuser (tests use it to tamper, as an attacker would). */
  url: string;
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  const url = process.env.BREAKGLASS_TEST_PG_URL;
  if (!url) throw new Error('BREAKGLASS_TEST_PG_URL is not set: run the tests with jest (globalSetup starts PostgreSQL)');
  return url;
}

/** A fresh, migrated database for one test file, cloned from the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const name = `bg_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * What an attacker with superuser rights would do to an append-only table: switch its triggers off,
 * edit, switch them back on.
 */
export function tamperWith(url: string, table: 'audit_events' | 'session_events' | 'audit_tree_nodes', sql: string, values: unknown[] = []): Promise<void> {
  return withClient(url, async (db) => {
    await db.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    try {
      await db.query(sql, values);
    } finally {
      await db.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    }
  });
}
