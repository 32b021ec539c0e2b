import { randomUUID } from 'node:crypto';
import { AuditLog } from '../src/audit/audit-log.service';
import { Sessions } from '../src/sessions/sessions.service';
import { githubDelivery, githubPullRequestEvent, gitlabMergeRequestEvent } from './support/forges';
import { PagerDutyEventsReceiver } from './support/pagerduty-events';
import { freePort } from './support/ports';
import { SmtpSink } from './support/smtp-sink';
import { startTestService, type TestService } from './support/test-service';
import { sleep, until } from './support/until';

const GITHUB_SECRET = 'github-webhook-secret-0123456789';
const GITLAB_TOKEN = 'gitlab-webhook-token-0123456789';

const POLICY = `
defaults:
  retroPr: { window: 3s }
  review: { window: 1h }
  escalation:
    - { after: -2s, notify: [requester] }
    - { after: 0s, notify: [compliance-email, pagerduty-compliance] }
notify:
  security: [security-log]
  compliance: [compliance-email]
channels:
  compliance-email: { type: email, to: [compliance@example.com] }
  pagerduty-compliance: { type: pagerduty, routingKey: R0UTINGKEY0123456789, severity: warning }
  security-log: { type: log }
targets:
  - name: cluster
    environment: production
    credential: { type: jwt, audience: kubernetes }
    repo: acme/infra
    notifyOnUse: [compliance-email]
  - name: slow
    environment: production
    credential: { type: jwt, audience: kubernetes }
    repo: acme/infra
    retroPr: { window: 1h, satisfiedBy: merged }
  - name: covered
    environment: production
    credential: { type: jwt, audience: kubernetes }
    repo: acme/infra
    retroPr: { window: 4s }
    escalation: [ { after: -1s, notify: [requester] } ]
  - name: quiet
    environment: production
    credential: { type: jwt, audience: kubernetes }
    retroPr: { window: 1h }
    notifyOnUse: [pagerduty-compliance]
`;

describe('retroactive-PR SLA, escalation and notifications', () => {
  let sut: TestService;
  let smtp: SmtpSink;
  let pagerDuty: PagerDutyEventsReceiver;
  let engineer: string;
  let compliance: string;

  const breakGlass = async (target: string, who = engineer) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${who}`)
        .send({ target, incident: 'INC-900', reason: 'Hotfixing the ingress TLS configuration', durationSeconds: 600 })
        .expect(201)
    ).body;
  const clock = async (grant: string) =>
    (await sut.http.get(`/v1/sla?grant=${grant}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0];
  const mailsAbout = (grant: string, words: RegExp) => smtp.received.filter((m) => m.subject.includes(grant) && words.test(m.subject));
  const postGithub = (delivery: ReturnType<typeof githubDelivery>) => sut.http.post('/v1/webhooks/github').set(delivery.headers).send(delivery.body);

  beforeAll(async () => {
    smtp = new SmtpSink(await freePort());
    await smtp.start();
    pagerDuty = new PagerDutyEventsReceiver();
    const events = await pagerDuty.start();
    sut = await startTestService({
      policyYaml: POLICY,
      env: {
        SMTP_URL: smtp.url,
        SMTP_FROM: 'breakglass <breakglass@example.com>',
        PAGERDUTY_EVENTS_SERVER: events.server,
        PAGERDUTY_CA_FILE: events.caFile,
        GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
        GITLAB_WEBHOOK_TOKEN: GITLAB_TOKEN,
        BREAKGLASS_RETRY_BASE_MS: '200',
      },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    compliance = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut.close();
    await smtp.stop();
    await pagerDuty.stop();
  });

  it('escalates by email and PagerDuty within 2 s of due; a late GitHub PR yields satisfied_late and a resolve', async () => {
    const grant = await breakGlass('cluster');
    const glassBroken = await until('glass-broken email', () => mailsAbout(grant.id, /glass broken/)[0]);
    expect(glassBroken.to).toEqual(['compliance@example.com']);

    const reminder = await until('reminder to the requester', () => mailsAbout(grant.id, /retroactive PR due/)[0]);
    expect(reminder.to).toEqual(['oncall-1@example.com']);
    expect(reminder.raw).toContain(`link a PR mentioning ${grant.id}`);
    // Message-ID on the broker's own host (BREAKGLASS_PUBLIC_URL), not a made-up domain.
    expect(reminder.raw).toMatch(new RegExp(`^Message-ID: <[0-9a-f-]{36}@${new URL(sut.config.publicUrl).hostname.replace(/\./g, '\\.')}>`, 'mi'));

    const due = Date.parse(grant.retroPr.dueAt);
    const email = await until('breach email', () => mailsAbout(grant.id, /overdue/)[0]);
    const trigger = await until('PagerDuty trigger', () =>
      pagerDuty.accepted.find((e) => e.dedup_key === `breakglass/${grant.id}/retro_pr` && e.event_action === 'trigger'),
    );
    expect(trigger.receivedAt - due).toBeLessThan(2000);
    expect(trigger).toMatchObject({
      routing_key: 'R0UTINGKEY0123456789',
      payload: {
        severity: 'warning',
        source: 'breakglass',
        component: 'cluster',
        custom_details: { grant: grant.id, requester: 'oncall-1', incident: 'INC-900', dueAt: grant.retroPr.dueAt },
      },
    });
    // Events v2 `timestamp`: when the breach was recorded, not when the delivery ran.
    expect(Math.abs(Date.parse(trigger.payload.timestamp!) - due)).toBeLessThan(2000);
    expect(email.raw).toContain('Who:      oncall-1 <oncall-1@example.com>');
    // A page a browser can open (the body is quoted-printable: soft line breaks undone).
    expect(email.raw.replace(/=\r?\n/g, '')).toContain(`/ui/#/grants/${grant.id}`);
    // The stand-ins answered; the outbox marks a step fired once it has recorded that answer (a moment later under load).
    const fired = await until('both steps fired', async () => {
      const current = await clock(grant.id);
      return current.steps.every((step: { state: string }) => step.state !== 'delivering') && current;
    });
    expect(fired).toMatchObject({
      state: 'breached',
      steps: [
        { step: 1, after: '-2s', state: 'fired' },
        { step: 2, after: '0s', state: 'fired' },
      ],
    });

    const pr = githubPullRequestEvent({
      action: 'opened',
      repo: 'acme/infra',
      number: 17,
      title: `Document emergency TLS fix (${grant.id})`,
      body: 'Retroactive PR',
    });
    const answer = await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', pr)).expect(200);
    expect(answer.body).toEqual({
      duplicate: false,
      linked: [{ grant: grant.id, repo: 'acme/infra', number: 17, state: 'open', repoMatches: true, clock: 'satisfied_late' }],
    });
    const resolve = await until('PagerDuty resolve', () =>
      pagerDuty.accepted.find((e) => e.dedup_key === `breakglass/${grant.id}/retro_pr` && e.event_action === 'resolve'),
    );
    expect(resolve.routing_key).toBe('R0UTINGKEY0123456789');
    await until('satisfied-late email', () => mailsAbout(grant.id, /provided late/)[0]);
    expect(await clock(grant.id)).toMatchObject({ state: 'satisfied_late', resolvedBy: 'github:oncall-1' });
    expect(await sut.app.get(AuditLog).verify()).toMatchObject({ valid: true });
  });

  it('names in the reminder what the session changed, as the PR should cover it', async () => {
    // Another requester: this grant's PR is left overdue, which would block oncall-1 in later tests.
    const grant = await breakGlass('covered', await sut.token('oncall-7', ['engineer'], 'oncall-7@example.com'));
    // As the proxy and the audit webhook record them (server-side records of the grant's session).
    const now = new Date().toISOString();
    const record = (fields: { type: string; command: string; cwd?: string; exitCode?: number; detail?: Record<string, string> }) => ({
      cwd: 'payments',
      user: 'oncall-7',
      host: '127.0.0.1:5000',
      startedAt: now,
      finishedAt: now,
      exitCode: 0,
      detail: null,
      ...fields,
    });
    await sut.app.get(Sessions).record(grant.id, [
      record({ type: 'sql', command: 'UPDATE payments.ledger SET amount = 0 WHERE id = 1' }),
      record({ type: 'sql', command: 'update payments.ledger set amount = 1 where id = 2' }),
      record({ type: 'sql', command: 'SELECT * FROM payments.ledger' }),
      record({
        type: 'k8s',
        command: 'PATCH /apis/apps/v1/namespaces/payments/deployments/api',
        cwd: 'prod',
        exitCode: 200,
        detail: { verb: 'patch', resource: 'deployments', namespace: 'payments', name: 'api' },
      }),
    ]);
    const reminder = await until('reminder to the requester', () => mailsAbout(grant.id, /retroactive PR due/)[0], 10_000);
    expect(reminder.raw.replace(/=\r?\n/g, '')).toContain('UPDATE payments.ledger =C3=972, PATCH deployments/payments/api (your PR should cover them)');
  });

  it('a PR before due satisfies the clock and nothing escalates; merged-only policy waits for the merge', async () => {
    const grant = await breakGlass('slow');
    const opened = githubPullRequestEvent({
      action: 'opened',
      repo: 'acme/infra',
      number: 21,
      title: 'Emergency change',
      branch: `fix/${grant.id.toLowerCase()}`,
    });
    expect((await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', opened)).expect(200)).body.linked[0]).toMatchObject({ state: 'open', clock: null });
    expect((await clock(grant.id)).state).toBe('running');

    const merged = githubPullRequestEvent({
      action: 'closed',
      repo: 'acme/infra',
      number: 21,
      title: 'Emergency change',
      branch: `fix/${grant.id.toLowerCase()}`,
      merged: true,
    });
    expect((await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', merged)).expect(200)).body.linked[0]).toMatchObject({
      state: 'merged',
      clock: 'satisfied',
    });
    expect(await clock(grant.id)).toMatchObject({ state: 'satisfied', steps: [{ state: 'cancelled' }, { state: 'cancelled' }] });
    const notices = await sut.dataSource.query(`SELECT notice FROM notifications WHERE grant_id = $1`, [grant.id]);
    expect(notices).toEqual([]);
  });

  it('refuses a wrong signature with 401 and stores nothing; a re-delivery is processed once', async () => {
    const grant = await breakGlass('quiet');
    const pr = githubPullRequestEvent({ action: 'opened', repo: 'acme/infra', number: 33, title: `Fix ${grant.id}` });
    const forged = githubDelivery('not-the-secret-at-all-0000', 'pull_request', pr);
    const count = async () => (await sut.dataSource.query(`SELECT (SELECT count(*) FROM webhook_deliveries) + (SELECT count(*) FROM pr_links) AS n`))[0].n;
    const before = await count();
    expect((await postGithub(forged).expect(401)).body.error).toBe('invalid_signature');
    const tampered = githubDelivery(GITHUB_SECRET, 'pull_request', pr);
    await sut.http.post('/v1/webhooks/github').set(tampered.headers).send(tampered.body.replace('Fix', 'Fiz')).expect(401);
    expect(await count()).toBe(before);

    const delivery = githubDelivery(GITHUB_SECRET, 'pull_request', pr);
    expect((await postGithub(delivery).expect(200)).body.linked).toHaveLength(1);
    expect((await postGithub(delivery).expect(200)).body).toEqual({ duplicate: true, linked: [] });
    await sut.auditSettled();
    const linked = await sut.dataSource.query(`SELECT count(*) AS n FROM audit_events WHERE grant_id = $1 AND action = 'pr.linked'`, [grant.id]);
    expect(Number(linked[0].n)).toBe(1);
  });

  it('applies PR events in the order of their own updated_at: a signed "opened" replayed with a fresh delivery id does not reopen a closed link', async () => {
    const grant = await breakGlass('quiet');
    const openedAt = new Date(Date.now() - 60_000);
    const opened = githubPullRequestEvent({ action: 'opened', repo: 'acme/infra', number: 44, title: `Fix ${grant.id}`, updatedAt: openedAt });
    const captured = githubDelivery(GITHUB_SECRET, 'pull_request', opened);
    expect((await postGithub(captured).expect(200)).body.linked[0]).toMatchObject({ state: 'open' });
    const closed = githubPullRequestEvent({
      action: 'closed',
      repo: 'acme/infra',
      number: 44,
      title: `Fix ${grant.id}`,
      updatedAt: new Date(openedAt.getTime() + 30_000),
    });
    expect((await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', closed)).expect(200)).body.linked[0]).toMatchObject({ state: 'closed' });

    // The same signed body; only the unsigned X-GitHub-Delivery is new.
    const replay = { body: captured.body, headers: { ...captured.headers, 'x-github-delivery': randomUUID() } };
    const answer = (await postGithub(replay).expect(200)).body;
    expect(answer).toEqual({
      duplicate: false,
      linked: [{ grant: grant.id, repo: 'acme/infra', number: 44, state: 'closed', repoMatches: true, clock: null, stale: true }],
    });
    const links = (await sut.http.get(`/v1/grants/${grant.id}/pull-requests`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    expect(JSON.stringify(links)).toContain('"state":"closed"');
    await sut.auditSettled();
    const audited = await sut.dataSource.query(
      `SELECT data_canonical::jsonb->>'state' AS state FROM audit_events WHERE grant_id = $1 AND action = 'pr.linked' ORDER BY seq`,
      [grant.id],
    );
    expect(audited.map((row: { state: string }) => row.state)).toEqual(['open', 'closed']);

    // A merge is final, whatever arrives after it.
    const merged = githubPullRequestEvent({
      action: 'closed',
      merged: true,
      repo: 'acme/infra',
      number: 44,
      title: `Fix ${grant.id}`,
      updatedAt: new Date(openedAt.getTime() + 40_000),
    });
    await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', merged)).expect(200);
    const reopened = githubPullRequestEvent({
      action: 'reopened',
      repo: 'acme/infra',
      number: 44,
      title: `Fix ${grant.id}`,
      updatedAt: new Date(openedAt.getTime() + 50_000),
    });
    expect((await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', reopened)).expect(200)).body.linked[0]).toMatchObject({
      state: 'merged',
      stale: true,
    });
  });

  it('answers a GitHub ping, and links GitLab merge requests with X-Gitlab-Token', async () => {
    const ping = githubDelivery(GITHUB_SECRET, 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 });
    expect((await postGithub(ping).expect(200)).body).toEqual({ ok: true });

    const grant = await breakGlass('quiet');
    const mr = gitlabMergeRequestEvent({
      project: 'acme/infra',
      iid: 5,
      title: 'Retroactive change',
      description: `Covers ${grant.id}`,
      state: 'opened',
      action: 'open',
    });
    await sut.http.post('/v1/webhooks/gitlab').set('X-Gitlab-Token', 'wrong-token-0000000000').send(mr).expect(401);
    const { body } = await sut.http
      .post('/v1/webhooks/gitlab')
      .set('X-Gitlab-Token', GITLAB_TOKEN)
      .set('X-Gitlab-Event', 'Merge Request Hook')
      .set('X-Gitlab-Event-UUID', 'b6a2bcf4-7c1e-4d5f-9d77-0f0f2a0a1c11')
      .send(mr)
      .expect(200);
    expect(body.linked).toEqual([{ grant: grant.id, repo: 'acme/infra', number: 5, state: 'open', repoMatches: true, clock: 'satisfied' }]);
  });

  it('links a PR in an unexpected repository but flags it', async () => {
    const grant = await breakGlass('quiet');
    const pr = githubPullRequestEvent({ action: 'opened', repo: 'someone/else', number: 2, title: `Fix ${grant.id}` });
    const { body } = await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', pr)).expect(200);
    expect(body.linked[0]).toMatchObject({ repoMatches: true }); // target 'quiet' names no repo
    const cluster = await breakGlass('slow');
    const wrongRepo = githubPullRequestEvent({ action: 'closed', merged: true, repo: 'someone/else', number: 3, title: `Fix ${cluster.id}` });
    expect((await postGithub(githubDelivery(GITHUB_SECRET, 'pull_request', wrongRepo)).expect(200)).body.linked[0]).toMatchObject({
      repoMatches: false,
      clock: 'satisfied',
    });
  });

  it('delivers exactly one email when SMTP is down for the first attempts, recording each attempt', async () => {
    await smtp.stop();
    const grant = await breakGlass('cluster', await sut.token('oncall-smtp', ['engineer']));
    const attempts = async () =>
      sut.dataSource.query(
        `SELECT a.outcome, a.error FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id WHERE n.grant_id = $1 AND n.notice = 'glass_broken' ORDER BY a.attempt`,
        [grant.id],
      );
    await until('two failed attempts', async () => (await attempts()).length >= 2 || undefined);
    await smtp.start();
    await until('the email', () => mailsAbout(grant.id, /glass broken/)[0]);
    await sleep(1000);
    expect(mailsAbout(grant.id, /glass broken/)).toHaveLength(1);
    const recorded = await attempts();
    expect(recorded.at(-1)).toMatchObject({ outcome: 'delivered', error: null });
    expect(recorded.slice(0, -1).every((a: { outcome: string; error: string }) => a.outcome === 'failed' && /ECONNREFUSED/.test(a.error))).toBe(true);
  });

  it('delivers exactly one PagerDuty trigger when the receiver answers 500 first', async () => {
    pagerDuty.failNext = 2;
    pagerDuty.failMatching = /\/glass_broken$/;
    const grant = await breakGlass('quiet', await sut.token('oncall-pd', ['engineer'])); // notifyOnUse: pagerduty-compliance
    const accepted = await until('accepted trigger', () => pagerDuty.accepted.find((e) => e.dedup_key === `breakglass/${grant.id}/glass_broken`));
    await sleep(800);
    expect(pagerDuty.accepted.filter((e) => e.dedup_key === `breakglass/${grant.id}/glass_broken`)).toHaveLength(1);
    expect(pagerDuty.requests.filter((key) => key === `breakglass/${grant.id}/glass_broken`)).toHaveLength(3);
    expect(accepted.event_action).toBe('trigger');
    const [row] = await sut.dataSource.query(`SELECT status, attempts FROM notifications WHERE grant_id = $1`, [grant.id]);
    expect(row).toEqual({ status: 'delivered', attempts: 3 });
  });

  it('blocks an overdue requester until the PR is linked, then lets them break the glass again', async () => {
    const late = await sut.token('late-2', ['engineer'], 'late-2@example.com');
    const grant = await breakGlass('cluster', late);
    await sleep(Date.parse(grant.retroPr.dueAt) - Date.now() + 300);
    const denied = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${late}`)
      .send({ target: 'quiet', incident: 'INC-901', reason: 'Second incident on the same night', durationSeconds: 60 })
      .expect(403);
    expect(denied.body.error).toBe('requester_overdue');
    const linked = await sut.http
      .post(`/v1/grants/${grant.id}/pull-requests`)
      .set('Authorization', `Bearer ${late}`)
      .send({ url: 'https://github.com/acme/infra/pull/99' })
      .expect(200);
    expect(linked.body.linked[0]).toMatchObject({ repo: 'acme/infra', number: 99, clock: 'satisfied_late' });
    await breakGlass('quiet', late);
  });

  it('lets compliance waive a clock with a reason, and lists clocks by state', async () => {
    const grant = await breakGlass('slow');
    const open = await clock(grant.id);
    await sut.http.post(`/v1/sla/${open.id}/waive`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'No code change was made at all' }).expect(403);
    const waived = await sut.http
      .post(`/v1/sla/${open.id}/waive`)
      .set('Authorization', `Bearer ${compliance}`)
      .send({ reason: 'No code change was made at all' })
      .expect(200);
    expect(waived.body).toMatchObject({ id: open.id, state: 'waived', resolvedBy: 'auditor-1', resolution: 'No code change was made at all' });
    await sut.http.post(`/v1/sla/${open.id}/waive`).set('Authorization', `Bearer ${compliance}`).send({ reason: 'No code change was made at all' }).expect(409);
    const list = (await sut.http.get('/v1/sla?state=waived').set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    expect(list.clocks.map((c: { id: string }) => c.id)).toContain(open.id);
    expect(list.clocks.every((c: { state: string }) => c.state === 'waived')).toBe(true);
  });
});
