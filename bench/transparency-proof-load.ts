import { Agent, request } from 'node:http';
import { servePlan } from './load-process';

// The HTTP client of bench/transparency, in its own process (as an auditor's or witness's client
// is): inclusion proofs for random seqs, each followed by the HTTP floor (an authenticated
// GET /v1/me), one request at a time on one keep-alive connection. Answers the latencies in ms.

interface LoadPlan {
  url: string;
  token: string;
  treeSize: number;
  proofs: number;
  /** Requests first answered but not measured (JIT warm-up on both sides). */
  warmup: number;
}

async function run(plan: LoadPlan): Promise<{ proofMs: number[]; meMs: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(`${plan.url}${path}`, { agent, headers: { authorization: `Bearer ${plan.token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      });
      req.on('error', reject);
      req.end();
    });
  const proofMs: number[] = [];
  const meMs: number[] = [];
  for (let i = -plan.warmup; i < plan.proofs; i++) {
    const seq = 1 + Math.floor(Math.random() * plan.treeSize);
    const proof = await get(`/v1/audit/proofs/inclusion?seq=${seq}&treeSize=${plan.treeSize}`);
    if (proof.status !== 200 || !(JSON.parse(proof.body) as { proof: string[] }).proof.length)
      throw new Error(`inclusion proof for ${seq}: HTTP ${proof.status} ${proof.body.slice(0, 200)}`);
    const me = await get('/v1/me');
    if (me.status !== 200) throw new Error(`GET /v1/me: HTTP ${me.status}`);
    if (i < 0) continue;
    proofMs.push(proof.ms);
    meMs.push(me.ms);
  }
  agent.destroy();
  return { proofMs, meMs };
}

servePlan(run);
