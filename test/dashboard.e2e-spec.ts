import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeOidcProvider } from './support/oidc-provider';
import { startTestService, type TestService } from './support/test-service';

// The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against
// the running service. SCREENSHOTS_DIR=docs/screenshots (npm run screenshots) keeps the pictures.
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((file) => existsSync(file));
if (!CHROMIUM && process.env.CI) throw new Error("Chromium is missing: .ci/run installs Debian's chromium package; set CHROMIUM_PATH otherwise");
const run = promisify(execFile);
const describeWithBrowser = CHROMIUM ? describe : describe.skip;
if (!CHROMIUM) console.warn("dashboard tests skipped: no Chromium found (install Debian's chromium or set CHROMIUM_PATH)");

const POLICY = `
defaults:
  retroPr: { window: 3s }
  review: { window: 1h }
  escalation: [ { after: 0s, notify: [audit-log] } ]
  blockRequesterWhenOverdue: false
channels:
  audit-log: { type: log }
targets:
  - { name: payments-db, environment: production, credential: { type: jwt, audience: payments }, repo: acme/infra, notifyOnUse: [audit-log] }
  - { name: ledger-db, environment: production, credential: { type: postgres, adminUrl: embedded, grantRoles: [dashboard_rw] } }
  - { name: prod-cluster, environment: production, credential: { type: jwt, audience: kubernetes }, kubernetes: { cluster: prod, server: 'https://k8s.example.com:6443' } }
`;
const AUDIT_TOKEN = 'dashboard-kube-audit-token-0123';

describeWithBrowser('web dashboard in headless Chromium', () => {
  jest.setTimeout(120_000);
  let sut: TestService;
  let browser: Browser;
  let page: Page;
  let engineer: string;
  const outside: string[] = [];
  const shots = process.env.SCREENSHOTS_DIR
    ? path.resolve(process.env.SCREENSHOTS_DIR)
    : mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'screens-'));
  const screenshot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  const breakGlass = async (reason: string) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'payments-db', incident: 'INC-4821', reason, durationSeconds: 1800 })
        .expect(201)
    ).body as { id: string; sessionToken: string };

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    sut = await startTestService({ policyYaml: POLICY, env: { KUBERNETES_AUDIT_TOKEN: AUDIT_TOKEN, BREAKGLASS_LOG_ORIGIN: 'breakglass.example.com/audit' } });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const origin = new URL(sut.url).origin;
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) outside.push(url);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await sut?.close();
  });

  it('signs in with the dev "sign in as" helper', async () => {
    await page.goto(`${sut.url}/ui/`);
    await page.getByRole('heading', { name: 'Sign in to breakglass' }).waitFor();
    await screenshot('sign-in');
    await page.getByLabel('Subject').fill('sec-1');
    await page.getByLabel('compliance').check();
    await page.getByRole('button', { name: /Sign in as sec-1/ }).click();
    await page.getByText('sec-1 (security, compliance)').waitFor();
    // The token lives in the tab's session storage only (the test's tsconfig has no DOM types: strings).
    expect(await page.evaluate('Object.keys(localStorage).length')).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('breakglass.token')?.split('.').length")).toBe(3);
  });

  it('shows a new grant on Live with a live countdown, and its recorded commands on the grant page', async () => {
    const grant = await breakGlass('Replaying stuck ledger batches by hand');
    await page.getByRole('link', { name: grant.id }).waitFor({ timeout: 10_000 });
    const countdown = page.locator(`.countdown[data-grant="${grant.id}"]`);
    const first = await countdown.textContent();
    await page.waitForTimeout(1500);
    expect(await countdown.textContent()).not.toBe(first);
    await screenshot('live');

    const commands = ['kubectl -n payments get pods', "psql -c 'select count(*) from ledger_batches'"];
    await sut.http
      .post(`/v1/grants/${grant.id}/events`)
      .set('Authorization', `Bearer ${grant.sessionToken}`)
      .send({
        events: commands.map((command, i) => ({
          seq: i + 1,
          type: 'command',
          command,
          cwd: '/srv/payments',
          user: 'oncall-1',
          host: 'bastion-1',
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          exitCode: 0,
        })),
      })
      .expect(200);
    await page.getByRole('link', { name: grant.id }).click();
    await page.getByRole('heading', { name: new RegExp(`Grant ${grant.id}`) }).waitFor();
    const transcript = page.getByLabel('Recorded commands');
    await transcript.getByText(commands[0]).waitFor();
    expect(await transcript.textContent()).toContain(commands[1]);
    await page.getByText(/Chain valid: 2 events/).waitFor();
    await page.getByText('Replaying stuck ledger batches by hand').waitFor();
  });

  it('submits a review from the grant page', async () => {
    await page.getByLabel('Outcome').selectOption('findings');
    await page.getByLabel('Notes').fill('Commands match the incident; one manual SQL count to follow up.');
    await page.getByRole('button', { name: 'Submit review' }).click();
    // The grant is still active: the review is interim, and the page says what is still due.
    await page.getByText('Interim review recorded: the review clock waits for a review after the grant ends').waitFor();
    await page.locator('section', { hasText: 'Reviews of the session' }).getByText('up to seq 2 (interim)').waitFor();
    await page.getByText(/Verdict: findings by sec-1 .* interim: a final review after the grant ends/).waitFor();
    await screenshot('grant');
  });

  it('shows the statements the proxy recorded, with their outcome, on the grant page', async () => {
    const { body: grant } = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'ledger-db', incident: 'INC-4822', reason: 'Checking ledger totals through the proxy', durationSeconds: 1800 })
      .expect(201);
    await run('psql', [grant.credential.url, '-XAtc', 'select 40 + 2']);
    await run('psql', [grant.credential.url, '-XAtc', 'select 1/0']).catch(() => undefined);
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('link', { name: grant.id }).click();
    const table = page.getByRole('table', { name: 'SQL statements recorded by the proxy' });
    await table.getByText('select 1/0').waitFor();
    await table.getByText('ERROR 22012 division by zero').waitFor();
    const row = table.getByRole('row', { name: /select 40 \+ 2/ });
    await row.getByText('SELECT 1').waitFor();
    await screenshot('grant-sql');
  });

  it('warns about a session with nothing recorded, and shows a not-found page for an unknown grant', async () => {
    const quiet = await breakGlass('Access that the recorder never saw');
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('link', { name: quiet.id }).click();
    await page.getByText('Nothing recorded — access may have been used outside the recorder.').waitFor();
    expect(await page.getByText(/Chain valid: 0 events/).count()).toBe(0);
    // From that grant to one that does not exist: the previous grant must not stay on screen.
    await page.evaluate(`location.hash = '#/grants/BG-2026-999999'`);
    await page.getByRole('heading', { name: 'Grant not found' }).waitFor();
    await page.getByText('There is no grant BG-2026-999999.').waitFor();
    expect(await page.getByText('Access that the recorder never saw').count()).toBe(0);
  });

  it("shows the cluster's audit events of a Kubernetes grant on its page", async () => {
    const { body: grant } = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'prod-cluster', incident: 'INC-4823', reason: 'Scaling the payments API by hand', durationSeconds: 1800 })
      .expect(201);
    const at = new Date().toISOString();
    const event = (verb: string, uri: string, code: number, objectRef: Record<string, string>) => ({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: randomUUID(),
      stage: 'ResponseComplete',
      requestURI: uri,
      verb,
      user: { username: 'breakglass:oncall-1', groups: ['system:authenticated'], extra: { 'breakglass.io/grant': [grant.id] } },
      sourceIPs: ['10.20.30.40'],
      objectRef,
      responseStatus: { metadata: {}, code },
      requestReceivedTimestamp: at,
      stageTimestamp: at,
    });
    await sut.http
      .post('/v1/webhooks/kubernetes/audit?cluster=prod')
      .set('Authorization', `Bearer ${AUDIT_TOKEN}`)
      .send({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1',
        items: [
          event('patch', '/apis/apps/v1/namespaces/payments/deployments/payments-api/scale', 200, {
            resource: 'deployments',
            namespace: 'payments',
            name: 'payments-api',
            subresource: 'scale',
            apiGroup: 'apps',
          }),
          event('get', '/api/v1/namespaces/payments/secrets/ledger-db', 403, { resource: 'secrets', namespace: 'payments', name: 'ledger-db' }),
        ],
      })
      .expect(200);
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('link', { name: grant.id }).click();
    const table = page.getByRole('table', { name: "Kubernetes requests from the cluster's audit log" });
    await table
      .getByRole('row', { name: /PATCH \/apis\/apps\/v1\/namespaces\/payments\/deployments\/payments-api\/scale/ })
      .getByRole('cell', { name: 'payments/deployments/payments-api/scale', exact: true })
      .waitFor();
    await table
      .getByRole('row', { name: /GET \/api\/v1\/namespaces\/payments\/secrets\/ledger-db/ })
      .getByRole('cell', { name: '403', exact: true })
      .waitFor();
    await page
      .getByLabel('Recorded commands')
      .getByText(/K8S> PATCH/)
      .waitFor();
  });

  it('shows the breached retro-PR clock on the SLA board, and the review queue and audit pages', async () => {
    await page.getByRole('link', { name: 'SLA board' }).click();
    const breached = page.locator('section', { has: page.getByRole('heading', { name: 'Breached' }) });
    await breached.getByRole('link').first().waitFor({ timeout: 15_000 });
    await page
      .getByRole('list', { name: 'On-time rates' })
      .getByText(/^Retroactive PR: /)
      .waitFor();
    await screenshot('sla-board');

    await page.getByRole('link', { name: 'Review queue' }).click();
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await screenshot('review-queue');

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByText(/^Valid: \d+ events/).waitFor();
    // A checkpoint the API signed, as the page shows it (tree size, origin, root), and the key that verifies it.
    const auditor = await sut.token('auditor-1', ['compliance']);
    const shown = (await page.getByText(/^Latest checkpoint: \d+ events? of /).textContent())!;
    const { checkpoints } = (await sut.http.get('/v1/audit/checkpoints?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body;
    const signed = checkpoints.find((c: { treeSize: number }) => c.treeSize === Number(/(\d+) events?/.exec(shown)![1]));
    const [origin, , root] = signed.note.split('\n');
    expect(shown).toBe(`Latest checkpoint: ${signed.treeSize} ${signed.treeSize === 1 ? 'event' : 'events'} of ${origin}, root ${root}`);
    await page.getByText((await sut.http.get('/v1/audit/log-key').expect(200)).text.trim()).waitFor();
    await page.getByText(/^No anchors configured \(policy audit\.anchors\)/).waitFor();
    await screenshot('audit');
  });

  it('revokes a grant from Live', async () => {
    const grant = await breakGlass('Rotating a leaked replica password');
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('button', { name: `Revoke ${grant.id}` }).click();
    await page.getByLabel(`Reason for revoking ${grant.id}`).fill('Outage over, access no longer needed');
    await page.getByRole('button', { name: 'Revoke now' }).click();
    await page.getByRole('link', { name: grant.id }).waitFor({ state: 'detached' });
    const security = await sut.token('sec-1', ['security']);
    const after = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    expect(after).toMatchObject({ status: 'revoked', endedBy: 'sec-1', endReason: 'Outage over, access no longer needed' });
  });

  it('made no request outside the service', () => {
    expect(outside).toEqual([]);
  });
});

describeWithBrowser('dashboard sign-in with OIDC (authorization code + PKCE)', () => {
  jest.setTimeout(60_000);

  it('signs in through the identity provider and maps its groups to broker roles', async () => {
    const provider = new FakeOidcProvider({ subject: 'alice', groups: ['security-team'], email: 'alice@example.com', audience: 'breakglass' });
    const issuer = await provider.start();
    const sut = await startTestService({
      env: { AUTH_MODE: 'oidc', OIDC_ISSUER: issuer, OIDC_AUDIENCE: 'breakglass', OIDC_JWKS_URL: `${issuer}/jwks`, OIDC_UI_CLIENT_ID: 'breakglass-ui' },
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${sut.url}/ui/`);
      await expect(page.getByRole('heading', { name: /Sign in as/ }).count()).resolves.toBe(0); // no dev helper in OIDC mode
      await page.getByRole('button', { name: `Sign in with ${new URL(issuer).host}` }).click();
      await page.getByText('alice (security)').waitFor();
      expect(page.url()).toBe(`${sut.url}/ui/`); // the code and state are gone from the address bar
      expect(provider.exchanges).toEqual([{ pkceValid: true, clientId: 'breakglass-ui' }]);
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.getByText(/^Valid: \d+ events/).waitFor();
    } finally {
      await browser.close();
      await sut.close();
      await provider.stop();
    }
  });
});

describeWithBrowser('SLA board at scale', () => {
  jest.setTimeout(120_000);

  it('counts all 1,200 clocks of a seeded scenario, breached first, with the on-time rates of the compliance report', async () => {
    const sut = await startTestService();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    try {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const template = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'prod-cluster', incident: 'INC-1200', reason: 'The template of a seeded SLA scenario' })
          .expect(201)
      ).body;
      // 599 more grants like it, each with its two clocks in a state set by its number: what months
      // of break-glass leave behind, without waiting months (rows copied, not hand-written).
      await sut.dataSource.query(
        `INSERT INTO grants
         SELECT (jsonb_populate_record(NULL::grants, to_jsonb(g) || jsonb_build_object('id', 'BG-2026-' || lpad((100000 + n)::text, 6, '0')))).*
           FROM grants g, generate_series(1, 599) AS n WHERE g.id = $1`,
        [template.id],
      );
      await sut.dataSource.query(
        `INSERT INTO sla_clocks
         SELECT (jsonb_populate_record(NULL::sla_clocks, to_jsonb(c) || jsonb_build_object(
                  'id', gen_random_uuid(), 'grant_id', 'BG-2026-' || lpad((100000 + n)::text, 6, '0'),
                  'state', CASE n % 20 WHEN 0 THEN 'satisfied_late' WHEN 1 THEN 'breached' WHEN 2 THEN 'waived' ELSE 'satisfied' END,
                  'due_at', now() - interval '1 hour', 'resolved_at', CASE WHEN n % 20 <> 1 THEN now() END,
                  'breached_at', CASE WHEN n % 20 IN (0, 1) THEN now() - interval '30 minutes' END))).*
           FROM sla_clocks c, generate_series(1, 599) AS n WHERE c.grant_id = $1`,
        [template.id],
      );
      const compliance = await sut.token('auditor-1', ['compliance', 'security']);
      const report = (await sut.http.get('/v1/reports/compliance').set('Authorization', `Bearer ${compliance}`).expect(200)).body;
      expect(report.retroPr.total + report.reviews.total).toBe(1200);
      expect(report.retroPr.onTime + report.reviews.onTime).toBeGreaterThan(1000); // more than one page of one state

      const page = await browser.newPage();
      await page.goto(`${sut.url}/ui/`);
      await page.getByLabel('Subject').fill('auditor-1');
      await page.getByLabel('security').check();
      await page.getByLabel('compliance').check();
      await page.getByRole('button', { name: /Sign in as auditor-1/ }).click();
      await page.getByRole('link', { name: 'SLA board' }).click();
      const rates = page.getByRole('list', { name: 'On-time rates' });
      await rates.waitFor();
      const pct = (value: number) => `${(value * 100).toFixed(1)} %`;
      for (const [label, figures] of [
        ['Retroactive PR', report.retroPr],
        ['Security review', report.reviews],
      ] as const) {
        await rates
          .getByText(`${label}: ${pct(figures.onTimeRate)} on time (${figures.onTime} on time, ${figures.late} late, ${figures.overdue} overdue)`)
          .waitFor();
      }
      // Breached first, then running; every breached clock is listed (none lost past a first page).
      const headings = await page.getByRole('heading', { level: 2 }).allTextContents();
      expect(headings.indexOf('Breached')).toBeLessThan(headings.indexOf('Running, by time left'));
      const breachedRows = page.getByRole('table', { name: 'Breached clocks' }).locator('tbody tr');
      await expect(breachedRows.count()).resolves.toBe(report.retroPr.overdue + report.reviews.overdue);
      expect(report.retroPr.overdue + report.reviews.overdue).toBeGreaterThan(50);
    } finally {
      await browser.close();
      await sut.close();
    }
  });
});
