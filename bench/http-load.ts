import { Agent, request } from 'node:http';
import { servePlan } from './load-process';

// A small closed-loop HTTP load generator run in its own process (fork): `concurrency` clients
// each send requests back to back for `durationMs`, recording every latency.

export interface HttpLoadPlan {
  url: string;
  path: string;
  token: string;
  body: unknown;
  concurrency: number;
  durationMs: number;
}

export interface HttpLoadResult {
  requests: number;
  statuses: Record<string, number>;
  latenciesMs: number[];
  seconds: number;
  /** CPU seconds this load process used while sending. */
  cpuSeconds: number;
}

async function run(plan: HttpLoadPlan): Promise<HttpLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const payload = JSON.stringify(plan.body);
  const statuses: Record<string, number> = {};
  const latenciesMs: number[] = [];
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(
        `${plan.url}${plan.path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${plan.token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
            statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const start = Date.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (Date.now() - start < plan.durationMs) await once();
    }),
  );
  agent.destroy();
  const cpu = process.cpuUsage(cpuBefore);
  return { requests: latenciesMs.length, statuses, latenciesMs, seconds: (Date.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

servePlan<HttpLoadPlan, Awaited<ReturnType<typeof run>>>(run);
