import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeForgeApi } from './support/forge-api';
import { FakeOidcProvider } from './support/oidc-provider';
import { FakePagerDutyApi } from './support/pagerduty-api';
import { startTestService, type TestService } from './support/test-service';
import { until } from './support/until';

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
  - name: incident-cluster
    environment: production
    credential: { type: jwt, audience: incidents }
    incident: { pattern: '^PD-[A-Z0-9]+$', example: PD-Q1W2E3, pagerduty: { require: open } }
  - name: reviewed-cluster
    environment: production
    credential: { type: jwt, audience: reviewed }
    repo: acme/infra
    retroPr: { window: 1h, require: { approvals: 1, signedCommits: true, protectedBranch: true, checks: [policy-gate] } }
drills:
  - { name: ledger-yearly, targets: [ledger-db], schedule: '0 9 1 1 *' }
`;
const AUDIT_TOKEN = 'dashboard-kube-audit-token-0123';
const ROLES = ['engineer', 'security', 'compliance', 'admin'];

/** Signs in with the dev helper as `subject` with exactly `roles`. */
async function signIn(page: Page, url: string, subject: string, roles: string[]) {
  await page.goto(`${url}/ui/`);
  await page.getByLabel('Subject').fill(subject);
  for (const role of ROLES) await page.getByLabel(role, { exact: true }).setChecked(roles.includes(role));
  await page.getByRole('button', { name: new RegExp(`Sign in as ${subject}`) }).click();
  await page.getByText(`${subject} (${roles.join(', ')})`).waitFor();
}

/** Rows of a CSV file as Python's csv module reads them (an independent reader). */
async function csvRows(file: string): Promise<string[][]> {
  const { stdout } = await run('python3', ['-c', 'import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline="")))))', file]);
  return JSON.parse(stdout);
}

describeWithBrowser('web dashboard in headless Chromium', () => {
  jest.setTimeout(120_000);
  let sut: TestService;
  let browser: Browser;
  let page: Page;
  let engineer: string;
  let pagerDuty: FakePagerDutyApi;
  let forge: FakeForgeApi;
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
    pagerDuty = new FakePagerDutyApi({
      users: [],
      onCall: {},
      incidents: { Q7PAY: { status: 'acknowledged', title: 'Card payments failing', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' } },
    });
    forge = new FakeForgeApi();
    sut = await startTestService({
      policyYaml: POLICY,
      env: {
        GITHUB_API_URL: (await forge.start()).github,
        BREAKGLASS_RETRY_BASE_MS: '500',
        KUBERNETES_AUDIT_TOKEN: AUDIT_TOKEN,
        BREAKGLASS_LOG_ORIGIN: 'breakglass.example.com/audit',
        PAGERDUTY_API_URL: await pagerDuty.start(),
        PAGERDUTY_API_TOKEN: 'dashboard-pd-token',
      },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    // A zone other than UTC, so switching the dashboard's zone shows a difference.
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, timezoneId: 'America/New_York' });
    const origin = new URL(sut.url).origin;
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) outside.push(url);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await sut?.close();
    await pagerDuty?.stop();
    await forge?.stop();
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

  it('shows the PagerDuty incident a grant was checked against on Live and the grant page, linked to PagerDuty', async () => {
    const grant = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'incident-cluster', incident: 'PD-Q7PAY', reason: 'Card payments failing since the deploy', durationSeconds: 600 })
        .expect(201)
    ).body;
    const row = page.getByRole('table', { name: 'Active grants' }).getByRole('row').filter({ hasText: grant.id });
    const link = row.getByRole('link', { name: 'PD-Q7PAY' });
    await link.waitFor({ timeout: 10_000 });
    expect(await link.getAttribute('href')).toBe('https://acme.pagerduty.com/incidents/Q7PAY');
    await row.getByText('acknowledged: Card payments failing').waitFor();
    await page.getByRole('link', { name: grant.id }).click();
    await page.getByRole('heading', { name: new RegExp(`Grant ${grant.id}`) }).waitFor();
    const facts = page.getByLabel('PagerDuty incident');
    await facts.waitFor();
    expect(await facts.textContent()).toMatch(
      /^PagerDuty incident Q7PAY was acknowledged at .* \(high urgency\), service Payments API, assigned to PUSER01, escalation policy Payments escalation\.$/,
    );
    await page.getByRole('link', { name: 'Live' }).click();
    await sut.http
      .post(`/v1/grants/${grant.id}/revoke`)
      .set('Authorization', `Bearer ${engineer}`)
      .send({ reason: 'dashboard incident check done' })
      .expect(200);
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
    const transcript = page.getByRole('table', { name: 'Recorded commands' });
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
    await run('psql', [grant.credential.url, '-XAtc', 'create temp table scratch (a int)']);
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('link', { name: grant.id }).click();
    // The proxy's statements in the transcript, each with the server's answer (its sql.result record).
    const table = page.getByRole('table', { name: 'Recorded commands' });
    const failed = table.getByRole('row', { name: /select 1\/0/ }).getByText('ERROR 22012 division by zero');
    await failed.waitFor();
    expect(await failed.getAttribute('class')).toContain('exit-failed');
    const row = table.getByRole('row', { name: /select 40 \+ 2/ });
    await row.getByRole('cell', { name: 'SELECT 1 (1 row)', exact: true }).waitFor();
    await row.getByRole('cell', { name: 'SQL', exact: true }).waitFor();
    // What the session changed: the DDL, not the reads nor the failed division.
    const changes = page.getByRole('table', { name: 'What the session changed' });
    await changes.getByRole('row', { name: /scratch CREATE TABLE 1/ }).waitFor({ timeout: 10_000 });
    expect(await changes.locator('tbody tr').count()).toBe(1);
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
    const table = page.getByRole('table', { name: 'Recorded commands' });
    await table
      .getByRole('row', { name: /PATCH \/apis\/apps\/v1\/namespaces\/payments\/deployments\/payments-api\/scale/ })
      .getByRole('cell', { name: 'HTTP 200', exact: true })
      .waitFor();
    const forbidden = table.getByRole('row', { name: /GET \/api\/v1\/namespaces\/payments\/secrets\/ledger-db/ });
    await forbidden.getByRole('cell', { name: 'HTTP 403', exact: true }).waitFor();
    await forbidden.getByRole('cell', { name: 'Kubernetes', exact: true }).waitFor();
    await forbidden.getByText('prod from 10.20.30.40').waitFor();
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

    // A drill an admin runs now: the Audit page shows it as ledger-db's last (and last passed) drill.
    const admin = await sut.token('admin-1', ['admin']);
    const drill = (await sut.http.post('/v1/drills/ledger-yearly/run').set('Authorization', `Bearer ${admin}`).expect(200)).body;
    // The whole run on failure: which step, and its error.
    expect({ status: drill.status, failedStep: drill.failedStep, error: drill.error, steps: drill.steps }).toMatchObject({ status: 'passed' });

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByText(/^Valid: \d+ events/).waitFor();
    const drills = page.getByRole('table', { name: /Last drill per target/ });
    const ledger = drills.getByRole('row').filter({ hasText: 'ledger-db' });
    await ledger.getByText('passed', { exact: true }).waitFor();
    await ledger.getByText(`ledger-yearly #${drill.id}`, { exact: false }).waitFor();
    expect(await ledger.getByRole('link').textContent()).toContain(drill.grants[0]);
    await page
      .getByRole('table', { name: /Scheduled drills/ })
      .getByText('0 9 1 1 * (UTC)')
      .waitFor();
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

  it('shows the transcript as a table in one switchable time zone, failed exits and stamps outside the window flagged', async () => {
    const grant = await breakGlass('Deploying the hotfix by hand');
    const started = new Date(Date.now() + 2000);
    const early = new Date(Date.now() - 2 * 3600_000);
    const record = (seq: number, command: string, at: Date, seconds: number, exitCode: number) => ({
      seq,
      type: 'command',
      command,
      cwd: '/srv/payments',
      user: 'oncall-1',
      host: 'bastion-1',
      startedAt: at.toISOString(),
      finishedAt: new Date(at.getTime() + seconds * 1000).toISOString(),
      exitCode,
    });
    await sut.http
      .post(`/v1/grants/${grant.id}/events`)
      .set('Authorization', `Bearer ${grant.sessionToken}`)
      .send({ events: [record(1, 'make deploy-hotfix', started, 83, 2), record(2, 'echo clock-skewed', early, 0.4, 0)] })
      .expect(200);
    await page.evaluate(`location.hash = '#/grants/${grant.id}'`);
    const table = page.getByRole('table', { name: 'Recorded commands' });
    await table.getByRole('columnheader', { name: 'Time (UTC)' }).waitFor();
    const deploy = table.getByRole('row', { name: /make deploy-hotfix/ });
    await deploy.getByRole('cell', { name: started.toISOString().slice(11, 19), exact: true }).waitFor();
    await deploy.getByRole('cell', { name: '1m23s', exact: true }).waitFor();
    expect(await deploy.getByText('exit 2', { exact: true }).getAttribute('class')).toContain('exit-failed');
    expect(await deploy.getByText('stamped outside the grant window').count()).toBe(0);
    const skewed = table.getByRole('row', { name: /echo clock-skewed/ });
    await skewed.getByText('stamped outside the grant window').waitFor();
    expect(await skewed.getByText('exit 0', { exact: true }).getAttribute('class')).toBeNull();
    await skewed.getByRole('cell', { name: '0.4 s', exact: true }).waitFor();

    // The browser's zone: every time on the page follows, the header names the zone.
    await page.getByLabel('Times in').selectOption('local');
    await table.getByRole('columnheader', { name: 'Time (America/New_York)' }).waitFor();
    const newYork = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    await deploy.getByRole('cell', { name: newYork.format(started), exact: true }).waitFor();
    await page.getByText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T/).waitFor();
    expect(await page.getByText(/\d\d:\d\d:\d\d UTC/).count()).toBe(0);
    await page.getByLabel('Times in').selectOption('UTC');
    await page.getByText(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to /).waitFor();
    await screenshot('transcript');
  });

  it('extends, links a PR and waives a clock from the grant page', async () => {
    const grant = await breakGlass('Purging a poisoned cache entry');
    const security = await sut.token('sec-1', ['security']);
    const before = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    const requester = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    try {
      await signIn(requester, sut.url, 'oncall-1', ['engineer']);
      await requester.evaluate(`location.hash = '#/grants/${grant.id}'`);
      await requester.getByRole('button', { name: 'Extend', exact: true }).click();
      await requester.getByLabel('More time (e.g. 30m or 1h30m)').fill('10 minutes');
      await requester.getByLabel('Why more time is needed').fill('The purge has to wait for the replica');
      await requester.getByRole('button', { name: 'Extend now' }).click();
      await requester.getByRole('alert').getByText('"10 minutes" is not a duration like 90s, 30m, 1h30m, 24h or 7d').waitFor();
      await requester.getByLabel('More time (e.g. 30m or 1h30m)').fill('10m');
      await requester.getByRole('button', { name: 'Extend now' }).click();
      await requester.getByText(/^Extended: the grant now ends \d{4}-/).waitFor();
      const after = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(Date.parse(after.expiresAt) - Date.parse(before.expiresAt)).toBe(600_000);
      expect(after.extensions).toEqual([expect.objectContaining({ addedSeconds: 600, by: 'oncall-1', reason: 'The purge has to wait for the replica' })]);
      await requester.getByText('+10m by oncall-1').waitFor();

      await requester.getByRole('button', { name: 'Link a pull request' }).click();
      await requester.getByLabel('Pull request URL').fill('https://github.com/acme/infra/pull/4242');
      await requester.getByRole('button', { name: 'Link', exact: true }).click();
      await requester.getByText(/^Linked acme\/infra#4242: the retroactive-PR clock is satisfied/).waitFor();
      await requester.getByRole('table', { name: 'Linked pull requests' }).getByRole('link', { name: 'acme/infra#4242' }).waitFor();
      // An engineer sees no waive button: that is compliance's.
      expect(await requester.getByRole('button', { name: /^Waive/ }).count()).toBe(0);
    } finally {
      await requester.close();
    }

    await page.evaluate(`location.hash = '#/grants/${grant.id}'`);
    await page.getByRole('button', { name: 'Waive the Security review clock' }).click();
    await page.getByLabel('Why this clock does not apply (at least 10 characters)').fill('Purge only');
    await page.getByRole('button', { name: 'Waive', exact: true }).click();
    await page.getByRole('status').getByText('Waived the Security review clock.').waitFor();
    await page.getByText('Waived by sec-1: Purge only').waitFor();
    const clocks = (await sut.http.get(`/v1/sla?grant=${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.clocks;
    expect(Object.fromEntries(clocks.map((c: { kind: string; state: string }) => [c.kind, c.state]))).toEqual({
      retro_pr: expect.stringMatching(/^satisfied/),
      review: 'waived',
    });
    await screenshot('grant-actions');
  });

  it('shows what the forge said about the retro PR: verification pending while it is down, then what the PR misses', async () => {
    const grant = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'reviewed-cluster', incident: 'INC-4821', reason: 'Scaling the payments API by hand', durationSeconds: 1800 })
        .expect(201)
    ).body;
    forge.pullRequests.set('acme/infra#77', {
      author: 'oncall-1',
      merged: true,
      baseBranch: 'main',
      headSha: 'e'.repeat(40),
      mergeCommitSha: 'f'.repeat(40),
      reviews: [{ login: 'oncall-1', state: 'APPROVED' }],
      signature: { verified: true, reason: 'valid', signer: 'web-flow' },
      checks: [{ name: 'policy-gate', conclusion: 'success' }],
    });
    forge.protectedBranches.add('acme/infra:main');
    forge.mode = 'down';
    try {
      await sut.http
        .post(`/v1/grants/${grant.id}/pull-requests`)
        .set('Authorization', `Bearer ${engineer}`)
        .send({ url: 'https://github.com/acme/infra/pull/77' })
        .expect(200);
      await page.evaluate(`location.hash = '#/grants/${grant.id}'`);
      const table = page.getByRole('table', { name: 'Retro PR at the forge' });
      await table.getByRole('row', { name: /acme\/infra#77 verification pending \(attempt \d+: HTTP 503/ }).waitFor({ timeout: 15_000 });
    } finally {
      forge.mode = 'up';
    }
    const table = page.getByRole('table', { name: 'Retro PR at the forge' });
    await table
      .getByRole('row', { name: /missing: approvals: 0 of 1 approval by someone other than the requester; not counted: oncall-1 \(requester\)/ })
      .waitFor({ timeout: 15_000 });
    await table.getByRole('row', { name: /none; oncall-1 \(requester, not counted\) signed \(web-flow\) main \(protected\) policy-gate: success/ }).waitFor();
    await page.getByText('acme/infra#77 does not meet the policy: approvals: 0 of 1 approval').waitFor({ timeout: 10_000 });
    await page.locator('.badge.pr_noncompliant').first().waitFor();
    await screenshot('grant-forge');
    // Compliance sees it on the SLA board among the running clocks, with what the PR misses.
    await page.evaluate(`location.hash = '#/sla'`);
    await page
      .getByRole('table', { name: 'Running clocks' })
      .getByRole('row', { name: new RegExp(`${grant.id} Retroactive PR .* acme/infra#77 misses approvals`) })
      .waitFor({ timeout: 10_000 });
  });

  it('finds a seeded population on the Grants page across pages and downloads all of it as CSV', async () => {
    const template = await breakGlass('The template of a seeded grant population');
    // 70 grants of INC-9100 spread over March 2026 and February: what a quarter leaves behind.
    await sut.dataSource.query(
      `INSERT INTO grants
       SELECT (jsonb_populate_record(NULL::grants, to_jsonb(g) || jsonb_build_object(
                'id', 'BG-2026-' || lpad((200000 + n)::text, 6, '0'), 'incident', 'INC-9100', 'status', 'expired',
                'activated_at', d, 'expires_at', d + interval '30 minutes', 'ended_at', d + interval '30 minutes', 'ended_by', 'system', 'end_reason', 'expired'))).*
         FROM grants g, generate_series(1, 70) AS n,
              LATERAL (SELECT CASE WHEN n % 10 = 0 THEN timestamptz '2026-02-20T12:00:00Z' ELSE timestamptz '2026-03-01T00:00:00Z' + (n % 12) * interval '1 day' END AS d) AS stamp
        WHERE g.id = $1`,
      [template.id],
    );
    const compliance = await sut.token('auditor-1', ['compliance']);
    const expected: string[] = [];
    let after: string | null = null;
    do {
      const body: { grants: { id: string }[]; next: string | null } = (
        await sut.http
          .get(`/v1/grants?incident=INC-9100&from=2026-03-01T00:00:00Z&to=2026-03-11T00:00:00Z&limit=1000${after ? `&after=${after}` : ''}`)
          .set('Authorization', `Bearer ${compliance}`)
          .expect(200)
      ).body;
      expected.push(...body.grants.map((g) => g.id));
      after = body.next;
    } while (after);
    expect(expected.length).toBeGreaterThan(50); // more than one dashboard page

    await page.getByRole('link', { name: 'Grants', exact: true }).click();
    await page.getByLabel('Search (grant or incident id)').fill('inc-9100');
    await page.getByLabel('From (UTC)').fill('2026-03-01');
    await page.getByLabel('To (UTC, inclusive)').fill('2026-03-10');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('Grants 1–50, more on the next page').waitFor();
    const table = page.getByRole('table', { name: 'Grants matching the filters' });
    const shownIds = () => table.locator('tbody tr td:first-child').allTextContents();
    const firstPage = await shownIds();
    await screenshot('grants');
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText(`Grants 51–${expected.length}`).waitFor();
    expect([...firstPage, ...(await shownIds())]).toEqual(expected);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Grants 1–50, more on the next page').waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download every matching grant (CSV)' }).click()]);
    const file = path.join(mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'grants-csv-')), 'grants.csv');
    await download.saveAs(file);
    await page.getByText(`${expected.length} grant(s) downloaded as CSV.`).waitFor();
    const [header, ...rows] = await csvRows(file);
    expect(header.slice(0, 6)).toEqual(['id', 'status', 'target', 'environment', 'requester', 'incident']);
    expect(new Set([header, ...rows].map((row) => row.length))).toEqual(new Set([header.length]));
    expect(rows.map((row) => row[0])).toEqual(expected);
    expect(new Set(rows.map((row) => row[5]))).toEqual(new Set(['INC-9100']));

    // A grant id in the search box opens that grant.
    await page.getByLabel('Search (grant or incident id)').fill(template.id.toLowerCase());
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('heading', { name: new RegExp(`Grant ${template.id}`) }).waitFor();
  });

  it('renders the compliance report as a print-ready HTML page with the JSON report figures', async () => {
    const auditor = await sut.token('auditor-1', ['compliance']);
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 3600_000).toISOString();
    // The rates count a clock as overdue the moment it is past due: with 3 s retro-PR windows, wait
    // until none is still within time, so the JSON and the page are made from the same figures.
    await until(
      'every retro-PR clock past due',
      async () =>
        (await sut.dataSource.query(`SELECT count(*)::int AS n FROM sla_clocks WHERE kind = 'retro_pr' AND state = 'running' AND due_at > now()`))[0].n === 0,
      10_000,
    );
    const json = (await sut.http.get(`/v1/reports/compliance?from=${from}&to=${to}`).set('Authorization', `Bearer ${auditor}`).expect(200)).body;
    const report = await browser.newPage({ viewport: { width: 1100, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${auditor}` } });
    const requests: string[] = [];
    report.on('request', (request) => requests.push(request.url()));
    try {
      await report.goto(`${sut.url}/v1/reports/compliance?format=html&from=${from}&to=${to}`);
      await report.getByRole('heading', { name: 'breakglass compliance report' }).waitFor();
      for (const chart of ['On-time rate per week (weeks from Monday, UTC)', 'Time from break-glass to the retroactive PR', 'Grants per target'])
        expect(await report.getByRole('img', { name: chart }).isVisible()).toBe(true);
      const figure = (label: string) =>
        report.getByRole('list', { name: 'Figures of the period' }).getByRole('listitem').filter({ hasText: label }).locator('strong').textContent();
      const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);
      expect(await figure('Grants')).toBe(String(json.grants.total));
      expect(await figure('Retroactive PR on time')).toBe(pct(json.retroPr.onTimeRate));
      expect(await figure('Reviews on time')).toBe(pct(json.reviews.onTimeRate));
      const grantRows = report.getByRole('table').first().locator('tbody tr');
      expect(await grantRows.count()).toBe(json.perGrant.length);
      await report.screenshot({ path: path.join(shots, 'compliance-report.png'), fullPage: true });
      expect(requests.filter((url) => !url.startsWith(`${sut.url}/`))).toEqual([]);
    } finally {
      await report.close();
    }
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
