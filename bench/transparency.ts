import type { DataSource } from 'typeorm';
import { AuditLog } from '../src/audit/audit-log.service';
import { DevIssuer } from '../src/auth/dev-issuer';
import { TransparencyLog } from '../src/transparency/transparency-log.service';
import { percentile, report, startBenchService } from './harness';
import { runLoad } from './load-process';

// The transparency log (docs/transparency.md), targets in bench/README.md: the Merkle tree keeps up
// with the audit chain, and an inclusion proof at 1,000,000 events answers in p99 <= 5 ms.
// 1. 1,000,000 chained events (200,000 with --quick) are written straight into the table (by a
//    process of its own); the follower hashes them into the tree from scratch (the catch-up after
//    the upgrade): events/s.
// 2. Once checkpointed (and vacuumed): 2,000 inclusion proofs for random seqs through
//    GET /v1/audit/proofs/inclusion, one client in its own process, keep-alive, after 200 unmeasured.
// 3. 16 writers append audit events as fast as they can (the chain's own limit, faster than
//    grant-issuance's ~5 events per grant) for 10 s (5 s quick), while the lag (chain head - tree size)
//    is sampled every 50 ms.

const POLICY = `targets: [ { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } } ]
audit: { checkpoint: { interval: 1s } }
`;

export async function transparencyLog(): Promise<void> {
  const bench = await startBenchService(POLICY);
  const total = bench.quick ? 200_000 : 1_000_000;
  const db = bench.service.dataSource;
  const treeSize = async () => Number((await db.query(`SELECT size FROM audit_tree`))[0].size);
  const headSeq = async () => Number((await db.query(`SELECT seq FROM audit_chain_head`))[0].seq);
  const waitFor = async (condition: () => Promise<boolean>) => {
    while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  try {
    const { result: written } = await runLoad<{ lastSeq: number; committedAt: number }>('chained-events-writer.js', { databaseUrl: bench.databaseUrl, total });
    const lastSeq = written.lastSeq;
    await waitFor(async () => (await treeSize()) >= lastSeq);
    const buildSeconds = (Date.now() - written.committedAt) / 1000;
    await waitFor(async () => Number((await db.query(`SELECT coalesce(max(tree_size), 0) AS n FROM audit_checkpoints`))[0].n) >= lastSeq);

    // A live log's tree is old: autovacuum has long visited its nodes. Two million fresh rows would
    // otherwise get their first autovacuum during the proofs, which measures that, not the proofs.
    await db.query('VACUUM ANALYZE audit_tree_nodes');
    // ...and its pages were written out long ago: without this the checkpointer writes the build's
    // ~300 MB of dirty buffers during the measurement.
    await db.query('CHECKPOINT');

    // HTTP from a client process of its own (each proof followed by the HTTP floor, an
    // authenticated GET /v1/me, to tell the proof's own cost from the request's); then the same
    // proofs in process (checkpoint lookup, one node read, hashing).
    const token = await (await DevIssuer.open(bench.dataDir)).mint({ subject: 'bench-auditor', roles: ['compliance'] });
    const autovacuumSeen = sampleAutovacuum(db);
    const { result: http } = await runLoad<{ proofMs: number[]; meMs: number[] }>('transparency-proof-load.js', {
      url: bench.service.url,
      token,
      treeSize: lastSeq,
      proofs: 2000,
      warmup: 200,
    });
    const proofMs = http.proofMs.sort((a, b) => a - b);
    const meMs = http.meMs.sort((a, b) => a - b);
    const log = bench.service.app.get(TransparencyLog);
    const inProcessMs: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const started = process.hrtime.bigint();
      await log.inclusionProof(1 + Math.floor(Math.random() * lastSeq), lastSeq);
      inProcessMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    inProcessMs.sort((a, b) => a - b);
    const autovacuumSamples = await autovacuumSeen.stop();

    const auditLog = bench.service.app.get(AuditLog);
    const loadMs = bench.quick ? 5000 : 10_000;
    const loadStart = Date.now();
    let appended = 0;
    const lags: number[] = [];
    const writers = Array.from({ length: 16 }, async (_, writer) => {
      while (Date.now() - loadStart < loadMs) {
        await db.transaction((tx) => auditLog.append(tx, { actor: `bench-${writer}`, action: 'grant.requested', data: { n: appended } }));
        appended++;
      }
    });
    const sampler = (async () => {
      while (Date.now() - loadStart < loadMs) {
        const [head, size] = await Promise.all([headSeq(), treeSize()]);
        lags.push(Math.max(0, head - size));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await Promise.all([...writers, sampler]);
    const appendRate = appended / (loadMs / 1000);
    const drainStart = Date.now();
    const finalHead = await headSeq();
    await waitFor(async () => (await treeSize()) >= finalHead);
    lags.sort((a, b) => a - b);

    const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
    report(
      'transparency',
      {
        events: lastSeq,
        treeBuildSeconds: round(buildSeconds),
        treeBuildEventsPerSecond: Math.round(lastSeq / buildSeconds),
        inclusionProofP50Ms: round(proofMs[Math.floor(proofMs.length / 2)]),
        inclusionProofP99Ms: round(percentile(proofMs, 99)),
        inProcessProofP50Ms: round(percentile(inProcessMs, 50)),
        inProcessProofP99Ms: round(percentile(inProcessMs, 99)),
        getMeP50Ms: round(percentile(meMs, 50)),
        getMeP99Ms: round(percentile(meMs, 99)),
        autovacuumSamplesDuringProofs: autovacuumSamples,
        appendEventsPerSecond: Math.round(appendRate),
        lagP50Events: percentile(lags, 50),
        lagP99Events: percentile(lags, 99),
        lagMaxEvents: lags.at(-1) ?? 0,
        drainAfterLoadMs: Date.now() - drainStart,
        treeBuildOverAppendRate: round(lastSeq / buildSeconds / appendRate),
      },
      { inclusionProofP99Ms: '<= 5', treeBuildOverAppendRate: '>= 1' },
    );
  } finally {
    await bench.close();
  }
}

/** Counts, every 100 ms until stopped, the samples at which an autovacuum worker was running (noise in the proofs' p99). */
function sampleAutovacuum(db: DataSource): { stop: () => Promise<number> } {
  let running = true;
  let seen = 0;
  const sampler = (async () => {
    while (running) {
      const [row] = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`);
      if (row.n > 0) seen++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await sampler;
      return seen;
    },
  };
}
