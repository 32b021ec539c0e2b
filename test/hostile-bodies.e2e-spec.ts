import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { freePort } from './support/ports';
import { spawnService, waitUntilReady } from './support/service-process';
import { createTestDatabase } from './support/test-database';
import { EXAMPLE_POLICY } from './support/test-service';

// Bodies built to exhaust a recursive walk, sent without credentials to every route of a real
// service process: a crash would end the process, so this runs the built service, not Nest in Jest.

const NESTING = 9000;
const deepWithEscape = `${'['.repeat(NESTING)}"\\u0041"${']'.repeat(NESTING)}`;
const deepPlain = `{"target":${'['.repeat(NESTING)}1${']'.repeat(NESTING)}}`;
const deepObject = `${'{"a":'.repeat(NESTING)}"\\u0000"${'}'.repeat(NESTING)}`;
// Webhooks are hidden from the OpenAPI document; they parse bodies all the same.
const WEBHOOKS = ['/v1/webhooks/github', '/v1/webhooks/gitlab', '/v1/webhooks/flux', '/v1/webhooks/argocd'];

describe('hostile bodies', () => {
  jest.setTimeout(120_000);

  it('answers 400 to deeply nested bodies on every route and keeps serving', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'bodies-'));
    const port = await freePort();
    const service = spawnService({ DATABASE_URL: database.url, BREAKGLASS_DATA_DIR: dataDir, BREAKGLASS_POLICY: EXAMPLE_POLICY, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(base, service);
      const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> };
      const routes = [...Object.keys(document.paths).map((route) => route.replace(/\{id\}/g, 'BG-2026-000001')), ...WEBHOOKS, '/healthz', '/no/such/route'];
      expect(routes.length).toBeGreaterThan(20);
      const answers: string[] = [];
      for (const route of routes) {
        for (const body of [deepWithEscape, deepPlain, deepObject]) {
          for (const method of ['POST', 'PUT']) {
            const response = await fetch(`${base}${route}`, { method, headers: { 'content-type': 'application/json' }, body });
            const answer = (await response.json()) as { error?: string; message?: string };
            answers.push(`${method} ${route} ${response.status} ${answer.error}`);
            expect({ route, method, status: response.status, error: answer.error }).toEqual({ route, method, status: 400, error: 'validation_failed' });
            expect(answer.message).toMatch(/nests deeper than 64 levels/);
          }
        }
      }
      expect(answers.length).toBe(routes.length * 6);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(service.child.exitCode).toBeNull();
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await database.drop();
    }
  });
});
