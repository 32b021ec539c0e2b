import { githubDelivery } from './support/forges';
import { startTestService, type TestService } from './support/test-service';

const GITHUB_SECRET = 'rate-limit-github-secret-0123456789';

describe('rate limits on break-glass requests and webhooks', () => {
  let sut: TestService;
  let alice: string;
  let bob: string;

  const request = (token: string) =>
    sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${token}`)
      .send({ target: 'prod-cluster', incident: 'INC-5', reason: 'Checking the rate limit on grant requests', durationSeconds: 60 });
  const grantsOf = async (requester: string) => Number((await sut.dataSource.query(`SELECT count(*) AS n FROM grants WHERE requester = $1`, [requester]))[0].n);

  beforeAll(async () => {
    sut = await startTestService({ env: { BREAKGLASS_RATE_LIMIT_GRANTS: '3', BREAKGLASS_RATE_LIMIT_WEBHOOKS: '4', GITHUB_WEBHOOK_SECRET: GITHUB_SECRET } });
    alice = await sut.token('alice', ['engineer']);
    bob = await sut.token('bob', ['engineer']);
  });
  afterAll(() => sut.close());

  it('answers 429 rate_limited (with Retry-After) past the per-caller limit, writing nothing; other callers and reads are unaffected', async () => {
    for (let i = 0; i < 3; i++) await request(alice).expect(201);
    const refused = await request(alice).expect(429);
    expect(refused.body).toMatchObject({ error: 'rate_limited', details: { limit: 3, windowSeconds: 60, retryAfterSeconds: expect.any(Number) } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await grantsOf('alice')).toBe(3);
    await sut.auditSettled();
    const requested = await sut.dataSource.query(`SELECT count(*) AS n FROM audit_events WHERE action = 'grant.requested' AND actor = 'alice'`);
    expect(Number(requested[0].n)).toBe(3);

    await request(bob).expect(201);
    for (let i = 0; i < 10; i++) await sut.http.get('/v1/grants').set('Authorization', `Bearer ${alice}`).expect(200);
  });

  it('limits webhook deliveries per source address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ping = githubDelivery(GITHUB_SECRET, 'ping', { zen: 'Design for failure.', hook_id: i });
      statuses.push((await sut.http.post('/v1/webhooks/github').set(ping.headers).send(ping.body)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});
