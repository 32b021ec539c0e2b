import { DevIssuer } from '../src/auth/dev-issuer';
import { captureGrantTransaction, replayGrantTransaction } from './grant-transaction';
import { percentile, report, startBenchService } from './harness';
import type { HttpLoadResult } from './http-load';
import { runLoad } from './load-process';

// Target (bench/README.md): POST /v1/grants on a jwt target, 16 concurrent clients: p99 <= 50 ms and
// >= 300 grants/s. The clients run in their own process. Then the same SQL transaction, captured
// from a real request, is replayed with `pg` alone by 16 clients for as long: the ratio of the two
// separates the broker's own cost from PostgreSQL's.

const POLICY = `
defaults:
  escalation: [ { after: 0s, notify: [log] } ]
channels:
  log: { type: log }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, notifyOnUse: [log], controls: ['SOC2:CC8.1'] }
`;

export async function grantIssuance(): Promise<void> {
  const bench = await startBenchService(POLICY);
  try {
    const token = await (await DevIssuer.open(bench.dataDir)).mint({ subject: 'bench', roles: ['engineer'] });
    const body = { target: 'cluster', incident: 'INC-1', reason: 'benchmarking grant issuance', durationSeconds: 3600 };
    const { result } = await runLoad<HttpLoadResult>('http-load.js', {
      url: bench.service.url,
      path: '/v1/grants',
      token,
      body,
      concurrency: 16,
      durationMs: bench.quick ? 10_000 : 30_000,
    });
    const latencies = result.latenciesMs.sort((a, b) => a - b);
    const created = result.statuses['201'] ?? 0;
    const verdict = await bench.service.app.get((await import('../src/audit/audit-log.service')).AuditLog).verify();

    const transaction = await captureGrantTransaction(async () => {
      const response = await fetch(`${bench.service.url}/v1/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new Error(`capturing the grant transaction: ${response.status}`);
    });
    const replay = await replayGrantTransaction(bench.databaseUrl, transaction, 16, bench.quick ? 10_000 : 30_000);
    const sqlLatencies = replay.latenciesMs.sort((a, b) => a - b);
    const sqlRate = replay.transactions / replay.seconds;
    report(
      'grant-issuance',
      {
        clients: 16,
        seconds: Math.round(result.seconds * 10) / 10,
        requests: result.requests,
        created,
        otherStatuses: result.requests - created,
        grantsPerSecond: Math.round(created / result.seconds),
        p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
        p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
        maxMs: Math.round(latencies[latencies.length - 1] * 10) / 10,
        auditEvents: verdict.count,
        auditChainValid: verdict.valid,
        sqlOnlyStatements: transaction.length,
        sqlOnlyTransactionsPerSecond: Math.round(sqlRate),
        sqlOnlyP50Ms: Math.round(percentile(sqlLatencies, 50) * 10) / 10,
        sqlOnlyP99Ms: Math.round(percentile(sqlLatencies, 99) * 10) / 10,
        httpOverSqlOnly: Math.round((created / result.seconds / sqlRate) * 1000) / 1000,
      },
      { grantsPerSecond: '>= 300', p99Ms: '<= 50' },
    );
  } finally {
    await bench.close();
  }
}
