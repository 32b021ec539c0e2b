import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { DevIssuer } from '../src/auth/dev-issuer';
import { EmbeddedPostgres, restoreSymlinks } from '../src/database/embedded-postgres';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady } from './support/service-process';

const scratch = () => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'embedded-'));

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe(EmbeddedPostgres.name, () => {
  it('initialises once and keeps data across a stop and restart on the same data dir', async () => {
    const clusterDir = path.join(scratch(), 'pg');
    const port = await freePort();
    const first = new EmbeddedPostgres({ clusterDir, port, throwaway: true });
    const url = await first.start();
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TABLE kept (v text)`);
    await client.query(`INSERT INTO kept VALUES ('survives restarts')`);
    await client.end();
    const serverPid = first.pid!;
    expect(isAlive(serverPid)).toBe(true);
    await first.stop();
    expect(isAlive(serverPid)).toBe(false);

    const second = new EmbeddedPostgres({ clusterDir, port, throwaway: true });
    const again = new Client({ connectionString: await second.start() });
    await again.connect();
    const { rows } = await again.query('SELECT v FROM kept');
    await again.end();
    await second.stop();
    expect(rows).toEqual([{ v: 'survives restarts' }]);
  });

  it('fails with a clear error naming the port when it is taken', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const sut = new EmbeddedPostgres({ clusterDir: path.join(scratch(), 'pg'), port, throwaway: true });
      await expect(sut.start()).rejects.toThrow(new RegExp(`Port ${port} on 127.0.0.1 is already in use.*BREAKGLASS_EMBEDDED_PG_PORT`, 's'));
    } finally {
      blocker.close();
    }
  });

  it('restores the shared-library symlinks an install without scripts leaves out', () => {
    const root = scratch();
    mkdirSync(path.join(root, 'native', 'lib'), { recursive: true });
    writeFileSync(path.join(root, 'native', 'lib', 'libpq.so.5.18'), 'library');
    writeFileSync(
      path.join(root, 'native', 'pg-symlinks.json'),
      JSON.stringify([
        { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' },
        { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so' },
      ]),
    );
    symlinkSync('libpq.so.5.18', path.join(root, 'native', 'lib', 'libpq.so')); // one already there
    restoreSymlinks(root);
    expect(readlinkSync(path.join(root, 'native', 'lib', 'libpq.so.5'))).toBe('libpq.so.5.18');
    expect(readFileSync(path.join(root, 'native', 'lib', 'libpq.so.5'), 'utf8')).toBe('library');
  });
});

describe('the service on its embedded database', () => {
  jest.setTimeout(90000);

  it('recovers from kill -9 without manual cleanup, and stops its database on SIGTERM', async () => {
    const dataDir = scratch();
    const env = { BREAKGLASS_DATA_DIR: dataDir, PORT: String(await freePort()), BREAKGLASS_EMBEDDED_PG_PORT: String(await freePort()) };
    const baseUrl = `http://127.0.0.1:${env.PORT}`;
    const pidOfPostgres = () => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

    const first = spawnService(env);
    await waitUntilReady(baseUrl, first, 60000);
    const orphan = pidOfPostgres();
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(orphan)).toBe(true); // the postgres child outlives a killed broker

    const second = spawnService(env);
    await waitUntilReady(baseUrl, second);
    expect(isAlive(orphan)).toBe(false);
    const restarted = pidOfPostgres();

    const token = await (await DevIssuer.open(dataDir)).mint({ subject: 'auditor', roles: ['compliance'] });
    const audit = (await fetch(`${baseUrl}/v1/audit`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())) as {
      events: { action: string }[];
    };
    expect(audit.events.map((e: { action: string }) => e.action)).toEqual(['policy.loaded', 'policy.loaded']);
    const verdict = await fetch(`${baseUrl}/v1/audit/verify`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
    expect(verdict).toMatchObject({ valid: true, count: 2 });

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(isAlive(restarted)).toBe(false);
  });

  it('refuses to share its data dir with a live broker', async () => {
    const dataDir = scratch();
    const pgPort = String(await freePort());
    const ownerPort = await freePort();
    const owner = spawnService({ BREAKGLASS_DATA_DIR: dataDir, PORT: String(ownerPort), BREAKGLASS_EMBEDDED_PG_PORT: pgPort });
    try {
      await waitUntilReady(`http://127.0.0.1:${ownerPort}`, owner, 60000);
      const intruder = spawnService({ BREAKGLASS_DATA_DIR: dataDir, PORT: String(await freePort()), BREAKGLASS_EMBEDDED_PG_PORT: pgPort });
      expect(await intruder.exited).toBe(1);
      expect(intruder.output()).toMatch(/in use by another breakglass process \(pid \d+\)/);
    } finally {
      owner.child.kill('SIGTERM');
      await owner.exited;
    }
  });
});
