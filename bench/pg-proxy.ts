import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DevIssuer } from '../src/auth/dev-issuer';
import { startTargetServer } from '../test/support/target-server';
import { withClient } from '../test/support/test-database';
import { cpuMsPer, cpuSeconds, percentile, report, startBenchService } from './harness';

// Target (bench/README.md): pgbench select-only, 8 clients, direct to the target and through the recording
// proxy in each mode, plus new connections per second through the proxy (pgbench -C: connect,
// authenticate, select, disconnect), with the same directly as the yardstick and the CPU each
// proxied connection costs the broker's process and its database. Targets on the 2-core machine: strict >= 0.3 x direct TPS,
// best-effort >= 0.6 x, >= 100 new connections/s. The target is Debian's PostgreSQL, as in the tests.

const CLIENTS = 8;

interface PgbenchRun {
  tps: number;
  p50Ms: number;
  p99Ms: number;
  transactions: number;
}

function pgbench(url: string, seconds: number, extra: string[] = []): Promise<PgbenchRun> {
  const logDir = mkdtempSync(path.join(tmpdir(), 'pgbench-log-'));
  const args = ['-S', '-n', '-c', String(CLIENTS), '-j', '2', '-T', String(seconds), '-l', `--log-prefix=${path.join(logDir, 'tx')}`, ...extra, url];
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', args);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`pgbench exited ${code}: ${out}`));
      // Per-transaction log lines: client_id transaction_no time(us) script_no time_epoch time_us
      const latencies = readdirSync(logDir)
        .flatMap((file) => readFileSync(path.join(logDir, file), 'utf8').trim().split('\n'))
        .filter(Boolean)
        .map((line) => Number(line.split(' ')[2]) / 1000)
        .sort((a, b) => a - b);
      rmSync(logDir, { recursive: true, force: true });
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      resolve({ tps, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), transactions: latencies.length });
    });
  });
}

export async function pgProxy(): Promise<void> {
  const target = await startTargetServer();
  const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
  try {
    await withClient(target.adminUrl, async (db) => {
      await db.query('CREATE DATABASE bench');
      await db.query('CREATE ROLE bench_rw NOLOGIN');
    });
    const init = spawn('pgbench', ['-i', '-s', '10', '-q', target.urlOf('bench')]);
    await new Promise((resolve) => init.once('close', resolve));
    await withClient(target.urlOf('bench'), (db) => db.query('GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers TO bench_rw'));
    const credential = `{ type: postgres, adminUrl: '${target.adminUrl}', database: bench, grantRoles: [bench_rw] }`;
    const bench = await startBenchService(`
targets:
  - { name: direct, environment: bench, credential: ${credential}, access: direct }
  - { name: strict, environment: bench, credential: ${credential} }
  - { name: fast, environment: bench, credential: ${credential}, recording: best-effort }
`);
    try {
      const seconds = bench.quick ? 5 : 20;
      const engineer = await (await DevIssuer.open(bench.dataDir)).mint({ subject: 'bench', roles: ['engineer'] });
      const url = async (name: string): Promise<string> => {
        const response = await fetch(`${bench.service.url}/v1/grants`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
          body: JSON.stringify({ target: name, incident: 'INC-1', reason: 'benchmarking the proxy', durationSeconds: 3600 }),
        });
        return ((await response.json()) as { credential: { url: string } }).credential.url;
      };
      const direct = await pgbench(await url('direct'), seconds);
      const strict = await pgbench(await url('strict'), seconds);
      const fast = await pgbench(await url('fast'), seconds);
      const connectSeconds = bench.quick ? 3 : 10;
      const directConnections = await pgbench(await url('direct'), connectSeconds, ['-C']);
      const connectUrl = await url('strict');
      const cpuBefore = cpuSeconds(bench.postgresPid);
      const connections = await pgbench(connectUrl, connectSeconds, ['-C']);
      const connectionCpu = cpuMsPer(connections.transactions, cpuBefore, cpuSeconds(bench.postgresPid));
      report(
        'pg-proxy',
        {
          seconds,
          clients: CLIENTS,
          directTps: round(direct.tps, 0),
          strictTps: round(strict.tps, 0),
          bestEffortTps: round(fast.tps, 0),
          strictRatio: round(strict.tps / direct.tps),
          bestEffortRatio: round(fast.tps / direct.tps),
          directP50Ms: round(direct.p50Ms),
          directP99Ms: round(direct.p99Ms),
          strictAddedP50Ms: round(strict.p50Ms - direct.p50Ms),
          strictAddedP99Ms: round(strict.p99Ms - direct.p99Ms),
          bestEffortAddedP50Ms: round(fast.p50Ms - direct.p50Ms),
          bestEffortAddedP99Ms: round(fast.p99Ms - direct.p99Ms),
          newConnectionsPerSecond: round(connections.tps, 0),
          directNewConnectionsPerSecond: round(directConnections.tps, 0),
          cpuMsPerConnectionBroker: connectionCpu.benchProcess,
          cpuMsPerConnectionBrokerMainThread: connectionCpu.mainThread,
          cpuMsPerConnectionBrokerDatabase: connectionCpu.postgres,
        },
        { strictRatio: '>= 0.3', bestEffortRatio: '>= 0.6', newConnectionsPerSecond: '>= 100' },
      );
    } finally {
      await bench.close();
    }
  } finally {
    await target.stop();
  }
}
