import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DevIssuer } from '../src/auth/dev-issuer';
import { MasterKey } from '../src/credentials/master-key';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady } from './support/service-process';
import { createTestDatabase, withClient } from './support/test-database';

const run = (command: string, args: string[]) => promisify(execFile)(command, args, { timeout: 10_000 });

describe('secrets never reach the logs', () => {
  jest.setTimeout(60_000);

  it('greps every log line of a verbose run for every secret it issued', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'secrets-'));
    const policy = path.join(dataDir, 'policy.yaml');
    writeFileSync(
      policy,
      `
notify: { security: [log] }
channels: { log: { type: log } }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, notifyOnUse: [log] }
  - { name: db, environment: production, credential: { type: postgres, adminUrl: embedded, grantRoles: [secrets_rw] }, notifyOnUse: [log] }
`,
    );
    const port = await freePort();
    const service = spawnService({
      DATABASE_URL: database.url,
      BREAKGLASS_DATA_DIR: dataDir,
      BREAKGLASS_POLICY: policy,
      PORT: String(port),
      LOG_LEVEL: 'verbose',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(base, service);
      const issuer = await DevIssuer.open(dataDir);
      const engineer = await issuer.mint({ subject: 'oncall-1', roles: ['engineer'] });
      const post = (url: string, token: string, body: unknown) =>
        fetch(`${base}${url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<Record<string, any>>);
      const secrets: string[] = [engineer];
      const compliance = await issuer.mint({ subject: 'auditor-1', roles: ['compliance', 'security'] });
      const get = (url: string) => fetch(`${base}${url}`, { headers: { authorization: `Bearer ${compliance}` } }).then((r) => r.text());
      const answers: string[] = [];
      for (const target of ['cluster', 'db']) {
        const grant = await post('/v1/grants', engineer, { target, incident: 'INC-1', reason: 'Checking that no secret is ever logged', durationSeconds: 600 });
        const credential = grant.credential;
        secrets.push(grant.sessionToken, ...(credential.type === 'jwt' ? [credential.token] : [credential.password, credential.url]));
        if (credential.type === 'postgres') {
          // The target role's own password: only the proxy unseals it (it is never in the answer).
          expect(credential.access).toBe('proxy');
          const [{ sealed }] = await withClient(
            database.url,
            async (db) => (await db.query(`SELECT upstream_secret AS sealed FROM credentials WHERE grant_id = $1 AND purpose = 'access'`, [grant.id])).rows,
          );
          const upstreamPassword = MasterKey.open(dataDir).unseal(sealed, `proxy-upstream:${credential.username}`).toString('utf8');
          expect(upstreamPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
          expect(JSON.stringify(grant)).not.toContain(upstreamPassword);
          secrets.push(upstreamPassword);
          await run('psql', [credential.url, '-XAtc', 'select 1']);
        }
        await post(`/v1/grants/${grant.id}/events`, grant.sessionToken, { events: [{ seq: 1, type: 'command', command: 'ls' }] });
        answers.push(await get(`/v1/grants/${grant.id}`), await get(`/v1/grants/${grant.id}/events`), await get(`/v1/grants/${grant.id}/evidence`));
        await post('/v1/credentials/introspect', engineer, { token: credential.token ?? 'x' });
        await post(`/v1/grants/${grant.id}/revoke`, engineer, { reason: 'done' });
      }
      await post('/v1/credentials/introspect', engineer, { token: `${secrets[1]}tampered` });
      await new Promise((resolve) => setTimeout(resolve, 1500)); // let the dispatcher log its notices
      const output = service.output();
      expect(output).toMatch(/"context":"notice"/); // the verbose run did log, including notices
      for (const secret of secrets) expect(output.includes(secret)).toBe(false);
      // Nor in what the API answers afterwards, the audit export, or any table (outbox rows included).
      answers.push(await get('/v1/evidence/export?format=jsonl'));
      const tables = await withClient(database.url, async (db) => {
        const names = (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.map((row) => row.tablename);
        const dumps = await Promise.all(names.map(async (name) => JSON.stringify((await db.query(`SELECT * FROM ${name}`)).rows)));
        return dumps.join('\n');
      });
      expect(tables).toContain('glass_broken'); // the outbox rows are in the dump
      for (const secret of secrets) {
        for (const answer of answers) expect(answer.includes(secret)).toBe(false);
        expect(tables.includes(secret)).toBe(false);
      }
      expect(output).not.toMatch(/PGPASSWORD|password=/i);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await database.drop();
    }
  });
});
