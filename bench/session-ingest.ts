import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { DevIssuer } from '../src/auth/dev-issuer';
import { freePort, report, startBenchService } from './harness';
import { ingestFigures, INGEST_TARGETS, runLoad } from './load-process';

// Target (bench/README.md): >= 20,000 events/s with 50 concurrent sessions posting batches of 50, and
// >= 0.5 x a raw multi-row INSERT of the same rows measured in the same run.

const POLICY = `
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, maxDuration: 4h }
`;
const SESSIONS = 50;
const BATCH = 50;

export async function sessionIngest(): Promise<void> {
  const poolSize = process.env.DATABASE_POOL_SIZE ?? '20';
  const instancesArg = process.argv.indexOf('--instances');
  const instances = instancesArg > 0 ? Number(process.argv[instancesArg + 1]) : 1;
  // Replicas share one public URL (the issuer of the tokens they verify), as in production.
  const publicUrl = 'http://breakglass.bench.invalid';
  const bench = await startBenchService(POLICY, { DATABASE_POOL_SIZE: poolSize, BREAKGLASS_PUBLIC_URL: publicUrl });
  const batchesPerSession = bench.quick ? 20 : 60;
  try {
    const issuer = await DevIssuer.open(bench.dataDir);
    const engineer = await issuer.mint({ subject: 'bench', roles: ['engineer'] });
    const url = bench.service.url;
    const grants: { id: string; sessionToken: string }[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const response = await fetch(`${url}/v1/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
        body: JSON.stringify({ target: 'cluster', incident: 'INC-1', reason: 'benchmarking session ingest', durationSeconds: 3600 }),
      });
      grants.push((await response.json()) as { id: string; sessionToken: string });
    }
    // `--instances 2`: a second broker, a real process on the same database (one per core).
    const urls = [url];
    const extra: ChildProcess[] = [];
    for (let i = 1; i < instances; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, [path.join(__dirname, '../src/main.js')], {
        env: {
          PATH: process.env.PATH,
          PORT: String(port),
          LOG_LEVEL: 'warn',
          DATABASE_URL: bench.databaseUrl,
          BREAKGLASS_DATA_DIR: bench.dataDir,
          BREAKGLASS_POLICY: bench.policyPath,
          DATABASE_POOL_SIZE: poolSize,
          BREAKGLASS_PUBLIC_URL: publicUrl,
        },
        stdio: 'ignore',
      });
      extra.push(child);
      urls.push(`http://127.0.0.1:${port}`);
      while (
        !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
      )
        await new Promise((r) => setTimeout(r, 100));
    }
    // The clients run in their own process, as recorders do; so does the raw-INSERT baseline.
    const { result, brokerLoopUtilisation } = await runLoad<{ ingestSeconds: number; rawSeconds: number; failures: number }>('session-ingest-load.js', {
      urls,
      databaseUrl: bench.databaseUrl,
      grants,
      batchesPerSession,
      batchSize: BATCH,
    });
    for (const child of extra) child.kill('SIGTERM');
    const events = SESSIONS * batchesPerSession * BATCH;
    const failures = result.failures;
    if (failures) throw new Error(`${failures} batches were refused: the figures would be meaningless`);

    const [{ stored }] = await bench.service.dataSource.query(`SELECT count(*)::int AS stored FROM session_events`);
    report(
      'session-ingest',
      {
        brokerInstances: instances,
        sessions: SESSIONS,
        batchSize: BATCH,
        brokerPoolSize: Number(poolSize),
        events,
        failedBatches: failures,
        storedIncludingWarmup: stored,
        ...ingestFigures(events, result, brokerLoopUtilisation),
      },
      INGEST_TARGETS,
    );
  } finally {
    await bench.close();
  }
}
