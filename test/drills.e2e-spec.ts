import canonicalize from 'canonicalize';
import { compactVerify, createLocalJWKSet } from 'jose';
import { freePort } from './support/ports';
import { runCli } from './support/service-process';
import { recomputeSessionChain } from './support/session-chain';
import { SmtpSink } from './support/smtp-sink';
import { startTestService, type TestService } from './support/test-service';
import { sleep, until } from './support/until';

// Break-glass drills (docs/drills.md) against the broker's own PostgreSQL server as the target,
// through the recording proxy, with a real SMTP server receiving the [DRILL] notices.

type Step = { target: string; step: string; outcome: string; ms: number; detail: Record<string, unknown>; error: string | null };
type Run = {
  id: number;
  drill: string;
  trigger: string;
  scheduledFor: string | null;
  status: string;
  failedStep: string | null;
  steps: Step[];
  grants: string[];
};
type AuditEvent = {
  seq: number;
  action: string;
  actor: string;
  grant: string | null;
  target: string | null;
  data: Record<string, unknown>;
  controls: string[];
};

const policyYaml = (schedule: string, extra = '') => `
notify: { security: [security-mail] }
channels:
  drill-mail: { type: email, to: [drills@example.com] }
  security-mail: { type: email, to: [security@example.com] }
  ops-mail: { type: email, to: [ops@example.com] }
targets:
  - name: ledger-db
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [drill_ledger_rw] }
    notifyOnUse: [ops-mail]
${extra}
drills:
  - name: ledger-weekly
    targets: [ledger-db]
    schedule: '${schedule}'
    notify: [drill-mail]
    timeout: 30s
`;

describe('break-glass drills', () => {
  jest.setTimeout(120_000);
  let smtp: SmtpSink;

  beforeAll(async () => {
    smtp = new SmtpSink(await freePort());
    await smtp.start();
  });
  afterAll(() => smtp.stop());

  const env = () => ({ SMTP_URL: smtp.url, SMTP_FROM: 'breakglass <breakglass@example.com>' });
  const mailsTo = (address: string) => smtp.received.filter((mail) => mail.to.includes(address));

  async function auditOf(sut: TestService, token: string, query: string): Promise<AuditEvent[]> {
    return (await sut.http.get(`/v1/audit?${query}&limit=1000`).set('Authorization', `Bearer ${token}`).expect(200)).body.events;
  }

  it('runs on a 2 s schedule: every step audited, the login worked during and was refused after, [DRILL] mail to the drill audience, no clocks, a bundle that verifies', async () => {
    const cluster = `
  - name: ledger-direct
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [drill_ledger_rw] }
    access: direct
    notifyOnUse: [ops-mail]
  - name: ops-cluster
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: [breakglass-admins] }
    notifyOnUse: [ops-mail]`;
    const yaml = policyYaml('*/2 * * * * *', cluster).replace('targets: [ledger-db]', 'targets: [ledger-db, ledger-direct, ops-cluster]');
    const sut = await startTestService({ policyYaml: yaml, env: env() });
    try {
      const security = await sut.token('sec-1', ['security']);
      const passed: Run = await until(
        'a passed scheduled drill',
        async () => {
          const overview = (await sut.http.get('/v1/drills').set('Authorization', `Bearer ${security}`).expect(200)).body;
          return (overview.runs as Run[]).find((run) => run.status === 'passed');
        },
        60_000,
      );
      expect(passed).toMatchObject({ drill: 'ledger-weekly', trigger: 'schedule', failedStep: null });
      expect(new Date(passed.scheduledFor!).getUTCSeconds() % 2).toBe(0);
      expect(passed.steps.map((s) => `${s.target}:${s.step}:${s.outcome}`)).toEqual([
        'ledger-db:policy:passed',
        'ledger-db:credential:passed',
        'ledger-db:login:passed',
        'ledger-db:recorded:passed',
        'ledger-db:revoke:passed',
        'ledger-db:dead:passed',
        'ledger-direct:policy:passed',
        'ledger-direct:credential:passed',
        'ledger-direct:login:passed',
        'ledger-direct:recorded:passed',
        'ledger-direct:revoke:passed',
        'ledger-direct:dead:passed',
        'ops-cluster:policy:passed',
        'ops-cluster:credential:passed',
        'ops-cluster:login:passed',
        'ops-cluster:recorded:passed',
        'ops-cluster:revoke:passed',
        'ops-cluster:dead:passed',
        '*:notifications:passed',
        'ledger-db:evidence:passed',
        'ledger-direct:evidence:passed',
        'ops-cluster:evidence:passed',
      ]);
      const detailOf = (target: string, step: string) => passed.steps.find((s) => s.target === target && s.step === step)!.detail;
      expect(detailOf('ledger-db', 'login')).toMatchObject({ access: 'proxy' });
      expect(detailOf('ledger-db', 'dead').refused).toBe('28P01');
      // A direct login is the target's own role: the drill records its statement as the CLI would, and the dropped role is refused.
      expect(detailOf('ledger-direct', 'login')).toMatchObject({ access: 'direct' });
      expect(detailOf('ledger-direct', 'recorded')).toMatchObject({ by: 'drill', type: 'command' });
      expect(detailOf('ledger-direct', 'dead').refused).toMatch(/^28/);
      // The token was checked against the published JWKS (RS256, the default) and by introspection, then refused by it.
      expect(detailOf('ops-cluster', 'login')).toMatchObject({ alg: 'RS256', introspection: 'active' });
      expect(detailOf('ops-cluster', 'dead')).toEqual({ introspection: 'inactive' });
      expect(passed.grants).toHaveLength(3);
      const [grantId] = passed.grants;

      // Audited: started and passed with the testing controls, each step's timing in the event.
      const drillEvents = [...(await auditOf(sut, security, 'action=drill.started')), ...(await auditOf(sut, security, 'action=drill.passed'))].filter(
        (e) => e.data.run === passed.id,
      );
      expect(drillEvents.map((e) => e.action)).toEqual(['drill.started', 'drill.passed']);
      for (const event of drillEvents)
        expect(event.controls).toEqual(expect.arrayContaining(['NIST-800-53:CP-4', 'NIST-800-53:IR-3', 'SOC2:CC7.5', 'SOC2:CC9.1', 'ISO27001-2022:A.5.30']));
      expect((drillEvents[1].data.steps as Step[]).map((s) => s.step)).toEqual(passed.steps.map((s) => s.step));

      // The proxy saw the login work, and refused it after the revocation (its own audit events).
      const grant = (await sut.http.get(`/v1/grants/${grantId}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(grant).toMatchObject({ requester: 'system:drill', status: 'revoked', endedBy: 'system:drill', drill: { name: 'ledger-weekly', run: passed.id } });
      expect(grant.retroPr.dueAt).toBeNull();
      const grantEvents = await auditOf(sut, security, `grant=${grantId}`);
      const actions = grantEvents.map((e) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining(['grant.requested', 'grant.activated', 'credential.issued', 'proxy.session_opened', 'grant.revoked', 'session.sealed']),
      );
      const opened = grantEvents.find((e) => e.action === 'proxy.session_opened')!;
      const revoked = grantEvents.find((e) => e.action === 'grant.revoked')!;
      expect(opened.seq).toBeLessThan(revoked.seq);
      const refused = (await auditOf(sut, security, 'action=proxy.login_refused')).filter((e) => e.data.username === grant.credential.username);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused[0].seq).toBeGreaterThan(revoked.seq);

      // No SLA clocks for a drill.
      await sut.auditSettled();
      const [clocks] = await sut.dataSource.query(`SELECT count(*)::int AS n FROM sla_clocks WHERE grant_id = ANY($1)`, [passed.grants]);
      expect(clocks.n).toBe(0);

      // [DRILL] notices to the drill's audience, none to the target's real one.
      const drillMails = mailsTo('drills@example.com').filter((mail) => mail.subject.includes(grantId));
      expect(drillMails.map((mail) => mail.subject)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\[breakglass\] \[DRILL\] .*glass broken/),
          expect.stringMatching(/^\[breakglass\] \[DRILL\] .*revoked/),
        ]),
      );
      expect(mailsTo('ops@example.com').filter((mail) => mail.subject.includes(grantId))).toEqual([]);

      // The drill's evidence bundle verifies, checked here with code of our own.
      const compliance = await sut.token('aud-1', ['compliance']);
      const file = (await sut.http.get(`/v1/grants/${grantId}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
      const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
      const { payload } = await compactVerify(file.jws, createLocalJWKSet(jwks));
      expect(new TextDecoder().decode(payload)).toBe(canonicalize(file.bundle));
      const statement = file.bundle.session.events.find((e: { type: string }) => e.type === 'sql');
      expect(statement.command).toBe('select 1 as breakglass_drill');
      expect(recomputeSessionChain(file.bundle.session.events)).toBe(file.bundle.session.headHash);
      expect(file.bundle.sla).toEqual([]);

      // The compliance report lists the period's drills and each target's last passed one; drill grants are not counted as grants.
      const range = `from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}`;
      const report = (await sut.http.get(`/v1/reports/compliance?${range}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
      expect(report.grants.total).toBe(0);
      expect(report.perGrant).toEqual([]);
      expect(report.drills.runs.map((r: Run) => r.id)).toContain(passed.id);
      expect(report.drills.passed).toBeGreaterThanOrEqual(1);
      expect(report.drills.lastPassedByTarget.map((t: { target: string; run: number | null }) => t.target)).toEqual([
        'ledger-db',
        'ledger-direct',
        'ops-cluster',
      ]);
      expect(report.drills.lastPassedByTarget.every((t: { run: number | null }) => t.run !== null && t.run >= passed.id)).toBe(true);
      const html = (await sut.http.get(`/v1/reports/compliance?${range}&format=html`).set('Authorization', `Bearer ${compliance}`).expect(200)).text;
      expect(html).toContain('Last passed drill per target');
      expect(html).toMatch(new RegExp(`<td>${passed.id}</td><td>ledger-weekly</td><td>schedule</td>`));
    } finally {
      await sut.close();
    }
  });

  it('fails at the credential step when the admin URL is wrong: security told once, no grant and no role left', async () => {
    const broken = `
  - name: broken-db
    environment: production
    credential: { type: postgres, adminUrl: 'postgres://postgres:wrong-password@127.0.0.1:1/postgres', grantRoles: [drill_ledger_rw] }
    notifyOnUse: [ops-mail]`;
    const yaml = policyYaml('0 0 1 1 *', broken).replace('targets: [ledger-db]', 'targets: [broken-db]');
    const sut = await startTestService({ policyYaml: yaml, env: env() });
    try {
      const rolesBefore = (await sut.dataSource.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'bg\\_%'`))[0].n;
      const admin = await sut.token('admin-1', ['admin']);
      const cli = await runCli(['drill', 'run', 'ledger-weekly'], { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: admin });
      expect(cli.code).toBe(2);
      expect(cli.stdout).toMatch(/FAILED at credential on broken-db/);
      const security = await sut.token('sec-1', ['security']);
      const [run] = (await sut.http.get('/v1/drills').set('Authorization', `Bearer ${security}`).expect(200)).body.runs as Run[];
      expect(run).toMatchObject({ trigger: 'manual', status: 'failed', failedStep: 'credential', grants: [] });
      expect(run.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['policy:passed', 'credential:failed']);

      const failedEvents = (await auditOf(sut, security, 'action=drill.failed')).filter((e) => e.data.run === run.id);
      expect(failedEvents).toHaveLength(1);
      expect(failedEvents[0].data).toMatchObject({ failedStep: 'credential', failedTarget: 'broken-db' });
      await until('the security notice', () =>
        mailsTo('security@example.com').some((mail) => mail.subject.includes(`run`) || mail.subject.includes('broken-db')),
      );
      await sleep(1500);
      const notices = mailsTo('security@example.com').filter((mail) =>
        /\[DRILL\] drill ledger-weekly failed at step credential on broken-db/.test(mail.subject),
      );
      expect(notices).toHaveLength(1);

      expect((await sut.dataSource.query(`SELECT count(*)::int AS n FROM grants WHERE drill_run = $1`, [run.id]))[0].n).toBe(0);
      expect((await sut.dataSource.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'bg\\_%'`))[0].n).toBe(rolesBefore);

      // Only admins run drills; an unknown drill is a 404 that runs nothing.
      for (const role of ['security', 'compliance', 'engineer'] as const) {
        const caller = await sut.token(`${role}-1`, [role]);
        expect((await sut.http.post('/v1/drills/ledger-weekly/run').set('Authorization', `Bearer ${caller}`).expect(403)).body.error).toBe('forbidden_role');
      }
      const engineer = await sut.token('oncall-1', ['engineer']);
      await sut.http.get('/v1/drills').set('Authorization', `Bearer ${engineer}`).expect(403);
      const listed = await runCli(['drill', 'list'], { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: security });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/ledger-weekly +0 0 1 1 \* +\(UTC\) +next \d{4}-01-01T00:00:00\.000Z +targets: broken-db/);
      expect(listed.stdout).toMatch(new RegExp(`broken-db +last failed .*\\(ledger-weekly #${run.id}\\); last passed never`));
      expect(listed.stdout).toMatch(new RegExp(`#${run.id} +ledger-weekly +manual .* failed at credential: `));
      const unknown = await sut.http.post('/v1/drills/nightly/run').set('Authorization', `Bearer ${admin}`).expect(404);
      expect(unknown.body.error).toBe('drill_unknown');
      expect((await sut.dataSource.query(`SELECT count(*)::int AS n FROM drill_runs`))[0].n).toBe(1);
    } finally {
      await sut.close();
    }
  });

  it('times out at the step that hangs (a notice that cannot be delivered), revokes its grant and tells security which step', async () => {
    const yaml = policyYaml('0 0 1 1 *')
      .replace(
        '  ops-mail: { type: email, to: [ops@example.com] }',
        "  ops-mail: { type: email, to: [ops@example.com] }\n  dead-hook: { type: webhook, url: 'http://127.0.0.1:9/drills' }",
      )
      .replace('notify: [drill-mail]', 'notify: [dead-hook]')
      .replace('timeout: 30s', 'timeout: 4s');
    const sut = await startTestService({ policyYaml: yaml, env: env() });
    try {
      const admin = await sut.token('admin-1', ['admin']);
      const run: Run = (await sut.http.post('/v1/drills/ledger-weekly/run').set('Authorization', `Bearer ${admin}`).expect(200)).body;
      expect(run).toMatchObject({ status: 'failed', failedStep: 'notifications' });
      expect(run.steps.find((s) => s.step === 'notifications')!.error).toMatch(/not delivered in time: glass_broken to dead-hook/);
      const security = await sut.token('sec-1', ['security']);
      const grant = (await sut.http.get(`/v1/grants/${run.grants[0]}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(grant).toMatchObject({ status: 'revoked', endedBy: 'system:drill' });
      await until('the security notice', () => mailsTo('security@example.com').find((mail) => mail.subject.includes('failed at step notifications')));
    } finally {
      await sut.close();
    }
  });

  it('runs a fire time missed while every instance was down once at start, and not again', async () => {
    // Yearly (1 January, 00:00 UTC): no fire time falls inside the test itself.
    const yaml = policyYaml('0 0 1 1 *');
    const first = await startTestService({ policyYaml: yaml, env: env() });
    const instances = [first];
    try {
      await sleep(500);
      expect((await first.dataSource.query(`SELECT count(*)::int AS n FROM drill_runs`))[0].n).toBe(0);
      // As if the drill had been in the policy for two years, with no instance up at the fire times.
      await first.dataSource.query(`UPDATE drill_schedules SET registered_at = now() - interval '2 years'`);
      instances.push(await startTestService({ policyYaml: yaml, env: env(), alongside: first }));
      const security = await first.token('sec-1', ['security']);
      const caughtUp: Run = await until(
        'the catch-up run',
        async () =>
          ((await first.http.get('/v1/drills').set('Authorization', `Bearer ${security}`).expect(200)).body.runs as Run[]).find((r) => r.status !== 'running'),
        30_000,
      );
      const lastFire = `${new Date().getUTCFullYear()}-01-01T00:00:00.000Z`;
      expect(caughtUp).toMatchObject({ trigger: 'catch_up', scheduledFor: lastFire, status: 'passed' });
      instances.push(await startTestService({ policyYaml: yaml, env: env(), alongside: first }));
      await sleep(1500);
      expect((await first.dataSource.query(`SELECT count(*)::int AS n FROM drill_runs`))[0].n).toBe(1);
    } finally {
      for (const instance of instances.reverse()) await instance.close();
    }
  });

  it('two instances: each scheduled fire time runs once', async () => {
    const first = await startTestService({ policyYaml: policyYaml('*/2 * * * * *'), env: env() });
    const second = await startTestService({ policyYaml: policyYaml('*/2 * * * * *'), env: env(), alongside: first });
    try {
      await until(
        'three finished scheduled runs',
        async () => (await first.dataSource.query(`SELECT count(*)::int AS n FROM drill_runs WHERE status <> 'running'`))[0].n >= 3,
        60_000,
      );
    } finally {
      await second.close();
    }
    try {
      await first.auditSettled();
      const runs: { id: number; scheduledFor: Date; status: string }[] = await first.dataSource.query(
        `SELECT id::int, scheduled_for AS "scheduledFor", status FROM drill_runs WHERE trigger = 'schedule' ORDER BY id`,
      );
      const fireTimes = runs.map((run) => run.scheduledFor.toISOString());
      expect(new Set(fireTimes).size).toBe(fireTimes.length);
      // The first instance goes on drilling: compare what existed at the first read.
      const seen = runs.map((run) => run.id);
      const started = await first.dataSource.query(
        `SELECT (data_canonical::jsonb->>'run')::int AS run FROM audit_events WHERE action = 'drill.started' AND (data_canonical::jsonb->>'run')::int <= $1 ORDER BY seq`,
        [Math.max(...seen)],
      );
      expect(started.map((row: { run: number }) => row.run).sort((a: number, b: number) => a - b)).toEqual(seen);
      const passed = runs.filter((run) => run.status === 'passed').map((run) => run.id);
      expect(passed.length).toBeGreaterThanOrEqual(2);
      const grantsPerRun = await first.dataSource.query(
        `SELECT drill_run::int AS run, count(*)::int AS n FROM grants WHERE drill_run = ANY($1) GROUP BY 1 ORDER BY 1`,
        [passed],
      );
      expect(grantsPerRun).toEqual(passed.map((run) => ({ run, n: 1 })));
      // A run cut short by its instance stopping revoked its grant: none is left active but the current run's.
      const leftActive = await first.dataSource.query(
        `SELECT g.id FROM grants g JOIN drill_runs r ON r.id = g.drill_run WHERE g.status = 'active' AND r.status <> 'running'`,
      );
      expect(leftActive).toEqual([]);
    } finally {
      await first.close();
    }
  });
});
