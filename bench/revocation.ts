import { Client } from 'pg';
import { DevIssuer } from '../src/auth/dev-issuer';
import { percentile, report, startBenchService } from './harness';

// Target (bench/README.md): revocation -> introspection active:false and Postgres backend terminated <= 1 s.
// For 100 grants of each kind (25 with --quick): a jwt grant is revoked and introspected until
// inactive; a postgres grant has an open session whose termination is timed from the revoke request.

const POLICY = `
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
  - { name: db, environment: production, credential: { type: postgres, adminUrl: embedded, grantRoles: [bench_rw] } }
`;

export async function revocation(): Promise<void> {
  const bench = await startBenchService(POLICY);
  const rounds = bench.quick ? 25 : 100;
  try {
    const issuer = await DevIssuer.open(bench.dataDir);
    const engineer = await issuer.mint({ subject: 'bench', roles: ['engineer'] });
    const call = (path: string, body: unknown) =>
      fetch(`${bench.service.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Record<string, any>>);
    const request = (target: string) => call('/v1/grants', { target, incident: 'INC-1', reason: 'benchmarking revocation', durationSeconds: 3600 });
    const toInactive: number[] = [];
    const toTerminated: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const jwt = await request('cluster');
      await call(`/v1/grants/${jwt.id}/revoke`, { reason: 'bench' });
      const answered = process.hrtime.bigint();
      while ((await call('/v1/credentials/introspect', { token: jwt.credential.token })).active) {
        // revocation must be visible at once; a loop here would show up in the figures
      }
      toInactive.push(Number(process.hrtime.bigint() - answered) / 1e6);

      const db = await request('db');
      const session = new Client({ connectionString: db.credential.url });
      await session.connect();
      // pg may emit 'error' more than once for one termination; the first one is the moment.
      const terminated = new Promise<bigint>((resolve) => session.on('error', () => resolve(process.hrtime.bigint())));
      const sent = process.hrtime.bigint();
      await call(`/v1/grants/${db.id}/revoke`, { reason: 'bench' });
      toTerminated.push(Number((await terminated) - sent) / 1e6);
      await session.end().catch(() => undefined);
    }
    const sorted = (values: number[]) => values.sort((a, b) => a - b);
    sorted(toInactive);
    sorted(toTerminated);
    const round = (value: number) => Math.round(value * 10) / 10;
    report(
      'revocation',
      {
        rounds,
        introspectInactiveP50Ms: round(percentile(toInactive, 50)),
        introspectInactiveP99Ms: round(percentile(toInactive, 99)),
        backendTerminatedP50Ms: round(percentile(toTerminated, 50)),
        backendTerminatedP99Ms: round(percentile(toTerminated, 99)),
      },
      { introspectInactiveP99Ms: '<= 1000', backendTerminatedP99Ms: '<= 1000' },
    );
  } finally {
    await bench.close();
  }
}
