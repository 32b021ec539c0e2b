import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady, type ServiceProcess } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

// The operator's day (issue 20): quiet structured logs, start-up errors that name the variable to
// fix, and several instances on one database.

const scratch = (prefix: string) => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', prefix));
const masterKey = () => randomBytes(32).toString('base64');

interface LogLine {
  time: string;
  level: string;
  pid: number;
  context: string;
  msg: string;
  [field: string]: unknown;
}

/** The built service on a free port, on `databaseUrl`, with a data dir of its own. */
async function startInstance(databaseUrl: string, env: NodeJS.ProcessEnv): Promise<{ service: ServiceProcess; base: string }> {
  const port = await freePort();
  const service = spawnService({ DATABASE_URL: databaseUrl, BREAKGLASS_DATA_DIR: scratch('instance-'), PORT: String(port), ...env });
  return { service, base: `http://127.0.0.1:${port}` };
}

async function stop(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGTERM');
  await service.exited;
}

describe('the service log', () => {
  jest.setTimeout(60_000);
  let database: TestDatabase;
  const key = masterKey(); // both runs share the database, so its sealed keys
  beforeAll(async () => (database = await createTestDatabase()));
  afterAll(() => database.drop());

  it('is one JSON shape with ISO times, a short boot summary, no probe lines at info, and a shutdown line', async () => {
    const { service, base } = await startInstance(database.url, { LOG_LEVEL: 'log', BREAKGLASS_KEY: key });
    await waitUntilReady(base, service);
    for (let i = 0; i < 5; i++) await fetch(`${base}/healthz`);
    await fetch(`${base}/metrics`);
    const notFound = await fetch(`${base}/v1/nothing-here`);
    expect(notFound.status).toBe(404);
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    await stop(service);

    const lines = service
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
    for (const line of lines) {
      expect(Object.keys(line).slice(0, 5)).toEqual(['time', 'level', 'pid', 'context', 'msg']);
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(typeof line.msg).toBe('string');
      expect(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).toContain(line.level);
    }
    const contexts = lines.map((line) => line.context);
    for (const framework of ['RouterExplorer', 'RoutesResolver', 'InstanceLoader', 'NestFactory']) expect(contexts).not.toContain(framework);
    const boot = lines.slice(0, lines.findIndex((line) => line.msg.startsWith('breakglass listening on')) + 1);
    expect(boot.length).toBeGreaterThan(0);
    expect(boot.length).toBeLessThanOrEqual(6);
    expect(boot.at(-1)).toMatchObject({ level: 'info', context: 'service', auth: 'dev', database: 'external', url: base });
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.map((line) => line.path)).toEqual(['/v1/nothing-here']); // probes and scrapes only at debug; the dashboard is not logged
    expect(lines.at(-2)).toMatchObject({ context: 'service', msg: 'shutting down (SIGTERM)' });
    expect(lines.at(-1)).toMatchObject({ context: 'service', msg: 'stopped' });
  });

  it('logs probe requests at LOG_LEVEL=debug', async () => {
    const { service, base } = await startInstance(database.url, { LOG_LEVEL: 'debug', BREAKGLASS_KEY: key });
    await waitUntilReady(base, service);
    await stop(service);
    const probes = service
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"msg":"request"') && line.includes('"path":"/readyz"'));
    expect(probes.length).toBeGreaterThan(0);
    expect(JSON.parse(probes[0])).toMatchObject({ level: 'debug', context: 'http', status: 200 });
  });
});

describe('start-up problems an operator can fix', () => {
  jest.setTimeout(60_000);

  it('a DATABASE_URL the broker cannot reach is named, without its password and without a stack trace', async () => {
    const closed = await freePort();
    const service = spawnService({ DATABASE_URL: `postgres://broker:s3cret-pw@127.0.0.1:${closed}/breakglass`, BREAKGLASS_DATA_DIR: scratch('db-') });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toContain(`DATABASE_URL: cannot connect to postgres://broker:***@127.0.0.1:${closed}/breakglass: `);
    expect(service.output()).not.toContain('s3cret-pw');
    expect(service.output()).not.toMatch(/\n\s+at /);
  });

  it('two instances on one database: a different master key is refused naming BREAKGLASS_KEY; with the same key both serve', async () => {
    const database = await createTestDatabase();
    const key = masterKey();
    const instance = (masterKeyValue: string) => startInstance(database.url, { BREAKGLASS_KEY: masterKeyValue });
    const first = await instance(key);
    try {
      await waitUntilReady(first.base, first.service);
      const stranger = await instance(masterKey());
      expect(await stranger.service.exited).toBe(1);
      expect(stranger.service.stderr()).toContain('The database holds keys sealed with a different master key than this instance');
      expect(stranger.service.stderr()).toContain('Every instance that shares a database must run with the same BREAKGLASS_KEY');
      expect(stranger.service.stderr()).not.toContain('Unsupported state or unable to authenticate data');
      expect(stranger.service.output()).not.toMatch(/\n\s+at /);

      const second = await instance(key);
      try {
        await waitUntilReady(second.base, second.service);
        // Both answer from the same keys: the same JWKS, the same signed checkpoint key.
        const [a, b] = await Promise.all([first.base, second.base].map((base) => fetch(`${base}/.well-known/jwks.json`).then((r) => r.json())));
        expect(b).toEqual(a);
      } finally {
        await stop(second.service);
      }
    } finally {
      await stop(first.service);
      await database.drop();
    }
  });
});
