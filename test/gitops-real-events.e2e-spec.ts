import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { argoCdDelivery, fluxDelivery } from './support/reconcilers';
import { countRows, startTestService, type TestService } from './support/test-service';
import { hasTool } from './support/tools';
import { sleep, until } from './support/until';
import { WebhookReceiver } from './support/webhook-receiver';

// The reconcilers' own payloads, not ones we wrote: Flux events in the shape the controllers emit
// (test/fixtures/flux, sources in its README), and the Argo CD body our shipped template renders
// under Go's text/template over real Application objects (test/fixtures/argocd).

const FLUX_SECRET = 'flux-provider-token-0123456789';
const ARGOCD_TOKEN = 'argocd-webhook-token-0123456789';
const HOOK_SECRET = 'security-hook-secret-0123456789';
const FIXTURES = join(__dirname, 'fixtures');
const fixture = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8'));
const hasGo = hasTool('go', ['version']);

// Fixtures and answers are free-form JSON documents.
type Json = Record<string, any>;

/** A Flux fixture, at another revision or time when a step needs a body of its own. */
function fluxFixture(name: string, change: { revision?: string | null; timestamp?: string; message?: string } = {}): Json {
  const event = fixture(`flux/${name}.json`);
  if (change.revision !== undefined) event.metadata.revision = change.revision;
  if (change.timestamp) event.timestamp = change.timestamp;
  if (change.message) event.message = change.message;
  return event;
}

describe('GitOps events as Flux and Argo CD really send them', () => {
  let sut: TestService;
  let receiver: WebhookReceiver;
  let compliance: string;

  const postFlux = async (event: Json) => {
    const delivery = fluxDelivery(FLUX_SECRET, event);
    return (await sut.http.post('/v1/webhooks/flux').set(delivery.headers).send(delivery.body).expect(200)).body;
  };
  const postArgo = async (body: string) => {
    const delivery = argoCdDelivery(ARGOCD_TOKEN, JSON.parse(body));
    return (await sut.http.post('/v1/webhooks/argocd').set(delivery.headers).send(delivery.body).expect(200)).body;
  };
  const auditOf = async (action: string) =>
    (await sut.http.get(`/v1/audit?action=${action}&limit=1000`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.events;
  const driftNotices = () => receiver.received.filter((r) => r.body.notice === 'drift_unattributed');

  beforeAll(async () => {
    receiver = new WebhookReceiver(HOOK_SECRET);
    const hook = await receiver.start();
    sut = await startTestService({
      policyYaml: `
notify:
  security: [security-hook]
channels:
  security-hook: { type: webhook, url: '${hook}', secret: ${HOOK_SECRET} }
targets:
  - name: payments
    environment: production
    credential: { type: jwt, audience: kubernetes }
    controls: ['PCI-DSS-4.0:6.5.1']
    gitops: { namespaces: [payments], kustomizations: [flux-system/payments], apps: [payments-api, payments-platform, payments-db] }
`,
      env: { FLUX_WEBHOOK_SECRET: FLUX_SECRET, ARGOCD_WEBHOOK_TOKEN: ARGOCD_TOKEN },
    });
    compliance = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut.close();
    await receiver.stop();
  });

  it('Flux Kustomization: the first change set at a revision is a reconcile, the same revision again is drift; progress and repeats are ignored', async () => {
    const first = 'main@sha1:3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e';
    const second = 'main@sha1:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
    const stored = await countRows(sut, 'gitops_events');

    expect(await postFlux(fluxFixture('kustomization-dependency-not-ready'))).toEqual({ ignored: true, reason: 'DependencyNotReady' });
    // The apply at a new revision: reason Progressing, one changed object per line.
    expect(await postFlux(fluxFixture('kustomization-progressing-changeset'))).toEqual({
      duplicate: false,
      kind: 'reconciled',
      targets: ['payments'],
      reconciled: [],
    });
    // Garbage collection of the same apply lists deletions only: part of the reconcile, never drift.
    expect(await postFlux(fluxFixture('kustomization-progressing-prune'))).toMatchObject({ kind: 'reconciled' });
    expect(await postFlux(fluxFixture('kustomization-progressing-health-passed'))).toEqual({ ignored: true, reason: 'Progressing' });
    // "Reconciliation finished" at the revision just applied, and at every interval after: not news.
    expect(await postFlux(fluxFixture('kustomization-reconciliation-succeeded'))).toEqual({
      duplicate: false,
      ignored: true,
      reason: 'ReconciliationSucceeded',
      alreadyReconciled: first,
    });
    expect(await postFlux(fluxFixture('kustomization-reconciliation-succeeded', { timestamp: '2026-11-30T09:24:37Z' }))).toMatchObject({ ignored: true });
    expect(await countRows(sut, 'gitops_events')).toBe(stored + 2);

    // Next interval, same revision: Flux puts back a hand-edited Deployment. That is drift.
    const drift = fluxFixture('kustomization-progressing-changeset', { timestamp: '2026-11-30T09:34:03Z', message: 'Deployment/payments/api configured' });
    expect(await postFlux(drift)).toEqual({ duplicate: false, kind: 'drift', targets: ['payments'], attributedTo: [] });

    // Failures at a new commit, then its apply: a reconcile again, not drift.
    expect(await postFlux(fluxFixture('kustomization-reconciliation-failed', { revision: second }))).toMatchObject({ kind: 'failed' });
    expect(await postFlux(fluxFixture('kustomization-health-check-failed', { revision: second }))).toMatchObject({ kind: 'failed' });
    expect(await postFlux(fluxFixture('kustomization-progressing-changeset', { revision: second, timestamp: '2026-11-30T09:44:03Z' }))).toMatchObject({
      kind: 'reconciled',
    });

    const reconciled = (await auditOf('deploy.reconciled')).filter((e: Json) => e.data.object.kind === 'Kustomization');
    expect(reconciled.map((e: Json) => [e.data.reason, e.data.revision, e.data.commit])).toEqual([
      ['Progressing', first, '3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e'],
      ['Progressing', first, '3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e'],
      ['Progressing', second, '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567'],
    ]);
    expect(reconciled[0].data.resources).toEqual([
      { kind: 'Deployment', namespace: 'payments', name: 'api' },
      { kind: 'Service', namespace: 'payments', name: 'api' },
      { kind: 'HorizontalPodAutoscaler', namespace: 'payments', name: 'api' },
    ]);
    expect(reconciled[1].data.resources).toEqual([{ kind: 'ConfigMap', namespace: 'payments', name: 'api-config-6f9c8b' }]);
    expect(reconciled[0].data.cluster).toBe('prod-eu-1');
    const [detected] = (await auditOf('deploy.drift_detected')).filter((e: Json) => e.data.object.kind === 'Kustomization');
    expect(detected.data).toMatchObject({ reason: 'Progressing', revision: first, resources: [{ kind: 'Deployment', namespace: 'payments', name: 'api' }] });
    expect((await auditOf('deploy.failed')).map((e: Json) => e.data.reason)).toEqual(expect.arrayContaining(['ReconciliationFailed', 'HealthCheckFailed']));
  });

  it('Flux HelmRelease: DriftDetected is drift although it arrives with severity error; upgrades and their failures are recorded as such', async () => {
    expect(await postFlux(fluxFixture('helmrelease-dependency-not-ready'))).toEqual({ ignored: true, reason: 'DependencyNotReady' });
    expect(await postFlux(fluxFixture('helmrelease-upgrade-succeeded'))).toMatchObject({ kind: 'reconciled', targets: ['payments'] });
    expect(await postFlux(fluxFixture('helmrelease-upgrade-failed'))).toMatchObject({ kind: 'failed' });
    const drift = fluxFixture('helmrelease-drift-detected');
    expect(drift.severity).toBe('error');
    expect(await postFlux(drift)).toEqual({ duplicate: false, kind: 'drift', targets: ['payments'], attributedTo: [] });

    const helm = async (action: string) => (await auditOf(action)).filter((e: Json) => e.data.object.kind === 'HelmRelease');
    expect((await helm('deploy.reconciled')).map((e: Json) => [e.data.reason, e.data.revision])).toEqual([['UpgradeSucceeded', '1.4.2']]);
    expect((await helm('deploy.failed')).map((e: Json) => e.data.reason)).toEqual(['UpgradeFailed']);
    const [detected] = await helm('deploy.drift_detected');
    expect(detected.data.resources).toEqual([
      { kind: 'Deployment', namespace: 'payments', name: 'api' },
      { kind: 'ConfigMap', namespace: 'payments', name: 'api-env' },
    ]);
    // Security hears of both unexplained drifts (the Kustomization's and this one), once each.
    await until('two drift notices', () => driftNotices().length >= 2 || undefined);
    await sleep(300);
    expect(
      driftNotices()
        .map((n) => n.body.details.object)
        .sort(),
    ).toEqual(['HelmRelease/payments/api', 'Kustomization/flux-system/payments']);
  });

  describe('Argo CD: the shipped template rendered with Go text/template over real Applications', () => {
    let workdir: string;
    let renderer: string;
    let template: string;
    const docs = readFileSync(join(__dirname, '..', 'docs', 'gitops.md'), 'utf8');
    const shipped = readFileSync(join(__dirname, '..', 'examples', 'argocd-notifications-cm.yaml'), 'utf8');

    /** The body notifications-engine would post for this Application. */
    const render = (app: Json, body = template): string => {
      const [bodyFile, appFile] = [join(workdir, 'body.tmpl'), join(workdir, 'app.json')];
      writeFileSync(bodyFile, body);
      writeFileSync(appFile, JSON.stringify(app));
      const run = spawnSync(renderer, [bodyFile, appFile], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`render failed: ${run.stderr}`);
      return run.stdout;
    };

    beforeAll(() => {
      if (!hasGo) return;
      workdir = mkdtempSync(join(tmpdir(), 'argocd-template-'));
      renderer = join(workdir, 'render-template');
      const env = {
        ...process.env,
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'breakglass-go-build'),
        GOPATH: process.env.GOPATH ?? join(tmpdir(), 'breakglass-go-path'),
        GO111MODULE: 'off',
      };
      const build = spawnSync('go', ['build', '-o', renderer, join(__dirname, 'support', 'go', 'render-template.go')], { encoding: 'utf8', env });
      if (build.status !== 0) throw new Error(`go build failed: ${build.stderr}`);
      const configMap = parseYaml(shipped);
      template = parseYaml(configMap.data['template.breakglass']).webhook.breakglass.body;
    });
    afterAll(() => workdir && rmSync(workdir, { recursive: true, force: true }));

    it('is the template docs/gitops.md shows', () => {
      expect(docs).toContain(shipped.slice(shipped.indexOf('apiVersion: v1')));
    });

    (hasGo ? it : it.skip)(
      'renders plain JSON for a destination.server-only app, cluster-scoped resources and a multi-source app, and each posts what happened',
      async () => {
        const serverOnly = fixture('argocd/app-server-only.json');
        const clusterScoped = fixture('argocd/app-cluster-scoped.json');
        const multiSource = fixture('argocd/app-multi-source.json');
        for (const app of [serverOnly, clusterScoped, multiSource]) {
          const body = render(app);
          expect(body).not.toContain('<no value>');
          expect(() => JSON.parse(body)).not.toThrow();
        }

        // OutOfSync while Git is where the last sync left it: the live Deployment drifted.
        expect(await postArgo(render(serverOnly))).toMatchObject({ kind: 'drift', targets: ['payments'] });
        // OutOfSync because Git moved on: a pending deploy.
        const moved = structuredClone(serverOnly);
        moved.status.sync.revision = 'f00dfacef00dfacef00dfacef00dfacef00dface';
        expect(await postArgo(render(moved))).toEqual({ ignored: true, syncStatus: 'OutOfSync', operationPhase: 'Succeeded' });
        // A synced app of cluster-scoped objects, on a destination given by name.
        expect(await postArgo(render(clusterScoped))).toMatchObject({ kind: 'reconciled' });
        // Multi-source: the second source's commit moved, so pending, not drift; synced is a reconcile at that commit.
        expect(await postArgo(render(multiSource))).toMatchObject({ ignored: true });
        const multiSynced = structuredClone(multiSource);
        multiSynced.status.sync = { ...multiSynced.status.sync, status: 'Synced', revisions: multiSynced.status.operationState.syncResult.revisions };
        multiSynced.status.resources[0].status = 'Synced';
        expect(await postArgo(render(multiSynced))).toMatchObject({ kind: 'reconciled' });
        const multiDrift = structuredClone(multiSynced);
        multiDrift.status.sync.status = 'OutOfSync';
        multiDrift.status.resources[1].status = 'OutOfSync';
        expect(await postArgo(render(multiDrift))).toMatchObject({ kind: 'drift' });

        const argo = async (action: string) => (await auditOf(action)).filter((e: Json) => e.data.source === 'argocd');
        const drift = await argo('deploy.drift_detected');
        expect(drift.map((e: Json) => [e.data.object.name, e.data.cluster, e.data.resources])).toEqual([
          ['payments-api', 'https://kubernetes.default.svc', [{ kind: 'Deployment', namespace: 'payments', name: 'api' }]],
          ['payments-db', 'https://10.0.12.4:6443', [{ kind: 'Secret', namespace: 'payments', name: 'payments-db-postgresql' }]],
        ]);
        const reconciled = await argo('deploy.reconciled');
        expect(reconciled.map((e: Json) => [e.data.object.name, e.data.cluster, e.data.revision, e.data.commit])).toEqual([
          ['payments-platform', 'prod-eu-1', 'c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5', 'c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5'],
          ['payments-db', 'https://10.0.12.4:6443', '15.5.38, a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0'],
        ]);
        expect(reconciled[0].data.resources).toContainEqual({ kind: 'ClusterRole', namespace: null, name: 'payments-operator' });
        expect(JSON.stringify([...drift, ...reconciled])).not.toContain('<no value>');
      },
    );

    (hasGo ? it : it.skip)('the template shipped before renders <no value>; the broker stores none of it and calls none of it drift', async () => {
      const unguarded = readFileSync(join(FIXTURES, 'argocd', 'unguarded-body.tmpl'), 'utf8');
      const multiSource = fixture('argocd/app-multi-source.json');
      multiSource.metadata.name = 'payments-db-old-template';
      const body = render(multiSource, unguarded);
      expect(JSON.parse(body)).toMatchObject({ revision: '<no value>', syncedRevision: '<no value>', destination: { name: '<no value>' } });
      const before = await countRows(sut, 'gitops_events');
      // Both revisions "<no value>" compare equal, but they are unknown: a pending deploy, not drift.
      expect(await postArgo(body)).toMatchObject({ ignored: true });
      expect(await countRows(sut, 'gitops_events')).toBe(before);

      const clusterScoped = fixture('argocd/app-cluster-scoped.json');
      clusterScoped.metadata.name = 'payments-platform-old-template';
      clusterScoped.spec.destination = { server: 'https://10.0.12.4:6443' };
      expect(await postArgo(render(clusterScoped, unguarded))).toMatchObject({ kind: 'reconciled' });
      const [stored] = (await auditOf('deploy.reconciled')).filter((e: Json) => e.data.object.name === 'payments-platform-old-template');
      expect(stored.data.cluster).toBe('https://10.0.12.4:6443');
      expect(stored.data.resources).toContainEqual({ kind: 'Namespace', namespace: null, name: 'payments' });
      expect(JSON.stringify(stored)).not.toContain('<no value>');
    });
  });
});
