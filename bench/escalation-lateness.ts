import { percentile, report, startBenchService } from './harness';

// 10,000 running clocks (2,000 with --quick) whose due times are spread over a minute (20 s),
// each with one escalation step at its due time to a `log` channel. Lateness = the step's delivery
// attempt time minus its due time, both by the database clock. Target (bench/README.md): p99 <= 1 s.

const POLICY = `
defaults:
  retroPr: { window: 24h }
  review: { window: 24h }
  escalation: [ { after: 0s, notify: [audit-log] } ]
channels:
  audit-log: { type: log }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`;

export async function escalationLateness(): Promise<void> {
  const bench = await startBenchService(POLICY);
  const clocks = bench.quick ? 2000 : 10_000;
  const spreadSeconds = bench.quick ? 20 : 60;
  const leadSeconds = 5;
  try {
    const db = bench.service.dataSource;
    // Clocks are inserted directly (not through POST /v1/grants): this measures the scheduler and
    // the dispatcher, not grant issuance, which has its own benchmark.
    await db.query(
      `WITH g AS (
         INSERT INTO grants (id, status, target, environment, credential_type, requester, incident, reason, requested_seconds, activated_at, expires_at)
         SELECT 'BG-2026-' || lpad(n::text, 6, '0'), 'active', 'cluster', 'production', 'jwt', 'bench-' || n, 'INC-1', 'benchmark', 3600, now(), now() + interval '1 hour'
           FROM generate_series(1, $1) AS n
         RETURNING id, requester)
       INSERT INTO sla_clocks (grant_id, kind, requester, started_at, due_at)
       SELECT id, 'retro_pr', requester, now(), now() + make_interval(secs => $2 + random() * $3) FROM g`,
      [clocks, leadSeconds, spreadSeconds],
    );
    await db.query(`INSERT INTO sla_steps (clock_id, step, after_seconds, fire_at, notify) SELECT id, 1, 0, due_at, ARRAY['audit-log'] FROM sla_clocks`);
    const started = Date.now();
    for (;;) {
      const [{ pending }] = await db.query(`SELECT count(*)::int AS pending FROM sla_steps WHERE state = 'pending'`);
      const [{ undelivered }] = await db.query(`SELECT count(*)::int AS undelivered FROM notifications WHERE status = 'pending'`);
      if (pending === 0 && undelivered === 0) break;
      if (Date.now() - started > (leadSeconds + spreadSeconds + 120) * 1000) throw new Error(`not done: ${pending} steps, ${undelivered} deliveries left`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const rows: { ms: number }[] = await db.query(
      `SELECT extract(epoch FROM (a.at - s.fire_at)) * 1000 AS ms
         FROM sla_steps s
         JOIN notifications n ON n.clock_id = s.clock_id
         JOIN notification_attempts a ON a.notification_id = n.id AND a.attempt = 1`,
    );
    const lateness = rows.map((r) => Number(r.ms)).sort((x, y) => x - y);
    const [{ fired }] = await db.query(`SELECT count(*)::int AS fired FROM sla_steps WHERE state = 'fired'`);
    report(
      'escalation-lateness',
      {
        clocks,
        spreadSeconds,
        stepsFired: fired,
        deliveries: lateness.length,
        p50Ms: percentile(lateness, 50),
        p99Ms: percentile(lateness, 99),
        maxMs: lateness[lateness.length - 1],
        p99WithinTarget: percentile(lateness, 99) <= 1000,
      },
      { p99Ms: '<= 1000' },
    );
  } finally {
    await bench.close();
  }
}
