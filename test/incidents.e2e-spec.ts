import { createHmac, randomUUID } from 'node:crypto';
import { FakePagerDutyApi } from './support/pagerduty-api';
import { freePort } from './support/ports';
import { startChildService, type ChildService } from './support/service-child';
import { SmtpSink } from './support/smtp-sink';
import { testCertificate } from './support/test-certificate';
import { startTestService } from './support/test-service';
import { until } from './support/until';

// Incident-aware access (docs/incidents.md): the incident a request names is looked up in PagerDuty
// (a local HTTPS stand-in of its REST API, in PagerDuty's documented formats; the service runs as its
// own process trusting its certificate), and PagerDuty's Webhooks v3 `incident.resolved` applies the
// target's onIncidentResolved to the incident's grants.

const SECRET = 'pagerduty-webhook-secret-0123456789';
const REASON = 'Card payments failing; inspecting ledger locks';

const POLICY = `
defaults:
  incident: { pattern: '^(PD-)?[A-Z0-9]+$', example: PD-Q1W2E3, pagerduty: { require: open } }
notify: { security: [security-mail] }
channels:
  security-mail: { type: email, to: [security@example.com] }
targets:
  - name: payments
    environment: production
    credential: { type: jwt, audience: payments }
    onIncidentResolved: revoke
  - name: ledger
    environment: production
    credential: { type: jwt, audience: ledger }
    onIncidentResolved: 'shorten:2s'
  - name: reporting
    environment: production
    credential: { type: jwt, audience: reporting }
  - name: responders-only
    environment: production
    credential: { type: jwt, audience: responders }
    incident: { pagerduty: { requesterMustBeResponder: true } }
`;

describe('incident-aware access (PagerDuty)', () => {
  jest.setTimeout(60_000);
  let sut: ChildService;
  let pagerDuty: FakePagerDutyApi;
  let smtp: SmtpSink;
  let engineer: string;
  let security: string;

  const request = (target: string, incident: string, token = engineer) =>
    sut.http.post('/v1/grants').set('Authorization', `Bearer ${token}`).send({ target, incident, reason: REASON, durationSeconds: 600 });
  const sign = (body: string, secret = SECRET) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const resolved = (incident: string, eventId = randomUUID()) =>
    JSON.stringify({
      event: {
        id: eventId,
        event_type: 'incident.resolved',
        resource_type: 'incident',
        occurred_at: new Date().toISOString(),
        agent: { id: 'PUSER01', type: 'user_reference' },
        client: null,
        data: { id: incident, type: 'incident', self: `https://api.pagerduty.com/incidents/${incident}`, status: 'resolved', title: 'Payments down' },
      },
    });
  const deliver = (body: string, signature = sign(body)) =>
    sut.http.post('/v1/webhooks/pagerduty').set('Content-Type', 'application/json').set('X-PagerDuty-Signature', signature).send(body);
  /** Rows of a table; audit entries counted whether sequenced yet or not. */
  const countRows = async (table: string) => {
    const sql =
      table === 'audit_events'
        ? `SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM audit_pending) AS n`
        : `SELECT count(*) AS n FROM ${table}`;
    return Number((await sut.query<{ n: string }>(sql))[0].n);
  };
  const introspect = async (token: string) =>
    (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${security}`).send({ token }).expect(200)).body;

  beforeAll(async () => {
    smtp = new SmtpSink(await freePort());
    await smtp.start();
    pagerDuty = new FakePagerDutyApi(
      {
        users: [
          { id: 'PUSER01', name: 'On Call', email: 'oncall-1@example.com' },
          { id: 'PUSER02', name: 'Escalation', email: 'oncall-2@example.com' },
          { id: 'PUSER03', name: 'Bystander', email: 'bystander@example.com' },
        ],
        onCall: {},
        incidents: {
          Q1OPEN: { status: 'triggered', title: 'Payments API 5xx', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' },
          Q2ACK: { status: 'acknowledged', title: 'Ledger lag', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' },
          Q3DONE: { status: 'resolved', title: 'Old outage', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' },
        },
        escalationOnCall: { PUSER02: ['PEP0001'] },
      },
      testCertificate(),
    );
    sut = await startChildService({
      policyYaml: POLICY,
      env: {
        PAGERDUTY_API_URL: await pagerDuty.start(),
        PAGERDUTY_API_TOKEN: 'test-token-abc',
        PAGERDUTY_WEBHOOK_SECRET: SECRET,
        SMTP_URL: smtp.url,
        SMTP_FROM: 'breakglass <breakglass@example.com>',
      },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    security = await sut.token('sec-1', ['security']);
  });
  afterAll(async () => {
    await sut?.close();
    await pagerDuty?.stop();
    await smtp?.stop();
  });

  it('grants on an open incident with its evidence; refuses a resolved one (incident_not_open) and an unknown one (incident_unknown), audited, no grant row', async () => {
    const granted = (await request('reporting', 'PD-Q1OPEN').expect(201)).body;
    expect(granted.incidentEvidence).toMatchObject({
      id: 'Q1OPEN',
      status: 'triggered',
      title: 'Payments API 5xx',
      urgency: 'high',
      service: { id: 'PSVC001', summary: 'Payments API' },
      assignees: [{ id: 'PUSER01', summary: 'PUSER01' }],
      escalationPolicy: { id: 'PEP0001', summary: 'Payments escalation' },
      htmlUrl: 'https://acme.pagerduty.com/incidents/Q1OPEN',
    });
    expect(granted.flags).toEqual([]);
    const view = (await sut.http.get(`/v1/grants/${granted.id}`).set('Authorization', `Bearer ${engineer}`).expect(200)).body;
    expect(view.incidentEvidence).toEqual(granted.incidentEvidence);
    expect(pagerDuty.requests.some((r) => r.path === '/incidents/Q1OPEN' && r.authorization === 'Token token=test-token-abc')).toBe(true);
    // A bare id works too.
    await request('reporting', 'Q2ACK').expect(201);

    const rows = await countRows('grants');
    const deniedBefore = (await sut.http.get('/v1/audit?action=grant.denied&limit=1000').set('Authorization', `Bearer ${security}`).expect(200)).body.events
      .length;
    const resolvedAnswer = (await request('reporting', 'PD-Q3DONE').expect(403)).body;
    expect(resolvedAnswer).toMatchObject({ error: 'incident_not_open', message: expect.stringContaining('Q3DONE is resolved') });
    const unknown = (await request('reporting', 'PD-NOSUCH').expect(403)).body;
    expect(unknown).toMatchObject({ error: 'incident_unknown', message: 'PagerDuty has no incident NOSUCH' });
    expect(await countRows('grants')).toBe(rows);
    const denied = (await sut.http.get('/v1/audit?action=grant.denied&limit=1000').set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    expect(denied.slice(deniedBefore).map((e: { data: { code: string } }) => e.data.code)).toEqual(['incident_not_open', 'incident_unknown']);
  });

  it('with requesterMustBeResponder: an assignee or the on-call of its escalation policy gets in, anyone else is refused', async () => {
    expect((await request('responders-only', 'PD-Q1OPEN').expect(201)).body.incidentEvidence.responder).toBe('assignee');
    const escalation = await sut.token('oncall-2', ['engineer'], 'oncall-2@example.com');
    expect((await request('responders-only', 'PD-Q1OPEN', escalation).expect(201)).body.incidentEvidence.responder).toBe('on_call');
    const bystander = await sut.token('bystander', ['engineer'], 'bystander@example.com');
    const refused = (await request('responders-only', 'PD-Q1OPEN', bystander).expect(403)).body;
    expect(refused).toMatchObject({ error: 'not_incident_responder', message: expect.stringContaining('neither assigned to PagerDuty incident Q1OPEN') });
  });

  it('when PagerDuty is down: granted, flagged incident_unverified, security told', async () => {
    pagerDuty.mode = 'error';
    try {
      const granted = (await request('reporting', 'PD-Q1OPEN').expect(201)).body;
      expect(granted.flags).toEqual(['incident_unverified']);
      expect(granted.incidentEvidence).toMatchObject({ status: 'unavailable', id: 'Q1OPEN', error: expect.stringContaining('HTTP 500') });
      await until('the flagged notice to security', () =>
        smtp.received.find((mail) => mail.to.includes('security@example.com') && mail.subject.includes(granted.id) && mail.subject.includes('flagged')),
      );
    } finally {
      pagerDuty.mode = 'normal';
    }
  });

  it('incident.resolved revokes the tied grant (credential inactive at once) or shortens it; a re-delivery does nothing', async () => {
    pagerDuty.directory.incidents!.Q4LIVE = { status: 'triggered', title: 'Checkout down', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' };
    const revokedLater = (await request('payments', 'PD-Q4LIVE').expect(201)).body;
    const shortenedLater = (await request('ledger', 'pd-q4live').expect(201)).body;
    const notifiedLater = (await request('reporting', 'Q4LIVE').expect(201)).body;
    const unrelated = (await request('payments', 'PD-Q1OPEN').expect(201)).body;
    expect((await introspect(revokedLater.credential.token)).active).toBe(true);

    const eventId = randomUUID();
    const body = resolved('Q4LIVE', eventId);
    const answer = (await deliver(body).expect(200)).body;
    expect(answer.grants).toEqual([
      { id: revokedLater.id, action: 'revoke' },
      { id: shortenedLater.id, action: 'shorten' },
      { id: notifiedLater.id, action: 'notify' },
    ]);
    // Revoked in the webhook's own transaction: inactive the moment the answer arrives.
    expect((await introspect(revokedLater.credential.token)).active).toBe(false);
    const revoked = (await sut.http.get(`/v1/grants/${revokedLater.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    expect(revoked).toMatchObject({ status: 'revoked', endedBy: 'system:pagerduty', endReason: 'PagerDuty incident Q4LIVE was resolved' });
    // Shortened to end 2 s after the resolution, then expired by the expiry loop.
    const shortened = (await sut.http.get(`/v1/grants/${shortenedLater.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    expect(Date.parse(shortened.expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
    await until(
      'the shortened grant to expire',
      async () => (await sut.http.get(`/v1/grants/${shortenedLater.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.status === 'expired',
      10_000,
    );
    expect((await introspect(shortenedLater.credential.token)).active).toBe(false);
    const notified = (await sut.http.get(`/v1/grants/${notifiedLater.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    expect(notified).toMatchObject({ status: 'active', expiresAt: notifiedLater.expiresAt });
    await until('the resolution notice to the requester', () =>
      smtp.received.find(
        (mail) => mail.to.includes('oncall-1@example.com') && mail.subject.includes(`${notifiedLater.id} incident Q4LIVE resolved in PagerDuty`),
      ),
    );
    expect((await sut.http.get(`/v1/grants/${unrelated.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.status).toBe('active');

    const events = (await sut.http.get('/v1/audit?action=grant.incident_resolved&limit=1000').set('Authorization', `Bearer ${security}`).expect(200)).body
      .events;
    expect(events.map((e: { grant: string; data: { action: string; pagerdutyEvent: string } }) => [e.grant, e.data.action, e.data.pagerdutyEvent])).toEqual([
      [revokedLater.id, 'revoke', eventId],
      [shortenedLater.id, 'shorten', eventId],
      [notifiedLater.id, 'notify', eventId],
    ]);
    expect(events[0].controls).toContain('NIST-800-53:IR-4');

    // The same event again (PagerDuty retries): acknowledged, nothing done twice.
    const auditRows = await countRows('audit_events');
    expect((await deliver(body).expect(200)).body).toEqual({ duplicate: true, grants: [] });
    expect(await countRows('audit_events')).toBe(auditRows);
  });

  it('checks the signature (one of several may match), answers 503 without a secret, ignores other event types', async () => {
    pagerDuty.directory.incidents!.Q5SIG = { status: 'triggered', title: 'Search slow', assignees: ['PUSER01'], escalationPolicy: 'PEP0001' };
    const grant = (await request('payments', 'PD-Q5SIG').expect(201)).body;
    const body = resolved('Q5SIG');
    const auditRows = await countRows('audit_events');
    const deliveries = await countRows('webhook_deliveries');
    expect((await deliver(body, sign(body, 'another-secret-0123456789')).expect(401)).body.error).toBe('invalid_signature');
    expect((await deliver(body, 'v1=00').expect(401)).body.error).toBe('invalid_signature');
    await sut.http.post('/v1/webhooks/pagerduty').set('Content-Type', 'application/json').send(body).expect(401);
    expect(await countRows('audit_events')).toBe(auditRows);
    expect(await countRows('webhook_deliveries')).toBe(deliveries);
    expect((await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.status).toBe('active');

    // During PagerDuty's secret rotation the header carries several signatures: one matching is enough.
    const rotated = `${sign(body, 'the-old-secret-0123456789')}, ${sign(body)}`;
    expect((await deliver(body, rotated).expect(200)).body.grants).toEqual([{ id: grant.id, action: 'revoke' }]);

    const acknowledged = JSON.stringify({
      event: { id: randomUUID(), event_type: 'incident.acknowledged', resource_type: 'incident', data: { id: 'Q1OPEN' } },
    });
    expect((await deliver(acknowledged).expect(200)).body).toEqual({ ignored: 'incident.acknowledged', grants: [] });
    expect((await deliver('{"nothing":true}').expect(400)).body.error).toBe('malformed_payload');

    const unconfigured = await startTestService({ policyYaml: POLICY, env: { PAGERDUTY_API_URL: 'http://127.0.0.1:9' } });
    try {
      const answer = await unconfigured.http
        .post('/v1/webhooks/pagerduty')
        .set('Content-Type', 'application/json')
        .set('X-PagerDuty-Signature', sign(body))
        .send(body);
      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('webhook_not_configured');
    } finally {
      await unconfigured.close();
    }
  });
});
