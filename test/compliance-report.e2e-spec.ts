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
      .send({ reason: 'Read-only investigation, <b>nothing</b> to document' })
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
    expect(body.waived).toEqual([
      expect.objectContaining({ kind: 'retro_pr', by: 'auditor-1', reason: 'Read-only investigation, <b>nothing</b> to document' }),
    ]);
    expect(body.controls['SOC2:CC8.1']).toBeGreaterThan(0);
    expect(body.auditChain).toMatchObject({ valid: true });
    // The population, one row per grant with its clocks' outcome; the weekly and bucketed figures add up.
    expect(body.perGrant.map((g: { requester: string; retroPr: string; review: string }) => [g.requester, g.retroPr, g.review])).toEqual([
      ['alice', 'satisfied', 'running'],
      ['bob', 'satisfied_late', 'satisfied'],
      ['carol', 'waived', 'running'],
    ]);
    expect(body.perGrant[0].timeToPrSeconds).toBe(body.retroPr.timeToPrSeconds.p50);
    expect(body.perGrant[2].timeToPrSeconds).toBeNull();
    const sum = (list: { onTime: number; late: number }[], key: 'onTime' | 'late') => list.reduce((total, w) => total + w[key], 0);
    expect(sum(body.retroPr.byWeek, 'onTime')).toBe(1);
    expect(sum(body.retroPr.byWeek, 'late')).toBe(1);
    expect(new Date(body.retroPr.byWeek[0].weekStart).getUTCDay()).toBe(1); // weeks start on Monday
    expect(body.retroPr.timeToPrBuckets.map((b: { label: string }) => b.label)).toEqual(['< 15m', '15m–1h', '1h–4h', '4h–1d', '1d–3d', '≥ 3d']);
    expect(body.retroPr.timeToPrBuckets[0].count).toBe(2);
  });

  it('refuses a period whose start is after its end', async () => {
    const { body } = await sut.http
      .get(`/v1/reports/compliance?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z&format=html`)
      .set('Authorization', `Bearer ${compliance}`)
      .expect(400);
    expect(body.error).toBe('invalid_time_range');
  });

  it('renders the same numbers as a self-contained HTML page with inline SVG charts', async () => {
    const to = new Date(Date.now() + 1000).toISOString();
    const range = `from=${started}&to=${to}`;
    const json = (await sut.http.get(`/v1/reports/compliance?${range}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    const { text: html, headers } = await sut.http.get(`/v1/reports/compliance?${range}&format=html`).set('Authorization', `Bearer ${compliance}`).expect(200);
    expect(headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    // Nothing loads from elsewhere: no src/href attributes, no CSS url() or @import, no script.
    expect(html).not.toMatch(/\s(src|href)=|url\(|@import|<script/i);
    expect(html.match(/<svg /g)).toHaveLength(3);
    const card = (label: string) => new RegExp(`<li><span>${label}</span><strong>([^<]*)</strong>`).exec(html)?.[1];
    expect(card('Grants')).toBe(String(json.grants.total));
    expect(card('Retroactive PR on time')).toBe(`${(json.retroPr.onTimeRate * 100).toFixed(1)} %`);
    expect(card('Denied requests')).toBe(String(json.denials.total));
    for (const grant of json.perGrant) expect(html).toContain(`<td>${grant.id}</td>`);
    // Durations for people, not raw seconds.
    expect(html).toMatch(/Time to PR: p50 \d+s, p90 \d+s, max \d+s\./);
    expect(html).not.toMatch(/\d s\b/);
    // A reason with markup is shown as text, never as markup.
    expect(html).not.toContain('<b>');
  });

  it('renders the same report as Markdown', async () => {
    const { text, headers } = await sut.http.get(`/v1/reports/compliance?from=${started}&format=md`).set('Authorization', `Bearer ${compliance}`).expect(200);
    expect(headers['content-type']).toMatch(/text\/markdown/);
    expect(text).toContain('# breakglass compliance report');
    expect(text).toContain('on-time rate **50.0 %**');
    expect(text).toMatch(/\| incident_invalid \| 1 \|/);
    expect(text).toContain('Audit chain: **valid**');
    expect(text).toMatch(/Time to PR: p50 \d+s, p90 \d+s, max \d+s\./);
    expect(text).toMatch(/\| BG-\d{4}-\d{6} \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \| cluster \(production\) \| alice \|/);
  });
});
