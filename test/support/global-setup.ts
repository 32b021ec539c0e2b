import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createDataSource, ensureDatabase, migrate } from '../../src/database/data-source';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './ports';

export const TEMPLATE_DATABASE = 'breakglass_template';

/**
 * One throwaway PostgreSQL cluster for the whole run, started outside the worker sandbox. A
 * template database is migrated once; each test file clones it (test-database.ts), so files run in
 * parallel without sharing state.
 */
export default async function globalSetup(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'breakglass-test-'));
  const server = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: await freePort(), throwaway: true });
  const serverUrl = await server.start();
  const templateUrl = await ensureDatabase(serverUrl, TEMPLATE_DATABASE);
  const dataSource = createDataSource(templateUrl, 2);
  await dataSource.initialize();
  await migrate(dataSource);
  await dataSource.destroy();
  (globalThis as Record<string, unknown>).__breakglassTestServer = { server, root };
  // Workers are forked after this, so they inherit these.
  process.env.BREAKGLASS_TEST_PG_URL = serverUrl;
  process.env.BREAKGLASS_TEST_ROOT = root;
}
