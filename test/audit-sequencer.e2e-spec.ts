import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { startTestService, type TestService } from './support/test-service';
import { until } from './support/until';

// The audit sequencer (P2.5): callers' transactions add unsequenced entries, one integrator at a
// time (advisory lock) sequences them. Checked here with the integrator held off, across a restart
// with a backlog, and with two instances writing at once; the crash suite kills instances mid-batch.

const POLICY = `
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`;
const INTEGRATOR_LOCK = `SELECT pg_advisory_lock(hashtextextended('breakglass:audit-integrator', 0))`;

/** The chain recomputed here from the Part 1 formula with node:crypto (not the product's code). */
async function recomputeChain(db: Client): Promise<{ valid: boolean; count: number; backwardsAt: number[] }> {
  const { rows } = await db.query(
    `SELECT seq::int, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, actor, action, grant_id, target, data_canonical, controls, prev_hash, hash
       FROM audit_events ORDER BY seq`,
  );
  let prev = '0'.repeat(64);
  let valid = true;
  const backwardsAt: number[] = [];
  rows.forEach((row, i) => {
    const canonical = `{"action":${JSON.stringify(row.action)},"actor":${JSON.stringify(row.actor)},"at":${JSON.stringify(row.at)},"controls":${JSON.stringify(row.controls)},"data":${row.data_canonical},"grant":${JSON.stringify(row.grant_id)},"seq":${row.seq},"target":${JSON.stringify(row.target)}}`;
    const hash = createHash('sha256').update(`${prev}\n${canonical}`).digest('hex');
    if (row.seq !== i + 1 || row.prev_hash !== prev || row.hash !== hash) valid = false;
    if (i && row.at < rows[i - 1].at) backwardsAt.push(row.seq);
    prev = row.hash;
  });
  return { valid, count: rows.length, backwardsAt };
}

describe('audit sequencer', () => {
  jest.setTimeout(90_000);
  let sut: TestService;
  let db: Client;
  const others: TestService[] = [];

  const breakGlass = async (service: TestService, who: string) =>
    (
      await service.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${await service.token(who, ['engineer'])}`)
        .send({ target: 'cluster', incident: 'INC-1', reason: 'Exercising the audit sequencer', durationSeconds: 600 })
        .expect(201)
    ).body as { id: string; sessionToken: string };
  const pendingCount = async () => Number((await db.query('SELECT count(*) FROM audit_pending')).rows[0].count);

  beforeAll(async () => {
    sut = await startTestService({ policyYaml: POLICY });
    db = new Client({ connectionString: sut.database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    for (const other of others) await other.close();
    await sut.close(); // owns the database: last
  });

  it('leaves no entry for a rolled-back state change; an unsequenced entry cannot be changed or removed', async () => {
    await sut.auditSettled();
    const holder = new Client({ connectionString: sut.database.url });
    await holder.connect();
    try {
      await holder.query(INTEGRATOR_LOCK); // the integrator cannot claim a batch: entries stay pending
      await db.query(`BEGIN`);
      await db.query(`INSERT INTO audit_pending (actor, action, data_canonical, controls) VALUES ('oncall-1', 'grant.requested', '{}', '{}')`);
      await db.query(`ROLLBACK`);
      expect(await pendingCount()).toBe(0);

      await breakGlass(sut, 'oncall-1');
      expect(await pendingCount()).toBeGreaterThan(0);
      await expect(db.query(`UPDATE audit_pending SET actor = 'someone-else'`)).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(db.query(`DELETE FROM audit_pending`)).rejects.toThrow(/append-only: DELETE refused/);
      await expect(db.query(`TRUNCATE audit_pending`)).rejects.toThrow(/append-only/);
    } finally {
      await holder.end(); // the lock goes with the session
    }
    await until('the backlog sequenced', async () => (await pendingCount()) === 0);
  });

  it("measures sequencing lag from the writer's commit, not from its insert", async () => {
    await sut.auditSettled();
    // Cumulative counts of the lag histogram: observations at or under 1 s, and all of them.
    const lagCounts = async () => {
      const metrics = (await sut.http.get('/metrics').expect(200)).text;
      const count = (pattern: RegExp) => Number(pattern.exec(metrics)![1]);
      return {
        underOneSecond: count(/^breakglass_audit_sequencing_lag_seconds_bucket\{le="1"\} (\d+)/m),
        all: count(/^breakglass_audit_sequencing_lag_seconds_count (\d+)/m),
      };
    };
    const before = await lagCounts();
    // A writer whose transaction stays open 1.5 s after adding its entry: the integrator cannot see
    // the entry before the commit, so its lag is the time after the commit (milliseconds).
    await db.query('BEGIN');
    await db.query(`INSERT INTO audit_pending (actor, action, data_canonical, controls) VALUES ('oncall-1', 'grant.requested', '{}', '{}')`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await db.query('COMMIT');
    // A write outside the broker wakes no integrator: its idle look (every 500 ms) finds the entry.
    await until('the entry sequenced', async () => (await pendingCount()) === 0);
    const after = await lagCounts();
    expect(after.all - before.all).toBe(1);
    expect(after.underOneSecond - before.underOneSecond).toBe(1);
  });
  it('keeps issuing grants while the integrator is held off, says so, and sequences the backlog after a restart', async () => {
    const holder = new Client({ connectionString: sut.database.url });
    await holder.connect();
    await holder.query(INTEGRATOR_LOCK);
    try {
      const grants = await Promise.all(Array.from({ length: 8 }, (_, i) => breakGlass(sut, `oncall-${i}`)));
      expect(await pendingCount()).toBeGreaterThanOrEqual(grants.length);
      const auditor = await sut.token('auditor-1', ['compliance']);
      // A read of the log waits for what was committed before it, then says why it cannot answer.
      const behind = await sut.http.get('/v1/audit?limit=5').set('Authorization', `Bearer ${auditor}`).expect(503);
      expect(behind.body.error).toBe('audit_sequencing_behind');
      const ready = await until('readyz to say the sequencer is behind', async () => {
        const answer = await sut.http.get('/readyz');
        return answer.body.checks.auditSequencer.startsWith('degraded') ? answer : undefined;
      });
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'degraded',
        checks: { auditSequencer: expect.stringMatching(/^degraded: \d+ audit entries wait to be sequenced/) },
      });
      const metrics = (await sut.http.get('/metrics')).text;
      expect(Number(/^breakglass_audit_unsequenced (\d+)/m.exec(metrics)![1])).toBeGreaterThanOrEqual(grants.length);

      // Restart with the backlog: a new instance starts on the same database, the old one stops.
      others.push(await startTestService({ policyYaml: POLICY, alongside: sut }));
      await sut.stop();
      await holder.end();
    } finally {
      await holder.end().catch(() => undefined);
    }
    await until('the backlog sequenced by another instance', async () => (await pendingCount()) === 0);
    const chain = await recomputeChain(db);
    expect(chain).toMatchObject({ valid: true, backwardsAt: [] });
    const activated = await db.query(`SELECT grant_id, count(*)::int AS n FROM audit_events WHERE action = 'grant.activated' GROUP BY 1`);
    const grantIds = (await db.query('SELECT id FROM grants')).rows.map((row) => row.id);
    expect(Object.fromEntries(activated.rows.map((row) => [row.grant_id, row.n]))).toEqual(Object.fromEntries(grantIds.map((id) => [id, 1])));
  });

  it('keeps one valid chain, time never going backwards, with two instances under grant, session and revoke load', async () => {
    const a = others[0];
    const b = await startTestService({ policyYaml: POLICY, alongside: sut });
    others.push(b);
    const security = await a.token('sec-1', ['security']);
    const work = async (service: TestService, n: number) => {
      const grant = await breakGlass(service, `oncall-${n % 5}`);
      const at = new Date().toISOString();
      await service.http
        .post(`/v1/grants/${grant.id}/events`)
        .set('Authorization', `Bearer ${grant.sessionToken}`)
        .send({ events: [1, 2, 3].map((seq) => ({ seq, type: 'command', command: `step ${seq}`, startedAt: at, finishedAt: at, exitCode: 0 })) })
        .expect(200);
      if (n % 2)
        await service.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'Load test over' }).expect(200);
      return grant.id;
    };
    const ids = await Promise.all(Array.from({ length: 40 }, (_, n) => work(n % 2 ? a : b, n)));
    await until('everything sequenced', async () => (await pendingCount()) === 0);
    const chain = await recomputeChain(db);
    expect(chain).toMatchObject({ valid: true, backwardsAt: [] });
    const auditor = await a.token('auditor-1', ['compliance']);
    expect((await b.http.get('/v1/audit/verify').set('Authorization', `Bearer ${auditor}`).expect(200)).body).toMatchObject({
      valid: true,
      count: chain.count,
    });
    const counts = await db.query(
      `SELECT action, count(*)::int AS n FROM audit_events WHERE grant_id = ANY($1) AND action IN ('grant.activated', 'grant.revoked') GROUP BY 1 ORDER BY 1`,
      [ids],
    );
    expect(Object.fromEntries(counts.rows.map((row) => [row.action, row.n]))).toMatchObject({ 'grant.activated': 40, 'grant.revoked': 20 });
    // Every event was made from exactly one entry: none bypassed the sequencer, none was sequenced twice.
    const entries = (await db.query('SELECT count(DISTINCT entry_id)::int AS distinct, count(entry_id)::int AS all FROM audit_events')).rows[0];
    expect(entries).toEqual({ distinct: chain.count, all: chain.count });
  });
});
