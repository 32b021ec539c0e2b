import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { DevIssuer } from '../../src/auth/dev-issuer';
import type { BrokerRole } from '../../src/config/broker-roles';
import { freePort } from './ports';
import { spawnService, waitUntilReady, type ServiceProcess } from './service-process';
import { testCertificate } from './test-certificate';
import { createTestDatabase, withClient } from './test-database';

export interface ChildService {
  url: string;
  http: ReturnType<typeof request>;
  token(subject: string, roles: BrokerRole[], email?: string): Promise<string>;
  /** Rows of a query on the service's database. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  process: ServiceProcess;
  close(): Promise<void>;
}

/**
 * The built service as a process of its own, on its own database and data dir, trusting the test
 * certificate (`NODE_EXTRA_CA_CERTS`, read at process start): for suites whose stand-ins speak HTTPS
 * to clients built on Node's fetch, which an in-process service could not be made to trust.
 */
export async function startChildService(options: { policyYaml: string; env?: NodeJS.ProcessEnv }): Promise<ChildService> {
  const database = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'child-'));
  const policy = path.join(dataDir, 'policy.yaml');
  writeFileSync(policy, options.policyYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnService({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    BREAKGLASS_DATA_DIR: dataDir,
    BREAKGLASS_POLICY: policy,
    BREAKGLASS_PUBLIC_URL: url,
    NODE_EXTRA_CA_CERTS: testCertificate().certFile,
    ...options.env,
  });
  const cleanUp = async () => {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, child);
  } catch (error) {
    child.child.kill('SIGKILL');
    await child.exited;
    await cleanUp();
    throw error;
  }
  const issuer = await DevIssuer.open(dataDir);
  return {
    url,
    http: request(url),
    token: (subject, roles, email) => issuer.mint({ subject, roles, email }),
    query: <T>(sql: string, params: unknown[] = []) => withClient(database.url, async (client) => (await client.query(sql, params)).rows as T[]),
    process: child,
    async close() {
      child.child.kill('SIGTERM');
      await child.exited;
      await cleanUp();
    },
  };
}
