import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as path from 'node:path';
import { DevIssuer } from '../src/auth/dev-issuer';
import { PagerDutyEventsReceiver } from './support/pagerduty-events';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady } from './support/service-process';
import { createTestDatabase, withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';
import { WebhookReceiver } from './support/webhook-receiver';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REASON = 'Restoring the ingress controller after a bad rollout';

describe('escalation delivery under failure', () => {
  jest.setTimeout(90_000);

  it('delivers a step once after the process is killed between claiming and delivering it', async () => {
    const receiver = new PagerDutyEventsReceiver();
    const events = await receiver.start();
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'kill-'));
    const policy = path.join(dataDir, 'policy.yaml');
    writeFileSync(
      policy,
      `
defaults:
  retroPr: { window: 2s }
  escalation: [ { after: 0s, notify: [pd] } ]
channels:
  pd: { type: pagerduty, routingKey: KILLTESTROUTINGKEY }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`,
    );
    const port = await freePort();
    const env = {
      DATABASE_URL: database.url,
      BREAKGLASS_DATA_DIR: dataDir,
      BREAKGLASS_POLICY: policy,
      PORT: String(port),
      PAGERDUTY_EVENTS_SERVER: events.server,
      PAGERDUTY_CA_FILE: events.caFile,
      BREAKGLASS_RETRY_BASE_MS: '200',
    };
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      const first = spawnService(env);
      await waitUntilReady(baseUrl, first);
      const token = await (await DevIssuer.open(dataDir)).mint({ subject: 'oncall-1', roles: ['engineer'] });
      receiver.hold = true; // the broker's request reaches PagerDuty but no answer ever comes back
      const grant = (await (
        await fetch(`${baseUrl}/v1/grants`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ target: 'cluster', incident: 'INC-1', reason: REASON, durationSeconds: 600 }),
        })
      ).json()) as { id: string };
      const dedupKey = `breakglass/${grant.id}/retro_pr`;
      while (!receiver.requests.includes(dedupKey)) await sleep(25);
      first.child.kill('SIGKILL');
      await first.exited;

      receiver.hold = false;
      const second = spawnService(env);
      try {
        await waitUntilReady(baseUrl, second);
        while (!receiver.accepted.some((e) => e.dedup_key === dedupKey)) await sleep(25);
        await sleep(1000);
        expect(receiver.accepted.filter((e) => e.dedup_key === dedupKey)).toHaveLength(1);
        const state = await withClient(database.url, async (db) => ({
          notifications: (await db.query(`SELECT status, attempts FROM notifications WHERE grant_id = $1`, [grant.id])).rows,
          steps: (
            await db.query(`SELECT s.state FROM sla_steps s JOIN sla_clocks c ON c.id = s.clock_id WHERE c.grant_id = $1 AND c.kind = 'retro_pr'`, [grant.id])
          ).rows,
          escalations: Number((await db.query(`SELECT count(*) FROM audit_events WHERE grant_id = $1 AND action = 'sla.escalated'`, [grant.id])).rows[0].count),
        }));
        // The killed attempt rolled back with its transaction: one step, one row, one attempt.
        expect(state).toEqual({ notifications: [{ status: 'delivered', attempts: 1 }], steps: [{ state: 'fired' }], escalations: 1 });
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await receiver.stop();
      await database.drop();
    }
  });

  it('delivers every step exactly once with two instances and 200 clocks due together', async () => {
    const secret = 'webhook-secret-for-two-instances';
    const receiver = new WebhookReceiver(secret);
    const url = await receiver.start();
    const policyYaml = `
defaults:
  retroPr: { window: 6s }
  escalation: [ { after: 0s, notify: [hook] } ]
channels:
  hook: { type: webhook, url: '${url}', secret: '${secret}' }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`;
    const a: TestService = await startTestService({ policyYaml });
    const b = await startTestService({ policyYaml, alongside: a });
    try {
      const grants: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const created = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const sut = i % 2 ? a : b;
            const token = await sut.token(`oncall-${batch}-${i}`, ['engineer']);
            return (
              await sut.http
                .post('/v1/grants')
                .set('Authorization', `Bearer ${token}`)
                .send({ target: 'cluster', incident: 'INC-2', reason: REASON, durationSeconds: 600 })
                .expect(201)
            ).body.id as string;
          }),
        );
        grants.push(...created);
      }
      const lastDue = Date.now() + 6000;
      while (receiver.received.length < 200 && Date.now() < lastDue + 10_000) await sleep(100);
      await sleep(1500);
      const perGrant = new Map<string, number>();
      for (const hook of receiver.received) perGrant.set(String(hook.body.details.grant), (perGrant.get(String(hook.body.details.grant)) ?? 0) + 1);
      expect([...perGrant.keys()].sort()).toEqual([...grants].sort());
      expect([...perGrant.values()].every((count) => count === 1)).toBe(true);
      expect(receiver.received.every((hook) => hook.signatureValid && hook.body.notice === 'sla_breached')).toBe(true);
      const [outbox] = await a.dataSource.query(
        `SELECT count(*)::int AS rows, count(*) FILTER (WHERE status = 'delivered' AND attempts = 1)::int AS once FROM notifications`,
      );
      expect(outbox).toEqual({ rows: 200, once: 200 });
    } finally {
      await b.close();
      await a.close();
      await receiver.stop();
    }
  });
});

describe('a webhook receiver that refuses, fails and then answers slowly', () => {
  jest.setTimeout(60_000);

  it('delivers the notice once, every attempt recorded, retries backing off', async () => {
    // The receiver's script: 429 (rate limited), then 500, then a 204 that takes 1.5 s.
    const script = [429, 500, 'slow'] as const;
    const requests: { at: number; status: number }[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const step = script[Math.min(requests.length, script.length - 1)];
        const answer = (status: number) => {
          requests.push({ at: Date.now(), status });
          res.statusCode = status;
          if (status === 429) res.setHeader('retry-after', '1');
          res.end();
        };
        if (step === 'slow') setTimeout(() => answer(204), 1500);
        else answer(step);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    const sut = await startTestService({
      policyYaml: `
channels:
  hook: { type: webhook, url: '${url}' }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, notifyOnUse: [hook] }
`,
      env: { BREAKGLASS_RETRY_BASE_MS: '300' },
    });
    try {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const grant = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'cluster', incident: 'INC-3', reason: REASON, durationSeconds: 600 })
          .expect(201)
      ).body;
      const attemptsOf = () =>
        withClient(
          sut.database.url,
          async (db) =>
            (
              await db.query(
                `SELECT a.attempt, a.outcome, a.at FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id WHERE n.grant_id = $1 ORDER BY a.attempt`,
                [grant.id],
              )
            ).rows,
        );
      let attempts: { attempt: number; outcome: string; at: Date }[] = [];
      for (const started = Date.now(); Date.now() - started < 20_000; await sleep(100)) {
        attempts = await attemptsOf();
        if (attempts.some((a) => a.outcome === 'delivered')) break;
      }
      expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'delivered']);
      expect(requests.map((r) => r.status)).toEqual([429, 500, 204]);
      // Backoff: base 300 ms then 600 ms (±20 % jitter), measured at the receiver.
      const gaps = [requests[1].at - requests[0].at, requests[2].at - requests[1].at - 1500];
      expect(gaps[0]).toBeGreaterThanOrEqual(240);
      expect(gaps[1]).toBeGreaterThan(gaps[0] * 1.2);
      await sleep(1000);
      expect(requests).toHaveLength(3); // delivered once, never again
    } finally {
      await sut.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
