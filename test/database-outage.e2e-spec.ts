import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { DevIssuer } from '../src/auth/dev-issuer';
import { ensureDatabase } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady } from './support/service-process';
import { until } from './support/until';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the database stops and restarts under load', () => {
  jest.setTimeout(120_000);

  it('answers 503 while it is down, recovers by itself, and leaves no partial grant', async () => {
    const root = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'outage-'));
    const pgPort = await freePort();
    let postgres = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: pgPort, throwaway: true });
    const databaseUrl = await ensureDatabase(await postgres.start());
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const service = spawnService({ DATABASE_URL: databaseUrl, BREAKGLASS_DATA_DIR: root, PORT: String(port) });
    try {
      await waitUntilReady(base, service);
      const token = await (await DevIssuer.open(root)).mint({ subject: 'oncall-1', roles: ['engineer'] });
      const statuses: Record<string, number> = {};
      const errors: Record<string, number> = {};
      let running = true;
      const load = (async () => {
        while (running) {
          const response = await fetch(`${base}/v1/grants`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ target: 'prod-cluster', incident: 'INC-1', reason: 'Requests while the database goes away', durationSeconds: 600 }),
          }).catch(() => undefined);
          if (!response) continue;
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          if (response.status >= 500) {
            const body = (await response.json()) as { error: string };
            errors[body.error] = (errors[body.error] ?? 0) + 1;
          } else await response.body?.cancel();
        }
      })();
      await sleep(1000);
      await postgres.stop();
      await sleep(1500);
      const down = await fetch(`${base}/readyz`);
      expect(down.status).toBe(503);
      postgres = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: pgPort, throwaway: true });
      await postgres.start();
      await waitUntilReady(base, service, 20_000);
      const before = statuses['201'] ?? 0;
      await sleep(1500);
      running = false;
      await load;

      expect(service.child.exitCode).toBeNull(); // the broker survived the outage
      expect(statuses['201']).toBeGreaterThan(before); // and serves again
      expect(Object.keys(statuses).sort()).toEqual(['201', '503']);
      expect(errors).toEqual({ database_unavailable: expect.any(Number) });

      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        // Every committed grant's audit entries get sequenced, also those committed around the outage.
        await until('the audit backlog sequenced', async () => Number((await db.query('SELECT count(*) FROM audit_pending')).rows[0].count) === 0);
        const partial = await db.query(`
          SELECT g.id FROM grants g
           WHERE (SELECT count(*) FROM credentials c WHERE c.grant_id = g.id) <> 2
              OR (SELECT count(*) FROM sla_clocks s WHERE s.grant_id = g.id) <> 2
              OR (SELECT count(*) FROM audit_events a WHERE a.grant_id = g.id AND a.action = 'grant.activated') <> 1`);
        expect(partial.rows).toEqual([]);
        expect(Number((await db.query('SELECT count(*) FROM grants')).rows[0].count)).toBe(statuses['201']);
      } finally {
        await db.end();
      }
      const auditor = await (await DevIssuer.open(root)).mint({ subject: 'auditor', roles: ['compliance'] });
      expect(await (await fetch(`${base}/v1/audit/verify`, { headers: { authorization: `Bearer ${auditor}` } })).json()).toMatchObject({ valid: true });
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await postgres.stop();
    }
  });
});
