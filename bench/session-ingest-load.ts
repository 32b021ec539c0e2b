import { Agent, request } from 'node:http';
import { Pool } from 'pg';
import { servePlan } from './load-process';

// The client side of bench/session-ingest, in its own process (as real recorders are): posts the
// sessions' batches to the broker, then writes the same rows with raw multi-row INSERTs.

interface LoadPlan {
  /** Broker instances; session i talks to urls[i % n], as a load balancer would spread them. */
  urls: string[];
  databaseUrl: string;
  grants: { id: string; sessionToken: string }[];
  batchesPerSession: number;
  batchSize: number;
}

function eventsFor(batch: number, size: number) {
  const now = new Date().toISOString();
  return Array.from({ length: size }, (_, i) => ({
    seq: batch * size + i + 1,
    type: 'command',
    command: `kubectl -n payments get pods -o wide --selector app=ledger # ${batch}-${i}`,
    cwd: '/home/oncall',
    user: 'oncall-1',
    host: 'bastion-1',
    startedAt: now,
    finishedAt: now,
    exitCode: 0,
  }));
}

async function run(plan: LoadPlan) {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.grants.length });
  const post = (path: string, token: string, body: unknown, session: number) =>
    new Promise<number>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(
        `${plan.urls[session % plan.urls.length]}${path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${token}` },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  // Warm-up: one batch per session.
  await Promise.all(
    plan.grants.map((grant, session) => post(`/v1/grants/${grant.id}/events`, grant.sessionToken, { events: eventsFor(0, plan.batchSize) }, session)),
  );
  process.send!({ phase: 'ingest-start' });
  let failures = 0;
  const ingestStart = process.hrtime.bigint();
  await Promise.all(
    plan.grants.map(async (grant, session) => {
      for (let batch = 1; batch <= plan.batchesPerSession; batch++) {
        if ((await post(`/v1/grants/${grant.id}/events`, grant.sessionToken, { events: eventsFor(batch, plan.batchSize) }, session)) !== 200) failures++;
      }
    }),
  );
  const ingestSeconds = Number(process.hrtime.bigint() - ingestStart) / 1e9;
  agent.destroy();
  process.send!({ phase: 'ingest-done' });

  const pool = new Pool({ connectionString: plan.databaseUrl, max: plan.grants.length });
  await pool.query(`CREATE TABLE raw_session_events (LIKE session_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
  const hash = 'a'.repeat(64);
  const rawStart = process.hrtime.bigint();
  await Promise.all(
    plan.grants.map(async (grant) => {
      for (let batch = 1; batch <= plan.batchesPerSession; batch++) {
        const params: unknown[] = [];
        const values = eventsFor(batch, plan.batchSize).map((e) => {
          const row = [grant.id, e.seq, e.type, e.command, e.cwd, e.user, e.host, e.startedAt, e.finishedAt, e.exitCode, new Date(), false, hash, hash];
          return `(${row.map((value) => `$${params.push(value)}`).join(', ')})`;
        });
        await pool.query(
          `INSERT INTO raw_session_events (grant_id, seq, type, command, cwd, "user", host, started_at, finished_at, exit_code, received_at, late, prev_hash, hash) VALUES ${values.join(', ')}`,
          params,
        );
      }
    }),
  );
  const rawSeconds = Number(process.hrtime.bigint() - rawStart) / 1e9;
  await pool.end();
  return { ingestSeconds, rawSeconds, failures };
}

servePlan<LoadPlan, Awaited<ReturnType<typeof run>>>(run);
