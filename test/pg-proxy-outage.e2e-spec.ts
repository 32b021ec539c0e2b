import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ensureDatabase } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './support/ports';
import { recomputeSessionChain } from './support/session-chain';
import { startTargetServer, type TargetServer } from './support/target-server';
import { withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

// The broker's own database goes away while engineers work through the proxy: strict recording
// refuses statements it cannot record (the target never sees them), best-effort lets them run and
// marks what it lost. Both connections stay usable.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recording while the broker database is down', () => {
  jest.setTimeout(120_000);
  let brokerDatabase: EmbeddedPostgres;
  let clusterDir: string;
  let brokerPort: number;
  let target: TargetServer;
  let sut: TestService;

  beforeAll(async () => {
    clusterDir = path.join(mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'proxy-outage-')), 'pg');
    brokerPort = await freePort();
    brokerDatabase = new EmbeddedPostgres({ clusterDir, port: brokerPort, throwaway: true });
    const databaseUrl = await ensureDatabase(await brokerDatabase.start());
    target = await startTargetServer();
    await withClient(target.adminUrl, async (db) => {
      await db.query('CREATE DATABASE payments');
      await db.query('CREATE ROLE payments_rw NOLOGIN');
    });
    await withClient(target.urlOf('payments'), (db) =>
      db.query('CREATE TABLE probe (n int); GRANT USAGE ON SCHEMA public TO payments_rw; GRANT ALL ON probe TO payments_rw'),
    );
    sut = await startTestService({
      env: { DATABASE_URL: databaseUrl },
      policyYaml: `
targets:
  - { name: strict-db, environment: production, credential: { type: postgres, adminUrl: '${target.adminUrl}', database: payments, grantRoles: [payments_rw] } }
  - { name: fast-db, environment: production, credential: { type: postgres, adminUrl: '${target.adminUrl}', database: payments, grantRoles: [payments_rw] }, recording: best-effort }
`,
    });
  });
  afterAll(async () => {
    await sut?.close();
    await brokerDatabase?.stop();
    await target?.stop();
  });

  const probe = async () => (await withClient(target.urlOf('payments'), (db) => db.query('SELECT n FROM probe ORDER BY n'))).rows.map((row) => row.n);

  it('refuses unrecordable statements with 57P03 in strict mode, runs and marks them in best-effort, and both connections recover', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    const security = await sut.token('sec-1', ['security']);
    const grants = await Promise.all(
      ['strict-db', 'fast-db'].map(
        async (name) =>
          (
            await sut.http
              .post('/v1/grants')
              .set('Authorization', `Bearer ${engineer}`)
              .send({ target: name, incident: 'INC-9', reason: 'Writing probes during an outage', durationSeconds: 600 })
              .expect(201)
          ).body,
      ),
    );
    const [strict, fast] = grants.map((grant) => new Client({ connectionString: grant.credential.url }));
    await Promise.all([strict.connect(), fast.connect()]);
    await strict.query('INSERT INTO probe VALUES (1)');
    await fast.query('INSERT INTO probe VALUES (100)');
    // Best-effort records trail the statement: let the first ones land before the outage.
    for (let i = 0; i < 100; i++) {
      const counts = await sut.dataSource.query(`SELECT count(*)::int AS n FROM session_events WHERE grant_id = ANY($1)`, [grants.map((g) => g.id)]);
      if (counts[0].n >= 4) break;
      await sleep(50);
    }

    await brokerDatabase.stop();
    await expect(strict.query('INSERT INTO probe VALUES (2)')).rejects.toMatchObject({
      code: '57P03',
      message: 'breakglass: statement not recorded, so not sent',
    });
    await expect(strict.query('INSERT INTO probe VALUES ($1)', [3])).rejects.toMatchObject({ code: '57P03' });
    await fast.query('INSERT INTO probe VALUES (101)'); // best-effort: it runs
    expect(await probe()).toEqual([1, 100, 101]); // the target never saw 2 or 3

    brokerDatabase = new EmbeddedPostgres({ clusterDir, port: brokerPort, throwaway: true });
    await brokerDatabase.start();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = await strict.query('INSERT INTO probe VALUES (4)').then(
        () => true,
        (error: { code?: string }) => {
          if (error.code !== '57P03') throw error;
          return false;
        },
      );
      if (!recovered) await sleep(100);
    }
    expect(recovered).toBe(true);
    await fast.query('INSERT INTO probe VALUES (102)');
    await Promise.all([strict.end(), fast.end()]);
    expect(await probe()).toEqual([1, 4, 100, 101, 102]);

    const recordsOf = async (grantId: string) => {
      for (let i = 0; ; i++) {
        const events = (await sut.http.get(`/v1/grants/${grantId}/events?limit=1000`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
        if (events.filter((e: { type: string }) => e.type === 'sql.result').length >= 2 || i > 50)
          return events as { type: string; command: string | null; detail: Record<string, unknown> | null; prevHash: string; hash: string }[];
        await sleep(100);
      }
    };
    const strictRecords = await recordsOf(grants[0].id);
    expect(strictRecords.filter((r) => r.type === 'sql').map((r) => r.command)).toEqual(['INSERT INTO probe VALUES (1)', 'INSERT INTO probe VALUES (4)']);
    const fastRecords = await recordsOf(grants[1].id);
    expect(fastRecords.filter((r) => r.type === 'sql').map((r) => r.command)).toEqual(['INSERT INTO probe VALUES (100)', 'INSERT INTO probe VALUES (102)']);
    const gap = fastRecords.find((r) => r.type === 'gap');
    expect(gap?.detail).toMatchObject({ lost: 2, reason: expect.stringMatching(/could not be written/) });
    for (const records of [strictRecords, fastRecords]) recomputeSessionChain(records);
  });
});
