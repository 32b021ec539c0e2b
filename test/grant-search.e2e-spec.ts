import { spawnCli } from './support/service-process';
import { startTestService, type TestService } from './support/test-service';

// The population an auditor samples from (issue 21): grants by activation period and incident,
// across pages, and the retro PR linked by hand from the CLI.

describe('grant history and search', () => {
  jest.setTimeout(60_000);
  let sut: TestService;
  let engineer: string;
  let compliance: string;

  const breakGlass = async (incident: string, who = engineer) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${who}`)
        .send({ target: 'prod-cluster', incident, reason: 'Building a population for the auditor' })
        .expect(201)
    ).body as { id: string; activatedAt: string };

  /** Every grant of a search, following `next` page by page. */
  const search = async (query: string, limit: number) => {
    const ids: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: { grants: { id: string }[]; next: string | null } = (
        await sut.http
          .get(`/v1/grants?${query}&limit=${limit}${after ? `&after=${after}` : ''}`)
          .set('Authorization', `Bearer ${compliance}`)
          .expect(200)
      ).body;
      ids.push(...page.grants.map((grant) => grant.id));
      after = page.next;
      pages++;
    } while (after && pages < 50);
    return { ids, pages };
  };

  beforeAll(async () => {
    sut = await startTestService();
    engineer = await sut.token('oncall-1', ['engineer']);
    compliance = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(() => sut.close());

  it('finds exactly the grants of an incident and an activation period, across pages', async () => {
    const before = [await breakGlass('INC-7001'), await breakGlass('INC-7002')];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = new Date().toISOString();
    const colleague = await sut.token('oncall-2', ['engineer']);
    const inside = [];
    for (let i = 0; i < 7; i++) inside.push(await breakGlass(i % 3 === 0 ? 'INC-7002' : 'INC-7003', i % 2 ? colleague : engineer));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const to = new Date().toISOString();
    const after = [await breakGlass('INC-7003')];

    const period = await search(`from=${from}&to=${to}`, 3);
    expect(period.ids.sort()).toEqual(inside.map((g) => g.id).sort());
    expect(period.pages).toBe(3);
    for (const grant of inside) expect(Date.parse(grant.activatedAt)).toBeGreaterThanOrEqual(Date.parse(from));

    const incident = await search('incident=inc-7002', 2); // ids are read in any case
    expect(incident.ids.sort()).toEqual([before[1], inside[0], inside[3], inside[6]].map((g) => g.id).sort());
    const both = await search(`incident=INC-7003&from=${from}&to=${to}`, 2);
    expect(both.ids.sort()).toEqual(
      inside
        .filter((_, i) => i % 3 !== 0)
        .map((g) => g.id)
        .sort(),
    );
    expect(both.ids).not.toContain(after[0].id);
    const narrowed = await search(`incident=INC-7003&from=${from}&to=${to}&requester=oncall-2`, 10);
    expect(narrowed.ids.sort()).toEqual(
      inside
        .filter((_, i) => i % 3 !== 0 && i % 2)
        .map((g) => g.id)
        .sort(),
    );

    // An engineer searching sees only their own grants, whatever the filter says.
    const own = (await sut.http.get(`/v1/grants?incident=INC-7003&requester=oncall-2`).set('Authorization', `Bearer ${engineer}`).expect(200)).body.grants;
    expect(own.every((g: { requester: string }) => g.requester === 'oncall-1')).toBe(true);
  });

  it('a period with from after to is a 400 everywhere', async () => {
    const reversed = 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z';
    for (const path of [`/v1/grants?${reversed}`, `/v1/audit?${reversed}`, `/v1/evidence/export?${reversed}`, `/v1/reports/compliance?${reversed}`]) {
      const answer = await sut.http.get(path).set('Authorization', `Bearer ${compliance}`).expect(400);
      expect(answer.body).toMatchObject({ error: 'invalid_time_range', message: '`from` (2026-02-01T00:00:00Z) is after `to` (2026-01-01T00:00:00Z)' });
    }
    const equal = await sut.http.get('/v1/grants?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z').set('Authorization', `Bearer ${compliance}`).expect(200);
    expect(equal.body.grants).toEqual([]);
  });

  it('breakglass link-pr links the retro PR and stops its clock', async () => {
    const grant = await breakGlass('INC-7100');
    const run = spawnCli(['link-pr', grant.id.toLowerCase(), 'https://github.com/acme/infra/pull/77'], { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: engineer });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toBe(`${grant.id}: linked acme/infra#77 (open); retro-PR clock satisfied.\n`);
    const clock = (await sut.http.get(`/v1/sla?grant=${grant.id}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0];
    expect(clock).toMatchObject({ state: 'satisfied', resolvedBy: 'oncall-1' });
    const bad = spawnCli(['link-pr', grant.id, 'not a url'], { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: engineer });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toContain('(HTTP 400, validation_failed)');
  });

  it('breakglass waive finds the clock of the grant and waives it with the reason', async () => {
    const grant = await breakGlass('INC-7150');
    const env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: compliance };
    const short = spawnCli(['waive', grant.id, '--reason', 'too short'], env);
    expect(await short.exited).toBe(1);
    expect(short.stderr()).toContain('reason must be at least 10 characters');
    const run = spawnCli(['waive', grant.id, '--clock', 'review', '--reason', 'Read-only look, reviewed in the incident call'], env);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toBe(`${grant.id}: review clock waived by auditor-1 (Read-only look, reviewed in the incident call).\n`);
    const clocks = (await sut.http.get(`/v1/sla?grant=${grant.id}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks;
    expect(Object.fromEntries(clocks.map((c: { kind: string; state: string }) => [c.kind, c.state]))).toEqual({ retro_pr: 'running', review: 'waived' });
    const unknown = spawnCli(['waive', 'BG-2026-999999', '--reason', 'No such grant, nothing to waive'], env);
    expect(await unknown.exited).toBe(1);
    expect(unknown.stderr()).toContain('BG-2026-999999 has no retro_pr clock');
  });

  it('a missing or short reason gets one message that says what is wrong', async () => {
    const grant = await breakGlass('INC-7200');
    const clock = (await sut.http.get(`/v1/sla?grant=${grant.id}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0];
    const waive = (body: unknown) =>
      sut.http
        .post(`/v1/sla/${clock.id}/waive`)
        .set('Authorization', `Bearer ${compliance}`)
        .send(body as object)
        .expect(400);
    expect((await waive({})).body).toMatchObject({
      error: 'validation_failed',
      message: 'Invalid request: reason: reason is required',
      details: [{ field: 'reason', problems: ['reason is required'] }],
    });
    expect((await waive({ reason: '   too short   ' })).body.details).toEqual([
      { field: 'reason', problems: ['reason must be at least 10 characters, not counting surrounding whitespace'] },
    ]);
    expect((await waive({ reason: 42 })).body.details).toEqual([{ field: 'reason', problems: ['reason must be text'] }]);
    const revoke = await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: '' }).expect(400);
    expect(revoke.body.details).toEqual([{ field: 'reason', problems: ['reason must not be empty or only whitespace'] }]);
  });
});
