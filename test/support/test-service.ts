import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { AuditLog } from '../../src/audit/audit-log.service';
import { DevIssuer } from '../../src/auth/dev-issuer';
import type { BrokerRole } from '../../src/config/broker-roles';
import { startService, type RunningService } from '../../src/service';
import { ResponseContract } from './response-contract';
import { createTestDatabase, type TestDatabase } from './test-database';

export const EXAMPLE_POLICY = path.resolve(__dirname, '../../examples/policy.yaml');

export interface TestService extends RunningService {
  database: TestDatabase;
  dataDir: string;
  http: ReturnType<typeof request>;
  /** Every JSON answer checked against the served OpenAPI document; close() fails on a violation. */
  contract: ResponseContract;
  /** A dev-issuer bearer token for this service. */
  token(subject: string, roles: BrokerRole[], email?: string): Promise<string>;
  /** Waits until every audit entry committed so far is sequenced (before reading audit_events in SQL). */
  auditSettled(): Promise<void>;
  close(): Promise<void>;
}

/** Boots the real service (AppModule, auth, migrations) on its own database and data dir. */
export async function startTestService(
  options: { policyYaml?: string; env?: NodeJS.ProcessEnv; /** another instance on the same database and data dir */ alongside?: TestService } = {},
): Promise<TestService> {
  const database = options.alongside?.database ?? (await createTestDatabase());
  const dataDir = options.alongside?.dataDir ?? mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'data-'));
  let policyPath = EXAMPLE_POLICY;
  if (options.policyYaml) {
    policyPath = path.join(dataDir, 'policy.yaml');
    writeFileSync(policyPath, options.policyYaml);
  }
  const service = await startService({
    PATH: process.env.PATH,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: database.url,
    BREAKGLASS_DATA_DIR: dataDir,
    BREAKGLASS_POLICY: policyPath,
    // Suites create grants and post webhooks far faster than people do; test/rate-limit.e2e-spec.ts
    // checks the limits themselves.
    BREAKGLASS_RATE_LIMIT_GRANTS: '0',
    BREAKGLASS_RATE_LIMIT_WEBHOOKS: '0',
    // Many services run at once: each proxy on a port of its own (credentials carry the real one).
    BREAKGLASS_PG_PROXY_PORT: '0',
    ...options.env,
  });
  const issuer = await DevIssuer.open(dataDir);
  const server = service.app.getHttpServer();
  const contract = new ResponseContract((await request(server).get('/openapi.json').expect(200)).body);
  contract.watch(server);
  return {
    ...service,
    database,
    dataDir,
    contract,
    http: request(server),
    token: (subject, roles, email) => issuer.mint({ subject, roles, email }),
    auditSettled: () => service.app.get(AuditLog).settled(),
    async close() {
      await service.stop();
      if (!options.alongside) {
        // the first instance owns the database and data dir
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      if (contract.violations.length) throw new Error(`Answers that break the OpenAPI document:\n${contract.report()}`);
    },
  };
}

/** Rows in a table of the service's database (to show a refused or ignored request stored nothing); audit entries counted once sequenced. */
export async function countRows(sut: Pick<TestService, 'dataSource' | 'auditSettled'>, table: string): Promise<number> {
  if (table === 'audit_events') await sut.auditSettled();
  return Number((await sut.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
}
