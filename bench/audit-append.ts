import { Client } from 'pg';
import { AuditLog } from '../src/audit/audit-log.service';
import { createDataSource } from '../src/database/data-source';
import { Metrics } from '../src/health/metrics.service';
import { percentile, report, sequencingLag, startBenchService } from './harness';

// Target (bench/README.md, P2.5): 64 concurrent writers, one audit event per transaction, >= 20,000
// events/s. The writers call the product's AuditLog.append on a pool of their own (64 connections),
// like the writers of another instance: the running service's integrator sequences what they commit
// (it polls for entries it was not woken for). Afterwards the backlog is drained and the chain verified.

const WRITERS = 64;

export async function auditAppend(): Promise<void> {
  const bench = await startBenchService('targets:\n  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }\n');
  const writers = createDataSource(bench.databaseUrl, WRITERS);
  try {
    await writers.initialize();
    const auditLog = bench.service.app.get(AuditLog);
    const durationMs = bench.quick ? 5_000 : 20_000;
    const latenciesMs: number[] = [];
    const start = Date.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        for (let n = 0; Date.now() - start < durationMs; n++) {
          const began = process.hrtime.bigint();
          await writers.transaction((tx) =>
            auditLog.append(tx, { actor: `oncall-${writer}`, action: 'grant.requested', target: 'cluster', data: { writer, n } }),
          );
          latenciesMs.push(Number(process.hrtime.bigint() - began) / 1e6);
        }
      }),
    );
    const seconds = (Date.now() - start) / 1000;
    const loadEnded = Date.now();
    await auditLog.settled(120_000);
    const drainMs = Date.now() - loadEnded;
    const verdict = await auditLog.verify();
    const lag = await sequencingLag(bench.service.app.get(Metrics));
    latenciesMs.sort((a, b) => a - b);
    const raw = await rawInserts(bench.databaseUrl, durationMs);
    report(
      'audit-append',
      {
        writers: WRITERS,
        seconds: Math.round(seconds * 10) / 10,
        events: latenciesMs.length,
        eventsPerSecond: Math.round(latenciesMs.length / seconds),
        appendP50Ms: Math.round(percentile(latenciesMs, 50) * 10) / 10,
        appendP99Ms: Math.round(percentile(latenciesMs, 99) * 10) / 10,
        sequencingLagP50Ms: lag.p50,
        sequencingLagP99Ms: lag.p99,
        drainAfterLoadMs: drainMs,
        chainValid: verdict.valid,
        chainEvents: verdict.count,
        rawInsertTransactionsPerSecond: Math.round(raw),
        appendOverRawInsert: Math.round((latenciesMs.length / seconds / raw) * 1000) / 1000,
      },
      { eventsPerSecond: '>= 20,000', sequencingLagP99Ms: '<= 100' },
    );
  } finally {
    await writers.destroy().catch(() => undefined);
    await bench.close();
  }
}

/**
 * The yardstick: 64 `pg` clients each committing one single-row INSERT per transaction into a copy
 * of audit_pending (no trigger, no integrator), as fast as PostgreSQL and the protocol allow here.
 */
async function rawInserts(databaseUrl: string, durationMs: number): Promise<number> {
  const setup = new Client({ connectionString: databaseUrl });
  await setup.connect();
  await setup.query('CREATE TABLE audit_pending_yardstick (LIKE audit_pending INCLUDING DEFAULTS)');
  await setup.end();
  const clients = await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    }),
  );
  let committed = 0;
  const start = Date.now();
  await Promise.all(
    clients.map(async (client, writer) => {
      for (let n = 0; Date.now() - start < durationMs; n++) {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO audit_pending_yardstick (actor, action, grant_id, target, data_canonical, controls) VALUES ($1, 'grant.requested', NULL, 'cluster', $2, $3)`,
          [`oncall-${writer}`, JSON.stringify({ n, writer }), ['SOC2:CC8.1', 'NIST-800-53:CM-3']],
        );
        await client.query('COMMIT');
        committed++;
      }
    }),
  );
  const seconds = (Date.now() - start) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  return committed / seconds;
}
