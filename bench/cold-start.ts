import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, report } from './harness';

// Target (bench/README.md): cold `npm start` to /readyz 200 (embedded DB, built) <= 5 s. Measures the built
// service (node dist/src/main.js) on a fresh data dir (initdb included), then a warm restart.

async function timeToReady(dataDir: string, port: number, pgPort: number): Promise<{ ms: number; stop: () => Promise<void> }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(__dirname, '../src/main.js')], {
    env: { PATH: process.env.PATH, PORT: String(port), BREAKGLASS_DATA_DIR: dataDir, BREAKGLASS_EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ms: Date.now() - started, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

export async function coldStart(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'breakglass-cold-'));
  try {
    const port = await freePort();
    const pgPort = await freePort();
    const cold = await timeToReady(dataDir, port, pgPort);
    await cold.stop();
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await timeToReady(dataDir, port, pgPort);
      warm.push(run.ms);
      await run.stop();
    }
    report(
      'cold-start',
      { coldMs: cold.ms, warmMsBest: Math.min(...warm), warmMsWorst: Math.max(...warm), coldWithinTarget: cold.ms <= 5000 },
      { coldMs: '<= 5000' },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
