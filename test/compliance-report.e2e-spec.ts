import { startTestService, type TestService } from './support/test-service';

const POLICY = `
defaults:
  retroPr: { window: 2s }
  review: { window: 1h }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes }, repo: acme/infra }
  - { name: db-staging, environment: staging, credential: { type: jwt, audience: pg } }
`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('compliance report', () => {
  let sut: TestService;
  let compliance: string;
  const started = new Date(Date.now() - 1000).toISOString();

  beforeAll(async () => {
    sut = await startTestService({ policyYaml: POLICY });
    compliance = await sut.token('auditor-1', ['compliance']);
    const security = await sut.token('sec-1', ['security']);
    const request = async (who: string, target: string) => {
      const token = await sut.token(who, ['engineer']);
      return (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${token}`)
          .send({ target, incident: 'INC-1', reason: 'A scenario for the compliance report', durationSeconds: 600 })
          .expect(201)
      ).body;
    };
    const link = async (grant: { id: string }, number: number) =>
      sut.http
        .post(`/v1/grants/${grant.id}/pull-requests`)
        .set('Authorization', `Bearer ${security}`)
        .send({ url: `https://github.com/acme/infra/pull/${number}` })
        .expect(200);

    const onTime = await request('alice', 'cluster');
    const late = await request('bob', 'cluster');
    const waived = await request('carol', 'db-staging');
    await link(onTime, 1);
    await sleep(2300);
    await link(late, 2);
    const clock = (await sut.http.get(`/v1/sla?grant=${waived.id}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0];
    await sut.http
      .post(`/v1/sla/${clock.id}/waive`)
      .set('Authorization', `Bearer ${compliance}`)
      .send({ reason: 'Read-only investigation, nothing to document' })
      .expect(200);
    // A review counts for the clock once the grant has ended (an interim one would not).
    await sut.http
      .post(`/v1/grants/${late.id}/revoke`)
      .set('Authorization', `Bearer ${security}`)
      .send({ reason: 'Reviewed: access no longer needed' })
      .expect(200);
    await sut.http
      .post(`/v1/grants/${late.id}/reviews`)
      .set('Authorization', `Bearer ${security}`)
      .send({ outcome: 'violation', notes: 'Changed a table outside the incident' })
      .expect(201);
    const denied = await sut.token('dave', ['engineer']);
    await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${denied}`)
      .send({ target: 'cluster', incident: 'whatever', reason: 'A scenario for the compliance report', durationSeconds: 60 })
      .expect(403);
  });
  afterAll(() => sut.close());

  it('matches the scenario: one PR on time, one late, one waived; one violation; one denial', async () => {
    const { body } = await sut.http
      .get(`/v1/reports/compliance?from=${started}&to=${new Date(Date.now() + 1000).toISOString()}`)
      .set('Authorization', `Bearer ${compliance}`)
      .expect(200);
    expect(body.grants).toEqual({
      total: 3,
      byTarget: [
        { target: 'cluster', environment: 'production', count: 2, flagged: 0 },
        { target: 'db-staging', environment: 'staging', count: 1, flagged: 0 },
      ],
    });
    expect(body.denials).toEqual({ total: 1, byReason: [{ code: 'incident_invalid', count: 1 }] });
    expect(body.retroPr).toMatchObject({ total: 3, onTime: 1, late: 1, overdue: 0, waived: 1, pending: 0, onTimeRate: 0.5 });
    expect(body.retroPr.timeToPrSeconds.p50).toBeLessThanOrEqual(1);
    expect(body.retroPr.timeToPrSeconds.max).toBeGreaterThanOrEqual(2);
    // The waived clock had breached (2 s window) before compliance waived it: both are breaches.
    expect(body.breaches.map((b: { state: string }) => b.state).sort()).toEqual(['satisfied_late', 'waived']);
    expect(body.reviews).toMatchObject({ total: 3, onTime: 1, pending: 2 });
    expect(body.violations).toEqual([expect.objectContaining({ reviewer: 'sec-1', notes: 'Changed a table outside the incident' })]);
    expect(body.waived).toEqual([expect.objectContaining({ kind: 'retro_pr', by: 'auditor-1', reason: 'Read-only investigation, nothing to document' })]);
    expect(body.controls['SOC2:CC8.1']).toBeGreaterThan(0);
    expect(body.auditChain).toMatchObject({ valid: true });
  });

  it('renders the same report as Markdown', async () => {
    const { text, headers } = await sut.http.get(`/v1/reports/compliance?from=${started}&format=md`).set('Authorization', `Bearer ${compliance}`).expect(200);
    expect(headers['content-type']).toMatch(/text\/markdown/);
    expect(text).toContain('# breakglass compliance report');
    expect(text).toContain('on-time rate **50.0 %**');
    expect(text).toMatch(/\| incident_invalid \| 1 \|/);
    expect(text).toContain('Audit chain: **valid**');
  });
});
