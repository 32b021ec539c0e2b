import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { canonicalJson, chainHash } from '../src/audit/chain';
import { controlsFor } from '../src/audit/control-catalogue';
import { ensureDatabase } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import type { Metrics } from '../src/health/metrics.service';
import { startService, type RunningService } from '../src/service';
import { freePort } from '../test/support/ports';

export interface BenchContext {
  quick: boolean;
  service: RunningService;
  databaseUrl: string;
  dataDir: string;
  policyPath: string;
  /** The embedded server's postmaster. */
  postgresPid: number;
  close(): Promise<void>;
}

export { freePort };

/** A throwaway embedded PostgreSQL and the real service on it, with the given policy. */
export async function startBenchService(policyYaml: string, env: NodeJS.ProcessEnv = {}, postgresSettings: string[] = []): Promise<BenchContext> {
  const root = mkdtempSync(path.join(tmpdir(), 'breakglass-bench-'));
  const postgres = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: await freePort(), throwaway: true, settings: postgresSettings });
  const databaseUrl = await ensureDatabase(await postgres.start());
  const policy = path.join(root, 'policy.yaml');
  writeFileSync(policy, policyYaml);
  const service = await startService({
    PATH: process.env.PATH,
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    BREAKGLASS_DATA_DIR: root,
    BREAKGLASS_POLICY: policy,
    BREAKGLASS_RATE_LIMIT_GRANTS: '0',
    BREAKGLASS_RATE_LIMIT_WEBHOOKS: '0',
    ...env,
  });
  return {
    quick: process.argv.includes('--quick'),
    service,
    databaseUrl,
    dataDir: root,
    policyPath: policy,
    postgresPid: postgres.pid!,
    async close() {
      await service.stop();
      await postgres.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One JSON line (for scripts) and a small table (for people). */
export function report(name: string, figures: Record<string, number | string | boolean>, targets: Record<string, string> = {}): void {
  console.log(JSON.stringify({ bench: name, at: new Date().toISOString(), ...figures }));
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [key, value] of Object.entries(figures)) {
    const shown = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value);
    console.log(`  ${key.padEnd(width)}  ${shown.padStart(12)}${targets[key] ? `   target ${targets[key]}` : ''}`);
  }
}

/**
 * CPU seconds (user + system) used so far by this process and by PostgreSQL, from /proc (Linux).
 * PostgreSQL's includes its backends that have exited (the postmaster reaped them: its children's
 * time). On two shared cores a rate is bound by what each unit of work costs all processes
 * together; the difference of two readings says who spent it.
 */
export function cpuSeconds(postgresPid: number): { benchProcess: number; mainThread: number; postgres: number } {
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on
  // Fields after the process name: state is the 1st; utime, stime, cutime, cstime the 12th–15th (proc(5)).
  const times = (statFile: string) => {
    const stat = readFileSync(statFile, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 15)
      .map((ticks) => Number(ticks) / ticksPerSecond);
  };
  const [user, system] = times(`/proc/${process.pid}/stat`);
  // The main thread's own (JavaScript, the event loop); the rest of the process is V8's helper
  // threads (garbage collection, compilation) and libuv's pool (crypto.sign, file reads).
  const [mainUser, mainSystem] = times(`/proc/self/task/${process.pid}/stat`);
  let postgres = times(`/proc/${postgresPid}/stat`).reduce((sum, seconds) => sum + seconds, 0);
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The 4th field after the name is the parent's pid: the postmaster's children are its backends.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== postgresPid) continue;
      const [backendUser, backendSystem, reapedUser, reapedSystem] = times(`/proc/${pid}/stat`);
      postgres += backendUser + backendSystem + reapedUser + reapedSystem;
    } catch {
      continue; // exited meanwhile (then counted in the postmaster's reaped time on the next reading)
    }
  }
  return { benchProcess: user + system, mainThread: mainUser + mainSystem, postgres };
}

/** CPU milliseconds per unit of work between two `cpuSeconds()` readings (0.01 ms). */
export function cpuMsPer(units: number, before: ReturnType<typeof cpuSeconds>, after: ReturnType<typeof cpuSeconds>): ReturnType<typeof cpuSeconds> {
  const per = (key: keyof typeof before) => Math.round(((after[key] - before[key]) * 1000 * 100) / units) / 100;
  return { benchProcess: per('benchProcess'), mainThread: per('mainThread'), postgres: per('postgres') };
}

/** p50/p99 of the integrator's lag histogram so far, as the upper bound of the bucket they fall in (ms). */
export async function sequencingLag(metrics: Metrics): Promise<{ p50: number; p99: number }> {
  const metric = await metrics.registry.getSingleMetric('breakglass_audit_sequencing_lag_seconds')!.get();
  const buckets = metric.values
    .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_bucket'))
    .map((v) => ({ le: Number(v.labels.le), count: v.value }));
  const total = buckets.at(-1)?.count ?? 0;
  const at = (p: number) => Math.round((buckets.find((b) => b.count >= (p / 100) * total)?.le ?? NaN) * 1000);
  return { p50: at(50), p99: at(99) };
}

/** What writing events needs of a connection: a TypeORM DataSource, or node-postgres rows in a load process. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<Record<string, unknown>[]>;
}

/**
 * Appends `total` chained audit events straight into the table (10,000 per statement), as the chain
 * would hold them, and moves the head. Returns the last hash, the first 100,000 hashed inputs
 * (for a raw SHA-256 yardstick) and when the last row was committed (`oneTransaction`: all of them
 * at once, so a follower of the chain sees none before).
 */
export async function writeChainedAuditEvents(
  db: Queryable,
  total: number,
  options: { oneTransaction?: boolean } = {},
): Promise<{ lastSeq: number; lastHash: string; hashedInputs: string[]; committedAt: number }> {
  const batch = 10_000;
  if (options.oneTransaction) await db.query('BEGIN');
  const [head] = await db.query(`SELECT seq, hash FROM audit_chain_head`);
  let seq = Number(head.seq);
  let prev = head.hash as string;
  const controls = controlsFor('grant.requested');
  const at = new Date().toISOString();
  const hashedInputs: string[] = [];
  for (let written = 0; written < total; written += batch) {
    const rows = { seq: [] as number[], data: [] as string[], prev: [] as string[], hash: [] as string[], grant: [] as string[] };
    for (let i = 0; i < batch; i++) {
      const fields = {
        seq: ++seq,
        at,
        actor: `oncall-${seq % 50}`,
        action: 'grant.requested',
        grant: `BG-2026-${String(seq % 100000).padStart(6, '0')}`,
        target: 'cluster',
        data: { incident: 'INC-1', durationSeconds: 600, n: seq },
        controls,
      };
      const hash = chainHash(prev, fields);
      if (hashedInputs.length < 100_000) hashedInputs.push(`${prev}\n${canonicalJson(fields)}`);
      rows.seq.push(seq);
      rows.data.push(canonicalJson(fields.data));
      rows.prev.push(prev);
      rows.hash.push(hash);
      rows.grant.push(fields.grant);
      prev = hash;
    }
    await db.query(
      `INSERT INTO audit_events (seq, at, actor, action, grant_id, target, data_canonical, controls, prev_hash, hash)
       SELECT s, $2, 'oncall-' || (s % 50), 'grant.requested', g, 'cluster', d, $3::text[], p, h
         FROM unnest($1::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS r(s, g, d, p, h)`,
      [rows.seq, at, controls, rows.grant, rows.data, rows.prev, rows.hash],
    );
  }
  await db.query(`UPDATE audit_chain_head SET seq = $1, hash = $2`, [seq, prev]);
  if (options.oneTransaction) {
    // Statistics before anyone sees the rows (ANALYZE may run in the transaction; VACUUM may not).
    await db.query('ANALYZE audit_events');
    await db.query('COMMIT');
  }
  const committedAt = Date.now();
  // A real audit table is old: autovacuum has set its hint bits and visibility map. Without this
  // the first reader of a million fresh rows pays for that (and autovacuum competes mid-run).
  await db.query('VACUUM ANALYZE audit_events');
  return { lastSeq: seq, lastHash: prev, hashedInputs, committedAt };
}
