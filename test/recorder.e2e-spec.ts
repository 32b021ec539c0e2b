import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { DevIssuer } from '../src/auth/dev-issuer';
import { freePort } from './support/ports';
import { runCli, spawnService, waitUntilReady } from './support/service-process';
import { createTestDatabase, withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

const scratch = (prefix: string) => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', prefix));

const cli = runCli;

describe('recorded commands from the CLI', () => {
  let sut: TestService;
  let env: NodeJS.ProcessEnv;
  let grantId: string;
  let security: string;

  const transcript = async () => (await sut.http.get(`/v1/grants/${grantId}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
  const events = async () => (await sut.http.get(`/v1/grants/${grantId}/events?limit=1000`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;

  beforeAll(async () => {
    sut = await startTestService();
    env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: await sut.token('oncall-1', ['engineer']), BREAKGLASS_HOME: scratch('home-') };
    security = await sut.token('sec-1', ['security']);
    const requested = await cli(
      ['--json', 'request', '--target', 'prod-cluster', '--incident', 'INC-5', '--reason', 'Certificates expired on the API server', '--duration', '30m'],
      env,
    );
    grantId = JSON.parse(requested.output).id;
    const saved = path.join(env.BREAKGLASS_HOME!, 'grants', `${grantId}.json`);
    expect(statSync(saved).mode & 0o777).toBe(0o600);
  });
  afterAll(() => sut.close());

  it('exec records `echo hi` with exit code 0 and `false` with 1, and returns the same codes', async () => {
    expect(await cli(['exec', grantId, '--', 'echo', 'hi'], env)).toMatchObject({ code: 0, output: expect.stringContaining('hi') });
    expect((await cli(['exec', grantId, '--', 'false'], env)).code).toBe(1);
    expect((await cli(['exec', grantId, '--', 'sh', '-c', 'test -n "$BREAKGLASS_JWT" && exit 7'], env)).code).toBe(7);
    const recorded = (await events()).slice(-3).map((e: { command: string; exitCode: number; type: string }) => [e.type, e.command, e.exitCode]);
    expect(recorded).toEqual([
      ['command', 'echo hi', 0],
      ['command', 'false', 1],
      ['command', `sh -c 'test -n "$BREAKGLASS_JWT" && exit 7'`, 7],
    ]);
  });

  it('shell records a scripted bash session in order, with cwd changes, timing and exit codes', async () => {
    const dir = scratch('work-');
    const before = (await events()).length;
    const script = [`cd ${dir}`, 'echo "made by break-glass" > note.txt', 'cat note.txt | wc -l', 'ls /definitely-not-here', 'exit 4', ''].join('\n');
    const { code } = await cli(['shell', grantId], env, script);
    expect(code).toBe(4);
    expect(readFileSync(path.join(dir, 'note.txt'), 'utf8')).toBe('made by break-glass\n');
    const session = (await events()).slice(before) as { type: string; command: string; cwd: string; exitCode: number; startedAt: string; finishedAt: string }[];
    expect(session.map((e) => [e.type, e.command, e.cwd, e.exitCode])).toEqual([
      ['session_start', null, expect.any(String), null],
      ['command', `cd ${dir}`, expect.any(String), 0],
      ['command', 'echo "made by break-glass" > note.txt', dir, 0],
      ['command', 'cat note.txt | wc -l', dir, 0],
      ['command', 'ls /definitely-not-here', dir, 2],
      ['command', 'exit 4', dir, 4],
      ['session_end', null, null, 4],
    ]);
    for (const e of session.filter((x) => x.type === 'command')) expect(Date.parse(e.finishedAt)).toBeGreaterThanOrEqual(Date.parse(e.startedAt));
    expect(await transcript()).toContain(`${dir} $ ls /definitely-not-here → 2`);
  });

  it('leaving the shell with Ctrl-D (end of input) records the last command once; a repeated command twice', async () => {
    const before = (await events()).length;
    const { code } = await cli(['shell', grantId], env, 'echo one\necho two\necho two\n');
    expect(code).toBe(0);
    const session = (await events()).slice(before) as { type: string; command: string | null }[];
    expect(session.map((e) => [e.type, e.command])).toEqual([
      ['session_start', null],
      ['command', 'echo one'],
      ['command', 'echo two'],
      ['command', 'echo two'],
      ['session_end', null],
    ]);
  });

  it('exec of psql on a proxied target records the command line and each statement the server ran', async () => {
    const requested = await cli(
      ['--json', 'request', '--target', 'payments-db', '--incident', 'INC-6', '--reason', 'Ledger rows stuck in pending state', '--duration', '30m'],
      env,
    );
    const dbGrant = JSON.parse(requested.output);
    expect(dbGrant.credential).toMatchObject({ type: 'postgres', access: 'proxy' });
    const human = await cli(['status', dbGrant.id], env);
    expect(human.code).toBe(0);
    const ran = await cli(['exec', dbGrant.id, '--', 'psql', '-XAtc', 'select 41 + 1'], env);
    expect(ran).toMatchObject({ code: 0, output: expect.stringContaining('42') });
    const recorded = async () =>
      (await sut.http.get(`/v1/grants/${dbGrant.id}/events?limit=1000`).set('Authorization', `Bearer ${security}`).expect(200)).body.events as {
        type: string;
        command: string | null;
        exitCode: number | null;
      }[];
    for (let i = 0; i < 50 && (await recorded()).length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await recorded()).map((e) => [e.type, e.command, e.exitCode]).sort()).toEqual(
      [
        ['command', "psql -XAtc 'select 41 + 1'", 0],
        ['sql', 'select 41 + 1', null],
        ['sql.result', null, 0],
      ].sort(),
    );
  });
});

describe('a broker outage during a recorded session', () => {
  jest.setTimeout(90_000);

  it('spools while the broker is down and delivers everything once after it is back', async () => {
    const database = await createTestDatabase();
    const dataDir = scratch('outage-');
    const port = await freePort();
    const serviceEnv = { DATABASE_URL: database.url, BREAKGLASS_DATA_DIR: dataDir, PORT: String(port) };
    const baseUrl = `http://127.0.0.1:${port}`;
    const issuer = await DevIssuer.open(dataDir);
    const env = {
      BREAKGLASS_URL: baseUrl,
      BREAKGLASS_TOKEN: await issuer.mint({ subject: 'oncall-1', roles: ['engineer'] }),
      BREAKGLASS_HOME: scratch('home-'),
    };
    let broker = spawnService(serviceEnv);
    try {
      await waitUntilReady(baseUrl, broker);
      const grantId = JSON.parse(
        (
          await cli(
            ['--json', 'request', '--target', 'prod-cluster', '--incident', 'INC-6', '--reason', 'Rolling back a bad deploy by hand', '--duration', '30m'],
            env,
          )
        ).output,
      ).id;
      expect((await cli(['exec', grantId, '--', 'echo', 'one'], env)).code).toBe(0);

      broker.child.kill('SIGKILL');
      await broker.exited;
      const down = await cli(['exec', grantId, '--', 'echo', 'two'], env);
      expect(down).toMatchObject({ code: 0, output: expect.stringContaining('recorded locally; not sent yet') });
      expect((await cli(['exec', grantId, '--', 'sh', '-c', 'exit 5'], env)).code).toBe(5);
      expect((await cli(['flush'], env)).code).toBe(3);

      broker = spawnService(serviceEnv);
      await waitUntilReady(baseUrl, broker);
      const flushed = await cli(['flush'], env);
      expect(flushed).toMatchObject({ code: 0, output: expect.stringContaining(`${grantId}: 2 event(s) sent`) });
      expect((await cli(['flush'], env)).output).toContain(`${grantId}: 0 event(s) sent`);

      const security = await issuer.mint({ subject: 'sec-1', roles: ['security'] });
      const headers = { authorization: `Bearer ${security}` };
      const log = (await (await fetch(`${baseUrl}/v1/grants/${grantId}/events`, { headers })).json()) as {
        events: { seq: number; command: string; exitCode: number }[];
        gaps: unknown[];
      };
      expect(log.events.map((e) => [e.seq, e.command, e.exitCode])).toEqual([
        [1, 'echo one', 0],
        [2, 'echo two', 0],
        [3, "sh -c 'exit 5'", 5],
      ]);
      expect(log.gaps).toEqual([]);
      const verdict = await (await fetch(`${baseUrl}/v1/grants/${grantId}/events/verify`, { headers })).json();
      expect(verdict).toMatchObject({ valid: true, count: 3 });
      const rows = await withClient(database.url, (db) => db.query('SELECT count(*)::int AS n FROM session_events WHERE grant_id = $1', [grantId]));
      expect(rows.rows[0].n).toBe(3);
    } finally {
      broker.child.kill('SIGTERM');
      await broker.exited;
      await database.drop();
    }
  });
});
