import { createServer, type Server } from 'node:http';
import { startTestService, type TestService } from './support/test-service';
import { until } from './support/until';

// An escalation step counts as fired only once its notifications were delivered (issue 20): a
// webhook that keeps failing shows `failing` with its last error on the SLA API and in /metrics.

const POLICY = (hookUrl: string) => `
defaults:
  retroPr: { window: 2s }
  escalation:
    - { after: 0s, notify: [security-hook] }
    - { after: 1s, notify: [audit-log] }
channels:
  security-hook: { type: webhook, url: '${hookUrl}', secret: test-webhook-secret }
  audit-log: { type: log }
targets:
  - name: cluster
    environment: production
    credential: { type: jwt, audience: kubernetes }
    repo: acme/infra
`;

/** A webhook endpoint that answers 503 until told to recover. */
class FlakyEndpoint {
  failing = true;
  received = 0;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.received++;
        res.statusCode = this.failing ? 503 : 204;
        res.end(this.failing ? 'maintenance' : undefined);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** One sample of a metric with these labels from the Prometheus text, or undefined. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('escalation delivery truth and the operational metrics', () => {
  jest.setTimeout(60_000);
  let sut: TestService;
  let endpoint: FlakyEndpoint;
  let engineer: string;
  let compliance: string;

  beforeAll(async () => {
    endpoint = new FlakyEndpoint();
    sut = await startTestService({ policyYaml: POLICY(await endpoint.start()), env: { BREAKGLASS_RETRY_BASE_MS: '200' } });
    engineer = await sut.token('oncall-1', ['engineer']);
    compliance = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut.close();
    await endpoint.stop();
  });

  const metrics = async () => (await sut.http.get('/metrics').expect(200)).text;
  const steps = async (grant: string) =>
    (await sut.http.get(`/v1/sla?grant=${grant}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0].steps as {
      step: number;
      state: string;
      deliveries: number;
      delivered: number;
      lastError: string | null;
    }[];

  it('a step whose webhook fails is failing with the last error, not fired; it becomes fired once delivered', async () => {
    const before = await metrics();
    expect(sample(before, 'breakglass_grants_active', 'target="cluster"')).toBe(0);
    expect(sample(before, 'breakglass_sla_clocks', 'kind="retro_pr",state="running"')).toBe(0);
    expect(sample(before, 'breakglass_notifications_failing', 'channel="security-hook"')).toBe(0);

    const grant = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'cluster', incident: 'INC-77', reason: 'Rotating the ingress certificate by hand', durationSeconds: 600 })
        .expect(201)
    ).body;
    const during = await metrics();
    expect(sample(during, 'breakglass_grants_active', 'target="cluster"')).toBe(1);
    expect(sample(during, 'breakglass_sla_clocks', 'kind="retro_pr",state="running"')).toBe(1);

    // The clock breaches after 2 s; step 1 (webhook) keeps failing, step 2 (log) is delivered.
    const failing = await until(
      'step 1 failing and step 2 fired',
      async () => {
        const s = await steps(grant.id);
        return s[0].state === 'failing' && s[1].state === 'fired' ? s : undefined;
      },
      20_000,
    );
    expect(failing[0]).toMatchObject({ step: 1, state: 'failing', deliveries: 1, delivered: 0, lastError: expect.stringContaining('503') });
    expect(failing[1]).toMatchObject({ step: 2, state: 'fired', deliveries: 1, delivered: 1, lastError: null });

    const broken = await metrics();
    expect(sample(broken, 'breakglass_notifications_failing', 'channel="security-hook"')).toBe(1);
    expect(sample(broken, 'breakglass_notifications_backlog', 'channel="security-hook"')).toBe(1);
    expect(sample(broken, 'breakglass_notification_attempts_total', 'channel="security-hook",outcome="failed"')).toBeGreaterThanOrEqual(1);
    expect(sample(broken, 'breakglass_sla_clocks', 'kind="retro_pr",state="breached"')).toBe(1);
    expect(sample(broken, 'breakglass_audit_tree_lag_events', '')).toBeGreaterThanOrEqual(0);

    endpoint.failing = false;
    const recovered = await until(
      'step 1 delivered',
      async () => {
        const s = await steps(grant.id);
        return s[0].state === 'fired' ? s : undefined;
      },
      20_000,
    );
    expect(recovered[0]).toMatchObject({ state: 'fired', delivered: 1, lastError: null });
    const after = await metrics();
    expect(sample(after, 'breakglass_notifications_failing', 'channel="security-hook"')).toBe(0);
    expect(sample(after, 'breakglass_notifications_backlog', 'channel="security-hook"')).toBe(0);
    expect(sample(after, 'breakglass_notification_attempts_total', 'channel="security-hook",outcome="delivered"')).toBe(1);
  });
});
