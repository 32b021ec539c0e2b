import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { AuditLog } from '../src/audit/audit-log.service';
import { CredentialReconciler } from '../src/credentials/credential-reconciler';
import { Installation } from '../src/credentials/installation';
import { withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

const POLICY = `
targets:
  - name: cluster
    environment: production
    credential: { type: jwt, audience: kubernetes }
  - name: db
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [lifecycle_rw] }
`;
const request = { target: 'cluster', incident: 'INC-1', reason: 'Restoring the ingress controller after a bad rollout' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function expiredEvents(sut: TestService): Promise<{ grant: string }[]> {
  const auditor = await sut.token('auditor', ['compliance']);
  return (await sut.http.get('/v1/audit?action=grant.expired&limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.events;
}

describe('grant expiry across restarts and instances', () => {
  it('expires at start a grant whose window ended while the service was down', async () => {
    const first = await startTestService({ policyYaml: POLICY });
    const engineer = await first.token('oncall-1', ['engineer']);
    const { body } = await first.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ ...request, durationSeconds: 2 })
      .expect(201);
    // Stop the service before the grant ends; keep its database for the next instance.
    const second = await (async () => {
      await first.app.close();
      await sleep(2500);
      return startTestService({ policyYaml: POLICY, alongside: first });
    })();
    try {
      await sleep(300);
      const view = (await second.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${engineer}`).expect(200)).body;
      expect(view).toMatchObject({ status: 'expired', endedBy: 'system:expiry' });
      expect(await expiredEvents(second)).toHaveLength(1);
    } finally {
      await second.close();
      await first.dataSource.destroy();
      await first.database.drop();
    }
  });

  it('processes each expiry exactly once with two instances on one database', async () => {
    const a = await startTestService({ policyYaml: POLICY });
    const b = await startTestService({ policyYaml: POLICY, alongside: a });
    try {
      const engineer = await a.token('oncall-1', ['engineer']);
      const created = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? a : b).http
            .post('/v1/grants')
            .set('Authorization', `Bearer ${engineer}`)
            .send({ ...request, durationSeconds: 2 }),
        ),
      );
      expect(created.map((c) => c.status)).toEqual(Array(12).fill(201));
      await sleep(3500);
      const expired = await expiredEvents(a);
      expect(expired.map((e) => e.grant).sort()).toEqual(created.map((c) => c.body.id).sort());
      expect(await a.app.get(AuditLog).verify()).toMatchObject({ valid: true });
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('signing key rotation', () => {
  let sut: TestService;
  beforeAll(async () => {
    sut = await startTestService({ policyYaml: POLICY });
  });
  afterAll(() => sut.close());

  it('rotates the key of every algorithm: new tokens use the new keys, old tokens keep verifying until they expire', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    const admin = await sut.token('admin-1', ['admin']);
    const before = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ ...request, durationSeconds: 600 })
        .expect(201)
    ).body;
    const oldAccessKid = decodeProtectedHeader(before.credential.token).kid;
    const oldSessionKid = decodeProtectedHeader(before.sessionToken).kid;

    await sut.http.post('/v1/keys/rotate').set('Authorization', `Bearer ${engineer}`).expect(403);
    const rotated = (await sut.http.post('/v1/keys/rotate').set('Authorization', `Bearer ${admin}`).expect(200)).body;
    const newKid = (alg: string) => rotated.keys.find((key: { alg: string }) => key.alg === alg).kid;
    expect(rotated.keys.map((key: { alg: string }) => key.alg).sort()).toEqual(['EdDSA', 'RS256']);
    expect(rotated.kid).toBe(newKid('EdDSA'));
    expect([...rotated.retired].sort()).toEqual([oldAccessKid, oldSessionKid].sort());

    const after = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ ...request, durationSeconds: 600 })
        .expect(201)
    ).body;
    expect(decodeProtectedHeader(after.credential.token)).toMatchObject({ alg: 'RS256', kid: newKid('RS256') });
    expect(decodeProtectedHeader(after.sessionToken)).toMatchObject({ alg: 'EdDSA', kid: newKid('EdDSA') });

    const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([oldAccessKid, oldSessionKid, newKid('RS256'), newKid('EdDSA')].sort());
    for (const token of [before.credential.token, after.credential.token]) {
      await jwtVerify(token, createLocalJWKSet(jwks), { audience: 'kubernetes' });
      const introspection = (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${engineer}`).send({ token }).expect(200)).body;
      expect(introspection).toMatchObject({ active: true, jti: decodeJwt(token).jti });
    }
    const [rotation] = (
      await sut.http
        .get('/v1/audit?action=keys.rotated')
        .set('Authorization', `Bearer ${await sut.token('a', ['security'])}`)
        .expect(200)
    ).body.events;
    expect(rotation).toMatchObject({ actor: 'admin-1', data: { kid: rotated.kid, retired: rotated.retired, keys: rotated.keys } });
  });

  it('keeps private keys sealed at rest', async () => {
    const rows = await sut.dataSource.query('SELECT sealed_private_key FROM signing_keys');
    for (const row of rows) expect(row.sealed_private_key).not.toMatch(/PRIVATE KEY/);
  });
});

describe('credential reconciler', () => {
  it('drops login roles no live grant accounts for, and leaves other roles alone', async () => {
    const sut = await startTestService({ policyYaml: POLICY });
    try {
      const installation = sut.app.get(Installation).id;
      const stray = `bg_${installation}_000999_zz99`;
      const foreign = `bg_zzzzzz_000999_zz99`;
      const engineer = await sut.token('oncall-1', ['engineer']);
      const live = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ ...request, target: 'db', durationSeconds: 600 })
          .expect(201)
      ).body;
      await withClient(sut.database.url, (db) => db.query(`CREATE ROLE ${stray} LOGIN; CREATE ROLE ${foreign} LOGIN;`));
      try {
        await sut.app.get(CredentialReconciler).reconcile();
        const roles = (
          await withClient(sut.database.url, (db) =>
            db.query(`SELECT rolname FROM pg_roles WHERE rolname IN ($1, $2, $3)`, [stray, foreign, live.credential.username]),
          )
        ).rows.map((r) => r.rolname);
        expect(roles.sort()).toEqual([foreign, live.credential.username].sort());
      } finally {
        await withClient(sut.database.url, (db) => db.query(`DROP ROLE IF EXISTS ${foreign}`));
      }
    } finally {
      await sut.close();
    }
  });
});
