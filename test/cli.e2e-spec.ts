import { mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MIGRATIONS } from '../migrations';
import { runCli, spawnService } from './support/service-process';
import { tamperWith, testServerUrl, withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

const scratch = () => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'cli-'));

describe('start-up refuses bad configuration with a message naming the problem', () => {
  it('exits 1 naming a bad environment variable', async () => {
    const service = spawnService({ PORT: 'eighty', BREAKGLASS_DATA_DIR: scratch() });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('PORT: must be an integer port number from 0 to 65535 (got "eighty")');
    expect(service.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('exits 1 listing every policy problem with file and line', async () => {
    const dir = scratch();
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, `targets:\n  - name: db\n    environment: prod\n    credential: { type: jwt }\n    maxDuration: soon\n`);
    const service = spawnService({ BREAKGLASS_POLICY: policy, BREAKGLASS_DATA_DIR: dir });
    expect(await service.exited).toBe(1);
    expect(service.output()).toMatch(/policy\.yaml:5:\d+ targets\[0\]\.maxDuration: must be a duration/);
    expect(service.output()).toMatch(/policy\.yaml:4:\d+ targets\[0\]\.credential\.audience: is required for a jwt credential/);
  });

  it('exits 1 naming a policy variable that is not set', async () => {
    const dir = scratch();
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, `channels:\n  pd: { type: pagerduty, routingKey: '\${PD_ROUTING_KEY}' }\ntargets: []\n`);
    const service = spawnService({ BREAKGLASS_POLICY: policy, BREAKGLASS_DATA_DIR: dir });
    expect(await service.exited).toBe(1);
    expect(service.output()).toMatch(/policy\.yaml:2:\d+ \(interpolation\): environment variable PD_ROUTING_KEY is not set/);
  });
});

describe('breakglass CLI', () => {
  let sut: TestService;
  beforeAll(async () => {
    sut = await startTestService();
  });
  afterAll(() => sut.close());

  it('dev-token prints a token the service accepts with those roles', async () => {
    const { code, stdout, stderr } = await runCli(['dev-token', '--sub', 'oncall-1', '--roles', 'engineer', '--email', 'oncall-1@example.com'], {
      BREAKGLASS_DATA_DIR: sut.dataDir,
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`signed with the dev issuer key \\S+ in ${sut.dataDir}`));
    const token = stdout.trim();
    await sut.http.get('/v1/targets').set('Authorization', `Bearer ${token}`).expect(200);
    await sut.http.get('/v1/audit').set('Authorization', `Bearer ${token}`).expect(403);
  });

  it('dev-token rejects an unknown role with a clear error', async () => {
    const { code, output } = await runCli(['dev-token', '--sub', 'x', '--roles', 'engineer,wizard'], { BREAKGLASS_DATA_DIR: sut.dataDir });
    expect(code).not.toBe(0);
    expect(output).toMatch(/unknown role\(s\) wizard/);
  });

  it('audit verify recomputes the chain through the API, and exits 2 once it is tampered with', async () => {
    const token = await sut.token('auditor-1', ['compliance']);
    const env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: token };
    const ok = await runCli(['--json', 'audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.output)).toMatchObject({ valid: true, count: 1 });

    await tamperWith(sut.database.url, 'audit_events', `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 1`);
    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(2);
    expect(broken.output).toContain('Audit chain BROKEN at seq 1');
  });

  it('audit verify --expect-head catches a tail deleted along with a fixed chain head', async () => {
    const other = await startTestService();
    try {
      const engineer = await other.token('oncall-1', ['engineer']);
      await other.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'prod-cluster', incident: 'INC-3', reason: 'Checking head anchoring from the CLI', durationSeconds: 600 })
        .expect(201);
      const env = { BREAKGLASS_URL: other.url, BREAKGLASS_TOKEN: await other.token('auditor-1', ['compliance']) };
      const exported = (await other.http.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${env.BREAKGLASS_TOKEN}`).expect(200)).body.events;
      const head = exported.at(-1);
      expect(head.seq).toBeGreaterThan(2);
      const anchor = `${head.seq}:${head.hash}`;
      expect((await runCli(['audit', 'verify', '--expect-head', anchor], env)).code).toBe(0);

      // The attacker drops the last event and moves the head row back: no hash needs recomputing.
      await tamperWith(other.database.url, 'audit_events', `DELETE FROM audit_events WHERE seq = $1`, [head.seq]);
      await withClient(other.database.url, (db) => db.query(`UPDATE audit_chain_head SET seq = $1, hash = $2`, [head.seq - 1, exported.at(-2).hash]));
      const unaware = await runCli(['--json', 'audit', 'verify'], env);
      expect(JSON.parse(unaware.output)).toMatchObject({ valid: true }); // why the earlier head is needed
      const anchored = await runCli(['audit', 'verify', '--expect-head', anchor], env);
      expect(anchored.code).toBe(2);
      expect(anchored.output).toContain(`it ends at seq ${head.seq - 1}, before the expected head at seq ${head.seq}: events were removed from its end`);

      const malformed = await runCli(['audit', 'verify', '--expect-head', 'latest'], env);
      expect(malformed.code).not.toBe(0);
      expect(malformed.output).toContain('--expect-head must be SEQ:HASH');
    } finally {
      await other.close();
    }
  });

  it('explains an unreachable broker with a distinct exit code', async () => {
    const { code, output } = await runCli(['audit', 'verify'], { BREAKGLASS_URL: 'http://127.0.0.1:9', BREAKGLASS_TOKEN: 'x' });
    expect(code).toBe(3);
    expect(output).toMatch(/Cannot reach the broker at http:\/\/127\.0\.0\.1:9/);
  });

  it('migrate applies every migration to an empty external database and exits', async () => {
    const name = `bg_migrate_${Date.now()}`;
    await withClient(testServerUrl(), (db) => db.query(`CREATE DATABASE ${name}`));
    const url = new URL(testServerUrl());
    url.pathname = `/${name}`;
    try {
      const { code, output } = await runCli(['migrate'], { DATABASE_URL: url.toString(), BREAKGLASS_DATA_DIR: scratch() });
      expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining('Database is up to date.') });
      const { rows } = await withClient(url.toString(), (db) => db.query(`SELECT name FROM migrations ORDER BY id`));
      expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    } finally {
      await withClient(testServerUrl(), (db) => db.query(`DROP DATABASE ${name} WITH (FORCE)`));
    }
  });
});

describe('breakglass CLI: the grant journey', () => {
  let sut: TestService;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sut = await startTestService();
    env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com') };
  });
  afterAll(() => sut.close());

  it('request prints the grant, how to use the credential and the retro PR reference', async () => {
    const { code, output } = await runCli(
      ['request', '--target', 'prod-cluster', '--incident', 'INC-77', '--reason', 'API server certificates expired, rotating by hand', '--duration', '20m'],
      env,
    );
    expect(code).toBe(0);
    expect(output).toMatch(/^Glass broken: BG-\d{4}-\d{6} on prod-cluster for oncall-1 \(incident INC-77\)/);
    expect(output).toMatch(/export BREAKGLASS_JWT=ey/);
    expect(output).toMatch(/Retroactive PR: mention BG-\d{4}-\d{6} in the title, body or branch of a PR in acme\/infra before /);
  });

  it('request --json, status, extend and revoke', async () => {
    const requested = await runCli(
      [
        '--json',
        'request',
        '--target',
        'prod-cluster',
        '--incident',
        'INC-78',
        '--reason',
        'Node pool autoscaler wedged, scaling by hand',
        '--duration',
        '10m',
      ],
      env,
    );
    const grant = JSON.parse(requested.output);
    expect(grant).toMatchObject({ status: 'active', credential: { type: 'jwt' } });

    const status = await runCli(['status'], env);
    expect(status.output).toMatch(new RegExp(`${grant.id}\\s+active\\s+prod-cluster\\s+oncall-1\\s+INC-78\\s+\\d+m`));

    const extended = await runCli(['extend', grant.id, '--duration', '5m', '--reason', 'Waiting for the new nodes to join'], env);
    expect(extended).toMatchObject({ code: 0, output: expect.stringContaining('New credential — shown once:') });

    const revoked = await runCli(['revoke', grant.id, '--reason', 'Autoscaler fixed'], env);
    expect(revoked.output).toMatch(new RegExp(`^${grant.id} revoked at `));

    // One grant in detail reads as labelled lines, not raw JSON (which --json still gives).
    const detail = await runCli(['status', grant.id], env);
    expect(detail.code).toBe(0);
    expect(detail.output.startsWith(`${grant.id}\n  Target      prod-cluster (production)`)).toBe(true);
    expect(detail.output).toMatch(/\n {2}Status\s+revoked at \S+ by oncall-1: Autoscaler fixed\n/);
    expect(detail.output).toMatch(/\n {2}Extensions\s+\+300s by oncall-1 at \S+: Waiting for the new nodes to join/);
    expect(detail.output).toContain('  Retro PR    mention ' + grant.id);
    expect(detail.output.trim().startsWith('{')).toBe(false);
  });

  it('a denial exits non-zero with the reason', async () => {
    const { code, output } = await runCli(
      ['request', '--target', 'prod-cluster', '--incident', 'nope', '--reason', 'Something is broken somewhere, need access', '--duration', '10m'],
      env,
    );
    expect(code).toBe(1);
    expect(output).toMatch(/Incident "nope" is not an incident id like INC-4821 \(what prod-cluster requires\) \(HTTP 403, incident_invalid\)/);
  });

  it('keys rotate needs an admin', async () => {
    expect((await runCli(['keys', 'rotate'], env)).output).toMatch(/HTTP 403, forbidden_role/);
    const admin = { ...env, BREAKGLASS_TOKEN: await sut.token('admin-1', ['admin']) };
    expect((await runCli(['keys', 'rotate'], admin)).output).toMatch(/^Signing with (RS256|EdDSA) \S+, (RS256|EdDSA) \S+; retired \S+, \S+\./);
  });
});
