import { Client } from 'pg';
import { DevIssuer } from '../src/auth/dev-issuer';
import { Metrics } from '../src/health/metrics.service';
import { captureGrantTransaction, replayGrantTransaction } from './grant-transaction';
import { cpuMsPer, cpuSeconds, percentile, report, sequencingLag, startBenchService } from './harness';
import type { HttpLoadResult } from './http-load';
import { runLoad } from './load-process';

// Target (bench/README.md): POST /v1/grants on a jwt target, 16 concurrent clients: p99 <= 50 ms and
// >= 300 grants/s. The clients run in their own process. Then the same SQL transaction, captured
// from a real request, is replayed with `pg` alone by 16 clients for as long: the ratio of the two
// separates the broker's own cost from PostgreSQL's. Where the time goes: CPU per grant of each
// process (the broker's, PostgreSQL's, the load's; on two shared cores the rate is bound by their
// sum), and from pg_stat_statements the statements per grant and their execution time, split into
// the grant's own transaction and everything after its commit (sequencing, the tree, notifications).

const POLICY = `
defaults:
  escalation: [ { after: 0s, notify: [log] } ]
channels:
  log: { type: log }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, notifyOnUse: [log], controls: ['SOC2:CC8.1'] }
`;

export async function grantIssuance(): Promise<void> {
  const bench = await startBenchService(POLICY, {}, ['shared_preload_libraries=pg_stat_statements']);
  const statistics = new Client({ connectionString: bench.databaseUrl });
  await statistics.connect();
  try {
    await statistics.query('CREATE EXTENSION pg_stat_statements');
    const token = await (await DevIssuer.open(bench.dataDir)).mint({ subject: 'bench', roles: ['engineer'] });
    const body = { target: 'cluster', incident: 'INC-1', reason: 'benchmarking grant issuance', durationSeconds: 3600 };
    await statistics.query('SELECT pg_stat_statements_reset()');
    const cpuBefore = cpuSeconds(bench.postgresPid);
    const { result } = await runLoad<HttpLoadResult>('http-load.js', {
      url: bench.service.url,
      path: '/v1/grants',
      token,
      body,
      concurrency: 16,
      durationMs: bench.quick ? 10_000 : 30_000,
    });
    const cpuAfter = cpuSeconds(bench.postgresPid);
    const lag = await sequencingLag(bench.service.app.get(Metrics));
    const latencies = result.latenciesMs.sort((a, b) => a - b);
    const created = result.statuses['201'] ?? 0;
    const httpCpu = cpuMsPer(created, cpuBefore, cpuAfter);
    const { rows: statements } = await statistics.query<{ query: string; calls: string; ms: number }>(
      `SELECT query, calls, total_exec_time AS ms FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    const verdict = await bench.service.app.get((await import('../src/audit/audit-log.service')).AuditLog).verify();

    const transaction = await captureGrantTransaction(async () => {
      const response = await fetch(`${bench.service.url}/v1/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new Error(`capturing the grant transaction: ${response.status}`);
    });
    const replayCpuBefore = cpuSeconds(bench.postgresPid);
    const replay = await replayGrantTransaction(bench.databaseUrl, transaction, 16, bench.quick ? 10_000 : 30_000);
    const replayCpu = cpuMsPer(replay.transactions, replayCpuBefore, cpuSeconds(bench.postgresPid));
    const inTransaction = new Set(transaction.map((statement) => statementShape(statement.text)));
    const perGrant = (value: number) => Math.round((value / created) * 1000) / 1000;
    const sum = (rows: typeof statements) => ({ calls: rows.reduce((n, row) => n + Number(row.calls), 0), ms: rows.reduce((n, row) => n + row.ms, 0) });
    const transactionStatements = sum(statements.filter((row) => inTransaction.has(statementShape(row.query))));
    const otherStatements = sum(
      statements.filter((row) => !inTransaction.has(statementShape(row.query)) && !/^(START TRANSACTION|BEGIN|COMMIT|ROLLBACK)/i.test(row.query)),
    );
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
        sequencingLagP50Ms: lag.p50,
        sequencingLagP99Ms: lag.p99,
        sqlOnlyStatements: transaction.length,
        sqlOnlyTransactionsPerSecond: Math.round(sqlRate),
        sqlOnlyP50Ms: Math.round(percentile(sqlLatencies, 50) * 10) / 10,
        sqlOnlyP99Ms: Math.round(percentile(sqlLatencies, 99) * 10) / 10,
        httpOverSqlOnly: Math.round((created / result.seconds / sqlRate) * 1000) / 1000,
        cpuMsPerGrantBroker: httpCpu.benchProcess,
        cpuMsPerGrantBrokerMainThread: httpCpu.mainThread,
        cpuMsPerGrantPostgres: httpCpu.postgres,
        cpuMsPerGrantLoad: Math.round(((result.cpuSeconds * 1000) / created) * 100) / 100,
        grantTransactionStatementsPerGrant: perGrant(transactionStatements.calls),
        grantTransactionExecMsPerGrant: perGrant(transactionStatements.ms),
        afterCommitStatementsPerGrant: perGrant(otherStatements.calls),
        afterCommitExecMsPerGrant: perGrant(otherStatements.ms),
        cpuMsPerReplayClients: replayCpu.benchProcess,
        cpuMsPerReplayPostgres: replayCpu.postgres,
      },
      { grantsPerSecond: '>= 300', p99Ms: '<= 50' },
    );
  } finally {
    await statistics.end();
    await bench.close();
  }
}

/**
 * A statement's text as pg_stat_statements shows it and as the broker sent it, made comparable:
 * pg_stat_statements turns constants into `$n` (and squashes lists), so literals and parameters
 * both become `?` and the start of what remains is compared.
 */
function statementShape(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\$\d+/g, '?')
    .replace(/\s+/g, ' ')
    .slice(0, 60);
}
