import { githubDelivery, githubPullRequestEvent } from './support/forges';
import { argoCdDelivery, argoCdNotification, fluxDelivery, fluxEvent } from './support/reconcilers';
import { spawnCli } from './support/service-process';
import { countRows, startTestService, type TestService } from './support/test-service';
import { sleep, until } from './support/until';
import { WebhookReceiver } from './support/webhook-receiver';

const FLUX_SECRET = 'flux-provider-token-0123456789';
const ARGOCD_TOKEN = 'argocd-webhook-token-0123456789';
const GITHUB_SECRET = 'github-webhook-secret-0123456789';
const HOOK_SECRET = 'security-hook-secret-0123456789';

const sha = (digit: string) => digit.repeat(40);

describe('GitOps reconciler integration', () => {
  let sut: TestService;
  let receiver: WebhookReceiver;
  let engineer: string;
  let security: string;
  let compliance: string;

  const breakGlass = async (target = 'payments', who = engineer) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${who}`)
        .send({ target, incident: 'INC-77', reason: 'Scaling the payments API by hand during the outage', durationSeconds: 600 })
        .expect(201)
    ).body;
  const postFlux = (payload: unknown, secret = FLUX_SECRET) => {
    const delivery = fluxDelivery(secret, payload);
    return sut.http.post('/v1/webhooks/flux').set(delivery.headers).send(delivery.body);
  };
  const postArgo = (payload: unknown, token = ARGOCD_TOKEN) => {
    const delivery = argoCdDelivery(token, payload);
    return sut.http.post('/v1/webhooks/argocd').set(delivery.headers).send(delivery.body);
  };
  const reconcile = (revision: string, message = 'Applied revision') =>
    fluxEvent({ name: 'payments', reason: 'ReconciliationSucceeded', message: `${message}: ${revision}`, revision });
  /** kustomize-controller reverting a hand edit: a change set (reason Progressing) at the revision it already applied. */
  const correction = (revision: string, changed: string) =>
    fluxEvent({ name: 'payments', reason: 'Progressing', message: `${changed} configured`, revision, revisionKey: 'kustomize.toolkit.fluxcd.io/revision' });
  const grantView = async (id: string) => (await sut.http.get(`/v1/grants/${id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
  const auditOf = async (query: string) =>
    (await sut.http.get(`/v1/audit?${query}&limit=1000`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.events;
  const driftNotices = () => receiver.received.filter((r) => r.body.notice === 'drift_unattributed');

  beforeAll(async () => {
    receiver = new WebhookReceiver(HOOK_SECRET);
    const hook = await receiver.start();
    sut = await startTestService({
      policyYaml: `
defaults:
  retroPr: { window: 1h, satisfiedBy: merged }
notify:
  security: [security-hook]
channels:
  security-hook: { type: webhook, url: '${hook}', secret: ${HOOK_SECRET} }
targets:
  - name: payments
    environment: production
    credential: { type: jwt, audience: kubernetes }
    repo: acme/infra
    controls: ['PCI-DSS-4.0:6.5.1']
    gitops: { namespaces: [payments], kustomizations: [flux-system/payments], apps: [payments-api], driftGrace: 2s }
  - name: ledger
    environment: production
    credential: { type: jwt, audience: kubernetes }
    gitops: { namespaces: [ledger] }
  - name: checkout
    environment: production
    credential: { type: jwt, audience: kubernetes }
    retroPr: { window: 3s }
    escalation: [{ after: -1s, notify: [security-hook] }]
    gitops: { namespaces: [checkout] }
`,
      env: { FLUX_WEBHOOK_SECRET: FLUX_SECRET, ARGOCD_WEBHOOK_TOKEN: ARGOCD_TOKEN, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    security = await sut.token('sec-1', ['security']);
    compliance = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut.close();
    await receiver.stop();
  });

  it('stores signed Flux events as audit events with their controls; a wrong signature is 401 and stores nothing; a re-delivery is processed once', async () => {
    const event = reconcile(`main@sha1:${sha('1')}`);
    const answer = await postFlux(event).expect(200);
    expect(answer.body).toEqual({ duplicate: false, kind: 'reconciled', targets: ['payments'], reconciled: [] });
    const [stored] = await auditOf('action=deploy.reconciled');
    expect(stored).toMatchObject({
      actor: 'system:flux',
      target: 'payments',
      data: {
        source: 'flux',
        object: { kind: 'Kustomization', namespace: 'flux-system', name: 'payments' },
        revision: `main@sha1:${sha('1')}`,
        commit: sha('1'),
        reason: 'ReconciliationSucceeded',
        targets: ['payments'],
      },
    });
    expect(stored.controls).toEqual(
      expect.arrayContaining([
        'SOC2:CC8.1',
        'SOC2:CC7.1',
        'NIST-800-53:CM-3',
        'NIST-800-53:CM-6',
        'ISO27001-2022:A.8.32',
        'ISO27001-2022:A.8.9',
        'PCI-DSS-4.0:6.5.1',
      ]),
    );

    expect((await postFlux(event).expect(200)).body).toEqual({ duplicate: true });
    const [audit, gitops] = [await countRows(sut, 'audit_events'), await countRows(sut, 'gitops_events')];
    const forged = await postFlux(reconcile(`main@sha1:${sha('2')}`), 'not-the-provider-token').expect(401);
    expect(forged.body.error).toBe('invalid_signature');
    const tampered = fluxDelivery(FLUX_SECRET, reconcile(`main@sha1:${sha('2')}`));
    await sut.http.post('/v1/webhooks/flux').set(tampered.headers).send(tampered.body.replace('payments', 'ledger')).expect(401);
    await sut.http
      .post('/v1/webhooks/flux')
      .set({ 'content-type': 'application/json' })
      .send(JSON.stringify(reconcile('x')))
      .expect(401);
    expect([await countRows(sut, 'audit_events'), await countRows(sut, 'gitops_events')]).toEqual([audit, gitops]);
    expect(await auditOf('action=deploy.reconciled')).toHaveLength(1);

    // A SHA-512 signature is accepted too (Flux names its algorithm in the header).
    const sha512 = fluxDelivery(
      FLUX_SECRET,
      fluxEvent({
        name: 'payments',
        severity: 'error',
        reason: 'HealthCheckFailed',
        message: 'Deployment/payments/api: timeout',
        revision: `main@sha1:${sha('3')}`,
      }),
      'sha512',
    );
    expect((await sut.http.post('/v1/webhooks/flux').set(sha512.headers).send(sha512.body).expect(200)).body).toMatchObject({ kind: 'failed' });
    expect(await auditOf('action=deploy.failed')).toHaveLength(1);
  });

  it('attributes drift on an in-scope object during an active grant to it, visible in the grant and its evidence bundle', async () => {
    const grant = await breakGlass();
    const revision = `main@sha1:${sha('4')}`;
    expect((await postFlux(reconcile(revision)).expect(200)).body.kind).toBe('reconciled');
    const drift = await postFlux(correction(revision, 'Deployment/payments/api')).expect(200);
    expect(drift.body).toEqual({ duplicate: false, kind: 'drift', targets: ['payments'], attributedTo: [grant.id] });

    // Argo CD: OutOfSync while Git has not moved since the last sync is live drift too.
    const argo = argoCdNotification({
      app: 'payments-api',
      namespace: 'payments',
      syncStatus: 'OutOfSync',
      revision: sha('5'),
      resources: [
        { kind: 'ConfigMap', namespace: 'payments', name: 'api-config', status: 'OutOfSync' },
        { kind: 'Service', namespace: 'payments', name: 'api', status: 'Synced' },
      ],
    });
    expect((await postArgo(argo).expect(200)).body).toMatchObject({ kind: 'drift', attributedTo: [grant.id] });
    // OutOfSync because Git moved on is a pending deploy, not drift.
    expect((await postArgo({ ...argo, revision: sha('6') }).expect(200)).body).toMatchObject({ ignored: true });

    const view = await grantView(grant.id);
    expect(view.gitops.drift.map((d: { source: string; resources: unknown[] }) => [d.source, d.resources])).toEqual([
      ['flux', [{ kind: 'Deployment', namespace: 'payments', name: 'api' }]],
      ['argocd', [{ kind: 'ConfigMap', namespace: 'payments', name: 'api-config' }]],
    ]);
    const { bundle } = (await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    expect(bundle.gitops.driftAttributed).toHaveLength(2);
    expect(bundle.audit.events.filter((e: { action: string }) => e.action === 'drift.attributed')).toHaveLength(2);
    expect(driftNotices()).toHaveLength(0);
  });

  it('sends exactly one drift.unattributed notice to security for drift no grant explains', async () => {
    const event = fluxEvent({
      kind: 'HelmRelease',
      namespace: 'ledger',
      name: 'ledger-db',
      reason: 'DriftDetected',
      message: 'Cluster state of release ledger/ledger-db has drifted:\nStatefulSet/ledger/ledger-db changed',
      revision: '1.4.2',
    });
    expect((await postFlux(event).expect(200)).body).toEqual({ duplicate: false, kind: 'drift', targets: ['ledger'], attributedTo: [] });
    expect((await postFlux(event).expect(200)).body).toEqual({ duplicate: true });
    const notice = await until('drift notice to the security webhook', () => driftNotices()[0]);
    expect(notice.signatureValid).toBe(true);
    expect(notice.body.details).toMatchObject({ source: 'flux', object: 'HelmRelease/ledger/ledger-db', targets: 'ledger' });
    await sleep(500);
    expect(driftNotices()).toHaveLength(1);
    const [unattributed] = await auditOf('action=drift.unattributed');
    expect(unattributed).toMatchObject({
      target: 'ledger',
      grant: null,
      data: { resources: [{ kind: 'StatefulSet', namespace: 'ledger', name: 'ledger-db' }] },
    });
    expect(unattributed.controls).toEqual(expect.arrayContaining(['SOC2:CC7.1', 'SOC2:CC7.2', 'NIST-800-53:SI-4']));
  });

  it('attributes drift within the grace period after a grant ended, and not after it', async () => {
    const grant = await breakGlass();
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'Outage over, handing back' }).expect(200);
    const revision = `main@sha1:${sha('7')}`;
    await postFlux(reconcile(revision)).expect(200);
    expect((await postFlux(correction(revision, 'Deployment/payments/worker')).expect(200)).body.attributedTo).toContain(grant.id);
    await sleep(2200);
    const later = await postFlux(correction(revision, 'Deployment/payments/cron')).expect(200);
    expect(later.body.attributedTo).not.toContain(grant.id);
  });

  it('closes the loop: retro PR merged, then reconciled at its merge commit → change.reconciled, with the time in the report', async () => {
    const grant = await breakGlass();
    const merge = sha('a');
    const pr = githubPullRequestEvent({
      action: 'closed',
      merged: true,
      mergeCommitSha: merge,
      repo: 'acme/infra',
      number: 88,
      title: `Scale payments API (${grant.id})`,
    });
    const delivery = githubDelivery(GITHUB_SECRET, 'pull_request', pr);
    expect((await sut.http.post('/v1/webhooks/github').set(delivery.headers).send(delivery.body).expect(200)).body.linked[0]).toMatchObject({
      state: 'merged',
      clock: 'satisfied',
    });
    expect((await grantView(grant.id)).gitops.reconciled).toBeNull();

    // A reconcile at another revision does not close it; the merge commit does.
    expect((await postFlux(reconcile(`main@sha1:${sha('b')}`)).expect(200)).body.reconciled).toEqual([]);
    expect((await postFlux(reconcile(`main@sha1:${merge}`)).expect(200)).body).toMatchObject({ kind: 'reconciled', reconciled: [grant.id] });
    // The same commit reconciled again (next interval) records nothing new.
    expect((await postFlux(reconcile(`main@sha1:${merge}`, 'Reconciled again')).expect(200)).body).toMatchObject({
      ignored: true,
      alreadyReconciled: `main@sha1:${merge}`,
    });

    const view = await grantView(grant.id);
    expect(view.gitops.reconciled).toMatchObject({ repo: 'acme/infra', number: 88, commit: merge, secondsFromActivation: expect.any(Number) });
    const events = (await auditOf(`grant=${grant.id}`)).map((e: { action: string }) => e.action);
    expect(events.filter((a: string) => a === 'change.reconciled')).toHaveLength(1);

    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const report = (await sut.http.get(`/v1/reports/compliance?from=${from}&to=${to}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    expect(report.gitops.reconciled).toEqual([
      expect.objectContaining({
        grant: grant.id,
        repo: 'acme/infra',
        number: 88,
        commit: merge,
        secondsFromBreakGlass: view.gitops.reconciled.secondsFromActivation,
      }),
    ]);
    expect(report.gitops.timeToReconciledSeconds.p50).toBe(view.gitops.reconciled.secondsFromActivation);
    expect(report.gitops.driftUnattributed.length).toBeGreaterThanOrEqual(1);
    const markdown = (await sut.http.get(`/v1/reports/compliance?from=${from}&to=${to}&format=md`).set('Authorization', `Bearer ${compliance}`).expect(200))
      .text;
    expect(markdown).toContain('1 grant(s) reached change.reconciled');
  });

  it('closes the loop when the PR merge arrives after the reconcile of its commit', async () => {
    const grant = await breakGlass();
    const merge = sha('c');
    expect(
      (
        await postArgo(
          argoCdNotification({ app: 'payments-api', namespace: 'payments', syncStatus: 'Synced', operationPhase: 'Succeeded', revision: merge }),
        ).expect(200)
      ).body,
    ).toMatchObject({ kind: 'reconciled', reconciled: [] });
    const pr = githubPullRequestEvent({
      action: 'closed',
      merged: true,
      mergeCommitSha: merge,
      repo: 'acme/infra',
      number: 89,
      title: `Follow-up for ${grant.id}`,
    });
    const delivery = githubDelivery(GITHUB_SECRET, 'pull_request', pr);
    await sut.http.post('/v1/webhooks/github').set(delivery.headers).send(delivery.body).expect(200);
    expect((await grantView(grant.id)).gitops.reconciled).toMatchObject({ number: 89, commit: merge });
  });

  it('refuses Argo CD notifications without the bearer token, stores failures, and ignores what it cannot classify', async () => {
    const failed = argoCdNotification({
      app: 'payments-api',
      namespace: 'payments',
      syncStatus: 'OutOfSync',
      operationPhase: 'Failed',
      health: 'Degraded',
      revision: sha('d'),
      syncedRevision: sha('e'),
    });
    expect((await postArgo(failed, 'wrong-token').expect(401)).body.error).toBe('invalid_signature');
    expect((await postArgo(failed).expect(200)).body).toMatchObject({ kind: 'failed', targets: ['payments'] });
    expect((await postArgo({ ...failed, operationPhase: 'Running' }).expect(200)).body).toMatchObject({ ignored: true });
    expect((await postArgo({ syncStatus: 'Synced' }).expect(400)).body.error).toBe('malformed_payload');
  });

  it('tells the requester in the retro-PR reminder which drift the PR should cover', async () => {
    // Another engineer: this grant's 3 s retro-PR window soon blocks its requester from new grants.
    const grant = await breakGlass('checkout', await sut.token('oncall-3', ['engineer'], 'oncall-3@example.com'));
    const drift = argoCdNotification({
      app: 'checkout-web',
      namespace: 'checkout',
      syncStatus: 'OutOfSync',
      revision: sha('f'),
      resources: [{ kind: 'Deployment', namespace: 'checkout', name: 'web', status: 'OutOfSync' }],
    });
    expect((await postArgo(drift).expect(200)).body).toMatchObject({ kind: 'drift', attributedTo: [grant.id] });
    const reminder = await until('the retro-PR reminder', () =>
      receiver.received.find((r) => r.body.notice === 'sla_reminder' && r.body.details.grant === grant.id),
    );
    expect(reminder.body.details.drift).toBe('drift seen on Deployment/checkout/web: your PR should cover it');
  });

  it('prints the commands that suspend and resume reconciliation and records both (breakglass gitops)', async () => {
    const grant = await breakGlass();
    const env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: engineer };
    const pause = spawnCli(['gitops', 'pause', grant.id], env);
    expect(await pause.exited).toBe(0);
    expect(pause.output()).toContain('flux suspend kustomization payments -n flux-system\nargocd app set payments-api --sync-policy none\n');
    const resume = spawnCli(['--json', 'gitops', 'resume', grant.id], env);
    expect(await resume.exited).toBe(0);
    expect(JSON.parse(resume.output())).toMatchObject({
      commands: ['flux resume kustomization payments -n flux-system', 'argocd app set payments-api --sync-policy automated --self-heal'],
      recorded: { resumedBy: 'oncall-1' },
    });
    expect((await grantView(grant.id)).gitops.pause).toMatchObject({ pausedBy: 'oncall-1', resumedBy: 'oncall-1' });
    const ledger = await breakGlass('ledger');
    const refused = spawnCli(['gitops', 'pause', ledger.id], env);
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toContain('target ledger lists no Flux kustomizations or Argo CD apps');
  });

  it('records pausing and resuming reconciliation (the pause helper), by the requester only', async () => {
    const grant = await breakGlass();
    const other = await sut.token('oncall-2', ['engineer']);
    await sut.http.post(`/v1/grants/${grant.id}/gitops/paused`).set('Authorization', `Bearer ${other}`).expect(403);
    expect((await sut.http.post(`/v1/grants/${grant.id}/gitops/paused`).set('Authorization', `Bearer ${engineer}`).expect(200)).body).toMatchObject({
      pausedBy: 'oncall-1',
      resumedAt: null,
    });
    expect((await sut.http.post(`/v1/grants/${grant.id}/gitops/resumed`).set('Authorization', `Bearer ${engineer}`).expect(200)).body).toMatchObject({
      pausedBy: 'oncall-1',
      resumedBy: 'oncall-1',
      resumedAt: expect.any(String),
    });
    const actions = (await auditOf(`grant=${grant.id}`)).filter((e: { action: string }) => e.action.startsWith('gitops.'));
    expect(actions.map((e: { action: string; data: unknown }) => [e.action, e.data])).toEqual([
      ['gitops.paused', { kustomizations: ['flux-system/payments'], apps: ['payments-api'] }],
      ['gitops.resumed', { kustomizations: ['flux-system/payments'], apps: ['payments-api'] }],
    ]);
  });
});
