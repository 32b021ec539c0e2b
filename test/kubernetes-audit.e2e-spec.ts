import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AuditLog } from '../src/audit/audit-log.service';
import { recomputeSessionChain } from './support/session-chain';
import { startTestService, type TestService } from './support/test-service';
import { until } from './support/until';
import { WebhookReceiver } from './support/webhook-receiver';

// P2.3: POST /v1/webhooks/kubernetes/audit?cluster=NAME with audit.k8s.io/v1 EventLists shaped as
// kube-apiserver's webhook backend posts them (test/fixtures/k8s-audit).

const AUDIT_TOKEN = 'kube-audit-token-0123456789abcdef';
const HOOK_SECRET = 'security-hook-secret-0123456789';
const FIXTURE = readFileSync(path.join(__dirname, 'fixtures/k8s-audit/kubectl-session.json'), 'utf8');
const REQUEST = { incident: 'INC-4821', reason: 'Checkout pods crash-looping; need logs', durationSeconds: 600 };

/** The fixture with fresh auditIDs and times around `at` (microseconds, as kube-apiserver writes them). */
function sessionFixture(grant: string, at: number): { body: Record<string, unknown>; ids: Record<string, string> } {
  const micro = (offsetMs: number) => new Date(at + offsetMs).toISOString().replace('Z', '417Z');
  const ids = { ID1: randomUUID(), ID2: randomUUID(), ID3: randomUUID(), ID_SA: randomUUID() };
  const values: Record<string, string> = {
    ...ids,
    GRANT: grant,
    T1: micro(0),
    T1_DONE: micro(7),
    T2: micro(20),
    T2_DONE: micro(31),
    T3: micro(40),
    T3_DONE: micro(42),
  };
  return { body: JSON.parse(FIXTURE.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key])), ids };
}

/** A minimal ResponseComplete event of `username`. */
function event(username: string, at: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const time = new Date(at).toISOString();
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: { username, groups: ['system:authenticated'] },
    sourceIPs: ['10.9.8.7'],
    userAgent: 'kubectl/v1.32.4',
    objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: time,
    stageTimestamp: time,
    ...extra,
  };
}
const list = (items: unknown[]) => ({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });

describe('the Kubernetes audit webhook', () => {
  let sut: TestService;
  let receiver: WebhookReceiver;
  let engineer: string;
  let security: string;

  const post = (body: unknown, cluster = 'prod', token = AUDIT_TOKEN) =>
    sut.http
      .post(`/v1/webhooks/kubernetes/audit?cluster=${cluster}`)
      .set('Authorization', `Bearer ${token}`)
      .set('content-type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const grant = async (target = 'prod-admin') =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target, ...REQUEST })
        .expect(201)
    ).body;
  const records = async (id: string) => (await sut.http.get(`/v1/grants/${id}/events`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
  const stored = async () => ({
    seen: Number((await sut.dataSource.query('SELECT count(*) AS n FROM kubernetes_audit_events'))[0].n),
    records: Number((await sut.dataSource.query(`SELECT count(*) AS n FROM session_events WHERE type = 'k8s'`))[0].n),
    audit: Number((await sut.dataSource.query(`SELECT count(*) AS n FROM audit_events WHERE action = 'k8s.unattributed'`))[0].n),
  });

  beforeAll(async () => {
    receiver = new WebhookReceiver(HOOK_SECRET);
    const hook = await receiver.start();
    sut = await startTestService({
      env: { KUBERNETES_AUDIT_TOKEN: AUDIT_TOKEN },
      policyYaml: `
roles: { engineer: [oncall], security: [security-team] }
notify: { security: [security-hook] }
channels:
  security-hook: { type: webhook, url: '${hook}', secret: ${HOOK_SECRET} }
targets:
  - name: prod-admin
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: ['breakglass:cluster-admin'] }
    kubernetes: { cluster: prod, server: 'https://k8s.example.com:6443' }
    controls: ['CUSTOM:K8S-1']
  - name: prod-view
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: ['breakglass:view'] }
    kubernetes: { cluster: prod, server: 'https://k8s.example.com:6443' }
  - name: staging
    environment: staging
    credential: { type: jwt, audience: kubernetes }
    kubernetes: { cluster: staging, server: 'https://staging.example.com:6443' }
`,
    });
    engineer = await sut.token('oncall-1', ['engineer']);
    security = await sut.token('sec-1', ['security']);
  });
  afterAll(async () => {
    await sut.close();
    await receiver.stop();
  });

  it('records a kubectl session on its grant (by extra and by username), ignores other stages and identities, and de-duplicates re-sends', async () => {
    const g = await grant();
    const { body, ids } = sessionFixture(g.id, Date.now());
    const answer = (await post(body).expect(200)).body;
    expect(answer).toEqual({
      cluster: 'prod',
      received: 5,
      recorded: 3,
      unattributed: 0,
      duplicates: 0,
      otherIdentities: 1,
      otherStages: 1,
      ignored: 0,
      problems: [],
    });

    const k8s = (await records(g.id)).filter((r: { type: string }) => r.type === 'k8s');
    const t = (body.items as { requestReceivedTimestamp: string; stageTimestamp: string }[]).filter((_, index) => index !== 0 && index !== 2);
    expect(k8s).toEqual([
      expect.objectContaining({
        type: 'k8s',
        command: 'LIST /api/v1/namespaces/payments/pods?limit=500',
        cwd: 'prod',
        user: 'breakglass:oncall-1',
        host: '10.20.30.40',
        startedAt: new Date(t[0].requestReceivedTimestamp).toISOString(),
        finishedAt: new Date(t[0].stageTimestamp).toISOString(),
        exitCode: 200,
        detail: {
          auditID: ids.ID1,
          verb: 'list',
          resource: 'pods',
          subresource: null,
          namespace: 'payments',
          name: null,
          apiGroup: null,
          userAgent: 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd',
        },
      }),
      expect.objectContaining({
        command: 'PATCH /apis/apps/v1/namespaces/payments/deployments/payments-api/scale',
        host: '10.20.30.40',
        exitCode: 200,
        detail: expect.objectContaining({
          auditID: ids.ID2,
          verb: 'patch',
          resource: 'deployments',
          subresource: 'scale',
          name: 'payments-api',
          apiGroup: 'apps',
        }),
      }),
      expect.objectContaining({
        command: 'GET /api/v1/namespaces/payments/secrets/ledger-db',
        exitCode: 403,
        detail: expect.objectContaining({ auditID: ids.ID3, resource: 'secrets' }),
      }),
    ]);
    // kube-apiserver re-sends a batch it saw fail: nothing is recorded twice.
    const before = await stored();
    expect((await post(body).expect(200)).body).toMatchObject({ recorded: 0, duplicates: 3, unattributed: 0 });
    expect(await stored()).toEqual(before);

    // The session chain, recomputed from the API's records with the format-2 formula (the test's own code).
    const all = await records(g.id);
    const head = recomputeSessionChain(all);
    expect((await sut.http.get(`/v1/grants/${g.id}/events/verify`).set('Authorization', `Bearer ${security}`).expect(200)).body).toMatchObject({
      valid: true,
      headHash: head,
    });
    const transcript = (await sut.http.get(`/v1/grants/${g.id}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
    expect(transcript).toContain('breakglass:oncall-1@10.20.30.40 prod K8S> PATCH /apis/apps/v1/namespaces/payments/deployments/payments-api/scale → 200');

    // What the session changed: the PATCH, not the LIST, not the GET the cluster refused.
    const detail = (await sut.http.get(`/v1/grants/${g.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    const at = new Date(t[1].requestReceivedTimestamp).toISOString();
    expect(detail.changes).toEqual([{ object: 'deployments/payments/payments-api/scale', operation: 'PATCH', count: 1, firstAt: at, lastAt: at }]);
  });

  it('attributes by username to the grant active at the request time, on that cluster only', async () => {
    const other = await sut.token('oncall-2', ['engineer']);
    const g = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${other}`)
        .send({ target: 'prod-view', ...REQUEST })
        .expect(201)
    ).body;
    const now = Date.now();
    const answer = (await post(list([event('breakglass:oncall-2', now), event('breakglass:oncall-2', now + 1)])).expect(200)).body;
    expect(answer).toMatchObject({ recorded: 2, unattributed: 0 });
    expect((await records(g.id)).filter((r: { type: string }) => r.type === 'k8s')).toHaveLength(2);
    // The same identity on the staging cluster has no grant there.
    const staging = (await post(list([event('breakglass:oncall-2', now + 2)]), 'staging').expect(200)).body;
    expect(staging).toMatchObject({ recorded: 0, unattributed: 1 });
  });

  it('turns a use after revoke into k8s.unattributed on the grant, with one security notice for the identity', async () => {
    const g = await grant();
    await sut.http
      .post(`/v1/grants/${g.id}/revoke`)
      .set('Authorization', `Bearer ${security}`)
      .send({ reason: 'Incident closed; access no longer needed' })
      .expect(200);
    const after = Date.now() + 50;
    const claim = { user: { username: 'breakglass:oncall-1', groups: ['breakglass:cluster-admin'], extra: { 'breakglass.io/grant': [g.id] } } };
    const events = [event('x', after, claim), event('x', after + 5, claim), event('x', after + 9, claim)];
    const answer = (await post(list(events)).expect(200)).body;
    expect(answer).toMatchObject({ recorded: 0, unattributed: 3 });

    const audit = (await sut.http.get(`/v1/audit?action=k8s.unattributed&grant=${g.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    expect(audit).toHaveLength(3);
    expect(audit[0]).toMatchObject({
      actor: 'system:kubernetes',
      grant: g.id,
      target: 'prod-admin',
      data: {
        cluster: 'prod',
        auditID: events[0].auditID,
        username: 'breakglass:oncall-1',
        verb: 'list',
        grantClaim: g.id,
        why: expect.stringContaining(`grant ${g.id} did not explain it`),
      },
    });
    expect(audit[0].controls).toEqual(expect.arrayContaining(['CUSTOM:K8S-1', 'NIST-800-53:SI-4']));
    const notices = await until('the security notice', () => {
      const found = receiver.received.filter((r) => r.body.notice === 'k8s_unattributed' && r.body.details.grantClaim === g.id);
      return found.length ? found : undefined;
    });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      signatureValid: true,
      body: { severity: 'critical', details: { cluster: 'prod', username: 'breakglass:oncall-1', requests: 3 } },
    });

    // More use within the notice window is audited too, but security is not paged again.
    expect((await post(list([event('x', after + 20, claim)])).expect(200)).body).toMatchObject({ unattributed: 1 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.filter((r) => r.body.notice === 'k8s_unattributed' && r.body.details.grantClaim === g.id)).toHaveLength(1);
    expect(await sut.app.get(AuditLog).verify()).toMatchObject({ valid: true });
  });

  it('records late: an event from before the revoke that arrives after it lands on the grant, marked late, and the seal follows', async () => {
    const g = await grant();
    const during = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sut.http
      .post(`/v1/grants/${g.id}/revoke`)
      .set('Authorization', `Bearer ${security}`)
      .send({ reason: 'Incident closed; access no longer needed' })
      .expect(200);
    expect((await post(list([event('breakglass:oncall-1', during)])).expect(200)).body).toMatchObject({ recorded: 1 });
    const [late] = (await records(g.id)).filter((r: { type: string }) => r.type === 'k8s');
    expect(late).toMatchObject({ late: true, startedAt: new Date(during).toISOString() });
    expect((await sut.http.get(`/v1/grants/${g.id}/events/verify`).set('Authorization', `Bearer ${security}`).expect(200)).body).toMatchObject({ valid: true });
  });

  it('refuses bad tokens, bodies and clusters with a 4xx and stores nothing', async () => {
    const before = await stored();
    const g = await grant();
    const valid = sessionFixture(g.id, Date.now()).body;
    expect((await post(valid, 'prod', 'wrong-token-0123456789abcdef').expect(401)).body).toMatchObject({ error: 'invalid_signature' });
    expect((await sut.http.post('/v1/webhooks/kubernetes/audit?cluster=prod').send(valid).expect(401)).body.error).toBe('invalid_signature');
    expect((await post('{"kind": "EventList", "items": [').expect(400)).body.error).toBe('malformed_json');
    expect((await post({ kind: 'Pod', apiVersion: 'v1' }).expect(400)).body.error).toBe('malformed_payload');
    expect((await post([1, 2, 3]).expect(400)).body.error).toBe('malformed_payload');
    expect((await post(valid, 'nowhere').expect(404)).body.error).toBe('unknown_cluster');
    expect((await sut.http.post('/v1/webhooks/kubernetes/audit').set('Authorization', `Bearer ${AUDIT_TOKEN}`).send(valid).expect(404)).body.error).toBe(
      'unknown_cluster',
    );
    const huge = list(Array.from({ length: 100_000 }, () => ({ kind: 'Event', auditID: randomUUID(), stage: 'ResponseComplete' })));
    expect((await post(huge).expect(413)).body).toMatchObject({ error: 'too_many_events', message: expect.stringContaining('at most 2000') });
    expect(await stored()).toEqual(before);
  });

  it('ignores events it cannot use, with a reason each, and records the rest', async () => {
    const g = await grant();
    const now = Date.now();
    const broken = [
      event('breakglass:oncall-1', now, { auditID: 'not-a-uuid' }),
      event('breakglass:oncall-1', now, { requestReceivedTimestamp: '9999-12-31T23:59:59Z' }),
      event('breakglass:oncall-1', now, { requestReceivedTimestamp: '1970-01-01T00:00:00Z' }),
      event('breakglass:oncall-1', now, { stageTimestamp: 'yesterday' }),
      event('breakglass:oncall-1', now, { user: null }),
      event('breakglass:oncall-1', now, { verb: 42 }),
      event('breakglass:oncall-1', now, { requestURI: 'no-slash' }),
      event('breakglass:oncall-1', now, { stage: 7 }),
      'not an event',
      null,
    ];
    const fine = event('breakglass:oncall-1', now, { responseStatus: undefined });
    const answer = (await post(list([...broken, fine])).expect(200)).body;
    expect(answer).toMatchObject({ received: 11, recorded: 1, ignored: 10 });
    expect(answer.problems.map((p: { index: number; reason: string }) => `${p.index}: ${p.reason}`)).toEqual([
      '0: auditID must be a UUID',
      '1: requestReceivedTimestamp is in the future',
      '2: requestReceivedTimestamp is older than 7 days',
      '3: stageTimestamp must be an RFC 3339 time',
      '4: user.username is required',
      '5: verb must be a lower-case word',
      '6: requestURI must be a path',
      '7: stage is missing or not a string',
      '8: stage is missing or not a string',
      '9: stage is missing or not a string',
    ]);
    const [record] = (await records(g.id)).filter((r: { type: string }) => r.type === 'k8s');
    expect(record).toMatchObject({ exitCode: null, detail: expect.objectContaining({ auditID: fine.auditID }) });
  });

  it('answers 503 while KUBERNETES_AUDIT_TOKEN is unset', async () => {
    const unset = await startTestService({
      policyYaml: `targets:\n  - { name: k, environment: prod, credential: { type: jwt, audience: kubernetes }, kubernetes: { cluster: prod, server: 'https://k' } }\n`,
    });
    try {
      const answer = await unset.http
        .post('/v1/webhooks/kubernetes/audit?cluster=prod')
        .set('Authorization', `Bearer ${AUDIT_TOKEN}`)
        .send(list([]))
        .expect(503);
      expect(answer.body.error).toBe('webhook_not_configured');
    } finally {
      await unset.close();
    }
  });
});
