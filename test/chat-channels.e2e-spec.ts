import { type Server } from 'node:http';
import { createServer } from 'node:https';
import { startChildService, type ChildService } from './support/service-child';
import { testCertificate } from './support/test-certificate';
import { until } from './support/until';

// Slack and Microsoft Teams channels (docs/notifications.md) against local HTTPS stand-ins that speak
// the documented formats: Slack's Web API `chat.postMessage` (form-encoded request, `{ ok, channel,
// ts }` answer, `ok: false` errors, 429 with Retry-After) and a Teams Workflows webhook (an Adaptive
// Card). The service runs as its own process, trusting the stand-ins' test certificate.

interface Posted {
  token: string | undefined;
  channel: string;
  text: string;
  threadTs: string | null;
  blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { url?: string }[] }[];
  ts: string;
}

class SlackStandIn {
  readonly posted: Posted[] = [];
  readonly answers: number[] = [];
  rateLimitNext = 0;
  private server?: Server;
  private counter = 0;

  async start(): Promise<string> {
    this.server = createServer(testCertificate(), (req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        if (req.url !== '/api/chat.postMessage' || req.method !== 'POST') {
          res.statusCode = 404;
          return res.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
        }
        if (this.rateLimitNext > 0) {
          this.rateLimitNext--;
          this.answers.push(429);
          res.statusCode = 429;
          res.setHeader('retry-after', '1');
          return res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        }
        const form = new URLSearchParams(raw);
        const token = req.headers.authorization?.replace(/^Bearer /, '');
        if (token !== 'xoxb-test-token') return res.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
        const channel = form.get('channel') ?? '';
        if (channel === '#nowhere') {
          this.answers.push(200);
          return res.end(JSON.stringify({ ok: false, error: 'channel_not_found' }));
        }
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.counter).padStart(6, '0')}`;
        const conversation = channel.startsWith('#') ? 'C0SECALERTS' : channel;
        this.posted.push({ token, channel, text: form.get('text') ?? '', threadTs: form.get('thread_ts'), blocks: JSON.parse(form.get('blocks') ?? '[]'), ts });
        this.answers.push(200);
        res.end(
          JSON.stringify({
            ok: true,
            channel: conversation,
            ts,
            message: { type: 'message', text: form.get('text'), ts, thread_ts: form.get('thread_ts') ?? undefined },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as { port: number }).port}/api/`;
  }

  stop(): Promise<unknown> {
    return new Promise((resolve) => this.server?.close(resolve));
  }
}

class TeamsStandIn {
  readonly cards: Record<string, unknown>[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer(testCertificate(), (req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        this.cards.push(JSON.parse(raw));
        res.statusCode = 202; // what a Workflows "When a Teams webhook request is received" trigger answers
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as { port: number }).port}/workflows/abc/triggers/manual/paths/invoke`;
  }

  stop(): Promise<unknown> {
    return new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('Slack and Teams channels', () => {
  jest.setTimeout(60_000);
  const slack = new SlackStandIn();
  const teams = new TeamsStandIn();
  let sut: ChildService;
  let engineer: string;
  let security: string;

  const breakGlass = async (target: string) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target, incident: 'INC-77', reason: 'Checkout failing after the TLS rotation', durationSeconds: 600 })
        .expect(201)
    ).body as { id: string };
  const notifications = async (grant: string) =>
    (await sut.http.get(`/v1/grants/${grant}/notifications`).set('Authorization', `Bearer ${security}`).expect(200)).body.notifications as {
      notice: string;
      channel: string;
      status: string;
      attempts: number;
      lastError: string | null;
      id: string;
    }[];

  beforeAll(async () => {
    const slackUrl = await slack.start();
    const teamsUrl = await teams.start();
    sut = await startChildService({
      policyYaml: `
channels:
  slack-sec: { type: slack, token: '\${SLACK_BOT_TOKEN}', channel: '#sec-alerts' }
  slack-missing: { type: slack, token: '\${SLACK_BOT_TOKEN}', channel: '#nowhere' }
  teams-sec: { type: teams, url: '${teamsUrl}' }
targets:
  - name: checkout
    environment: production
    credential: { type: jwt, audience: checkout }
    notifyOnUse: [slack-sec, teams-sec]
  - name: misconfigured
    environment: production
    credential: { type: jwt, audience: misconfigured }
    notifyOnUse: [slack-missing]
`,
      env: { SLACK_API_URL: slackUrl, SLACK_BOT_TOKEN: 'xoxb-test-token', BREAKGLASS_RETRY_BASE_MS: '200' },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    security = await sut.token('sec-1', ['security']);
  });
  afterAll(async () => {
    await sut?.close();
    await slack.stop();
    await teams.stop();
  });

  it('posts glass-broken with Block Kit, then threads every later notice of the grant under it', async () => {
    const grant = await breakGlass('checkout');
    await sut.http
      .post(`/v1/grants/${grant.id}/extend`)
      .set('Authorization', `Bearer ${engineer}`)
      .send({ durationSeconds: 300, reason: 'Still rolling back the TLS rotation' })
      .expect(200);
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'fixed' }).expect(200);
    await until(
      'three Slack deliveries',
      async () => (await notifications(grant.id)).filter((n) => n.channel === 'slack-sec' && n.status === 'delivered').length === 3,
      15_000,
    );

    const mine = slack.posted.filter((p) => p.text.includes(grant.id));
    expect(mine).toHaveLength(3);
    const [root, ...later] = mine;
    expect(root).toMatchObject({ token: 'xoxb-test-token', channel: '#sec-alerts', threadTs: null });
    expect(root.text).toBe(`[breakglass] ${grant.id} glass broken on checkout by oncall-1`);
    expect(root.blocks[0]).toMatchObject({ type: 'header', text: { text: `${grant.id} glass broken on checkout by oncall-1` } });
    const fields = root.blocks.find((b) => b.type === 'section')!.fields!.map((f) => f.text);
    expect(fields.slice(0, 6)).toEqual([
      `*Grant*\n${grant.id}`,
      '*Target*\ncheckout',
      '*Requester*\noncall-1',
      '*Incident*\nINC-77',
      '*Reason*\nCheckout failing after the TLS rotation',
      expect.stringMatching(/^\*Expires\*\n\d{4}-\d\d-\d\dT/),
    ]);
    expect(root.blocks.find((b) => b.type === 'actions')!.elements![0].url).toBe(`${sut.url}/ui/#/grants/${grant.id}`);
    // Later notices go into the thread of the first, in the conversation Slack answered with.
    for (const message of later) expect(message).toMatchObject({ channel: 'C0SECALERTS', threadTs: root.ts });
    expect(later.map((m) => m.text)).toEqual([expect.stringContaining('extended until'), expect.stringContaining('revoked by oncall-1')]);
  });

  it('waits for Retry-After on a 429 and loses nothing; records ok:false (channel_not_found) as a failed attempt with the error', async () => {
    slack.rateLimitNext = 1;
    const answered = slack.answers.length;
    const grant = await breakGlass('checkout');
    const delivered = await until(
      'the glass-broken notice delivered after the 429',
      async () => (await notifications(grant.id)).find((n) => n.channel === 'slack-sec' && n.status === 'delivered'),
      15_000,
    );
    expect(delivered.attempts).toBe(2);
    expect(slack.answers.slice(answered)).toEqual([429, 200]);
    expect(slack.posted.filter((p) => p.text.includes(grant.id))).toHaveLength(1);
    const attempts: { outcome: string; error: string | null; at: Date }[] = await sut.query(
      `SELECT outcome, error, at FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt`,
      [delivered.id],
    );
    expect(attempts.map((a) => [a.outcome, a.error])).toEqual([
      ['failed', 'Slack rate limit: retry after 1 s'],
      ['delivered', null],
    ]);
    expect(attempts[1].at.getTime() - attempts[0].at.getTime()).toBeGreaterThanOrEqual(950);

    const misconfigured = await breakGlass('misconfigured');
    const failing = await until('a failed attempt', async () => (await notifications(misconfigured.id)).find((n) => n.attempts >= 1));
    expect(failing).toMatchObject({ channel: 'slack-missing', status: 'pending', lastError: 'Slack answered ok: false, channel_not_found' });
  });

  it('posts a valid Adaptive Card to the Teams webhook', async () => {
    const grant = await breakGlass('checkout');
    const card = (await until('the Teams card', () => teams.cards.find((c) => JSON.stringify(c).includes(`${grant.id} glass broken`)))) as {
      type: string;
      attachments: { contentType: string; contentUrl: null; content: Record<string, unknown> }[];
    };
    expect(card.type).toBe('message');
    expect(card.attachments).toHaveLength(1);
    const [attachment] = card.attachments;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const content = attachment.content as {
      $schema: string;
      type: string;
      version: string;
      body: { type: string; text?: string; facts?: { title: string; value: string }[] }[];
      actions: { type: string; url: string }[];
    };
    expect(content).toMatchObject({ $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4' });
    expect(content.body.map((b) => b.type)).toEqual(['TextBlock', 'FactSet', 'TextBlock']);
    expect(content.body[0].text).toBe(`[breakglass] ${grant.id} glass broken on checkout by oncall-1`);
    expect(content.body[1].facts!.slice(0, 4)).toEqual([
      { title: 'Grant', value: grant.id },
      { title: 'Target', value: 'checkout' },
      { title: 'Requester', value: 'oncall-1' },
      { title: 'Incident', value: 'INC-77' },
    ]);
    for (const block of content.body) for (const fact of block.facts ?? []) expect(typeof fact.value).toBe('string');
    expect(content.actions).toEqual([
      { type: 'Action.OpenUrl', title: `Grant ${grant.id} in the breakglass dashboard`, url: `${sut.url}/ui/#/grants/${grant.id}` },
    ]);
    await until('the Teams delivery recorded', async () => (await notifications(grant.id)).find((n) => n.channel === 'teams-sec' && n.status === 'delivered'));
  });
});
