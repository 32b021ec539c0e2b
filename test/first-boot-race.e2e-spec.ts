import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ensureDatabase } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './support/ports';
import { REPO_ROOT, spawnService, waitUntilReady } from './support/service-process';

const scratch = () => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'first-boot-'));

// Found by the crash-recovery suite: two instances starting together on a fresh data dir could read
// the master key while the other was still writing it ("Invalid key length").
describe('first use of a shared data dir by several processes at once', () => {
  jest.setTimeout(60_000);

  it.each([1, 2, 3])('gives every racing process the same complete file and leaves no temporary files (round %i)', async () => {
    const dir = scratch();
    const file = path.join(dir, 'nested', 'master.key');
    const module = path.join(REPO_ROOT, 'dist/src/common/create-file-once.js');
    // 8 MB of content keeps a writer busy long enough for the others to try reading meanwhile (the
    // old open-with-O_EXCL-then-write let them read 2 or 4 MB of it). Each reports what it read.
    const script = `const fs = require('fs'); require(${JSON.stringify(module)}).createFileOnce(${JSON.stringify(file)}, process.argv[1].repeat(2000000));
      const read = fs.readFileSync(${JSON.stringify(file)}, 'utf8'); process.stdout.write(read.length + ' ' + read.slice(0, 4) + ' ' + read.slice(-4));`;
    const outputs = await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ['-e', script, `w${String(i).padStart(2, '0')}|`]);
            let out = '';
            child.stdout.on('data', (chunk) => (out += chunk));
            // 'close', not 'exit': 'exit' may come before the last stdout chunk has been read.
            child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer ${i} exited with ${code}`))));
          }),
      ),
    );
    const winner = readFileSync(file, 'utf8');
    // Exactly one writer's whole content (a regex over 2,000,000 repeats overflows V8's stack).
    expect(winner).toMatch(/^w\d\d\|/);
    expect(winner === winner.slice(0, 4).repeat(2000000)).toBe(true);
    expect(new Set(outputs)).toEqual(new Set([`${winner.length} ${winner.slice(0, 4)} ${winner.slice(-4)}`]));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['master.key']);
  });

  it('lets two instances start together on a fresh data dir and database', async () => {
    const root = scratch();
    const postgres = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: await freePort(), throwaway: true });
    const databaseUrl = await ensureDatabase(await postgres.start());
    const ports = [await freePort(), await freePort()];
    const instances = ports.map((port) => spawnService({ DATABASE_URL: databaseUrl, BREAKGLASS_DATA_DIR: path.join(root, 'data'), PORT: String(port) }));
    try {
      await Promise.all(instances.map((instance, i) => waitUntilReady(`http://127.0.0.1:${ports[i]}`, instance)));
      const jwks = await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()));
      expect(jwks[0]).toEqual(jwks[1]);
    } finally {
      for (const instance of instances) instance.child.kill('SIGTERM');
      await Promise.all(instances.map((instance) => instance.exited));
      await postgres.stop();
    }
  });
});
