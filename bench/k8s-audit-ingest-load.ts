import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Pool } from 'pg';
import { servePlan } from './load-process';

// The sender side of bench/k8s-audit-ingest, in its own process: kube-apiserver's webhook backend
// posting EventLists (sizes 100-500, every grant's identity mixed in), then the raw-INSERT baseline
// of the session rows those events become.

interface LoadPlan {
  url: string;
  token: string;
  databaseUrl: string;
  grants: { id: string; requester: string }[];
  senders: number;
  listsPerSender: number;
  /** Each sender's events by identities of its own (else every list holds every identity). */
  partitioned: boolean;
}

const SIZES = [100, 200, 300, 400, 500];

/** A Metadata-level ResponseComplete event, shaped as kube-apiserver writes it. */
function auditEvent(grant: { id: string; requester: string }, n: number) {
  const at = new Date().toISOString().replace('Z', '123Z');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/payments/pods/ledger-${n % 50}`,
    verb: 'get',
    user: {
      username: `breakglass:${grant.requester}`,
      groups: ['breakglass:cluster-admin', 'system:authenticated'],
      extra: { 'breakglass.io/grant': [grant.id] },
    },
    sourceIPs: ['10.20.30.40'],
    userAgent: 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd',
    objectRef: { resource: 'pods', namespace: 'payments', name: `ledger-${n % 50}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: at,
    stageTimestamp: at,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding "breakglass-cluster-admin"' },
  };
}

function eventList(plan: LoadPlan, sender: number, list: number) {
  const size = SIZES[(sender + list) % SIZES.length];
  const own = Math.floor(plan.grants.length / plan.senders);
  const identity = (i: number) => (plan.partitioned ? sender + plan.senders * (i % own) : (sender * 7 + list * 3 + i) % plan.grants.length);
  const items = Array.from({ length: size }, (_, i) => auditEvent(plan.grants[identity(i)], i));
  return { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items };
}

async function run(plan: LoadPlan) {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.senders });
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        plan.url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${plan.token}` },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  // Bodies are made before the clock starts: the broker is measured, not this process's JSON.stringify.
  const lists = Array.from({ length: plan.senders }, (_, sender) => Array.from({ length: plan.listsPerSender }, (_, list) => eventList(plan, sender, list)));
  const bodies = lists.map((perSender) => perSender.map((list) => JSON.stringify(list)));
  await Promise.all(Array.from({ length: plan.senders }, (_, sender) => post(JSON.stringify(eventList(plan, sender, -1))))); // warm-up
  process.send!({ phase: 'ingest-start' });
  let failures = 0;
  const ingestStart = process.hrtime.bigint();
  await Promise.all(
    bodies.map(async (perSender) => {
      for (const body of perSender) if ((await post(body)) !== 200) failures++;
    }),
  );
  const ingestSeconds = Number(process.hrtime.bigint() - ingestStart) / 1e9;
  agent.destroy();
  process.send!({ phase: 'ingest-done' });

  // The same rows (one per event) with raw multi-row INSERTs, a statement per EventList, as many at once.
  const pool = new Pool({ connectionString: plan.databaseUrl, max: plan.senders });
  await pool.query(`CREATE TABLE IF NOT EXISTS raw_session_events (LIKE session_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
  await pool.query(`TRUNCATE raw_session_events`); // the second layout of a run starts empty too
  const hash = 'a'.repeat(64);
  let seq = 0;
  const rawStart = process.hrtime.bigint();
  await Promise.all(
    lists.map(async (perSender) => {
      for (const list of perSender) {
        const params: unknown[] = [];
        const values = list.items.map((e) => {
          const detail = JSON.stringify({
            apiGroup: null,
            auditID: e.auditID,
            name: e.objectRef.name,
            namespace: e.objectRef.namespace,
            resource: e.objectRef.resource,
            subresource: null,
            userAgent: e.userAgent,
            verb: e.verb,
          });
          const row = [
            e.user.extra['breakglass.io/grant'][0],
            ++seq,
            'k8s',
            `GET ${e.requestURI}`,
            'prod',
            e.user.username,
            e.sourceIPs[0],
            e.requestReceivedTimestamp,
            e.stageTimestamp,
            200,
            new Date(),
            false,
            hash,
            hash,
            2,
            detail,
          ];
          return `(${row.map((value) => `$${params.push(value)}`).join(', ')})`;
        });
        await pool.query(
          `INSERT INTO raw_session_events (grant_id, seq, type, command, cwd, "user", host, started_at, finished_at, exit_code, received_at, late, prev_hash, hash, format, detail) VALUES ${values.join(', ')}`,
          params,
        );
      }
    }),
  );
  const rawSeconds = Number(process.hrtime.bigint() - rawStart) / 1e9;
  await pool.end();
  const events = lists.flat().reduce((sum, list) => sum + list.items.length, 0);
  return { ingestSeconds, rawSeconds, failures, events, lists: lists.flat().length };
}

servePlan<LoadPlan, Awaited<ReturnType<typeof run>>>(run);
