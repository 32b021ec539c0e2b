import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Client } from 'pg';
import { AuditLog } from '../src/audit/audit-log.service';
import { FakePagerDutyApi } from './support/pagerduty-api';
import { withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

const run = promisify(execFile);
const demoDatabase = `payments_${randomBytes(4).toString('hex')}`;

const POLICY = `
roles: { engineer: [oncall], security: [security-team] }
notify: { security: [log] }
defaults:
  maxDuration: 1h
  maxTotalDuration: 2h
  reason: { minLength: 20 }
  retroPr: { window: 24h }
channels:
  log: { type: log }
targets:
  - name: cluster
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: ['cluster-admin', 'viewer'] }
    controls: ['CUSTOM:BG-1']
  - name: db
    environment: production
    credential: { type: postgres, adminUrl: embedded, database: ${demoDatabase}, grantRoles: [payments_rw] }
    maxDuration: 30m
  - name: paged
    environment: production
    credential: { type: jwt, audience: kubernetes }
    onCall: { pagerdutyScheduleIds: [PSCHED1] }
  - name: paged-strict
    environment: production
    credential: { type: jwt, audience: kubernetes }
    onCall: { pagerdutyScheduleIds: [PSCHED1], whenUnavailable: deny }
  - name: quick-pr
    environment: staging
    credential: { type: jwt, audience: kubernetes }
    retroPr: { window: 1s }
`;

const REASON = 'Card payments failing; inspecting ledger locks';

describe('breaking the glass', () => {
  let sut: TestService;
  let pagerDuty: FakePagerDutyApi;
  let engineer: string;
  let security: string;
  let auditor: string;

  const grant = (token: string, body: Record<string, unknown>) =>
    sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${token}`)
      .send({ target: 'cluster', incident: 'INC-4821', reason: REASON, durationSeconds: 600, ...body });
  const events = async (query: string) =>
    (await sut.http.get(`/v1/audit?limit=1000&${query}`).set('Authorization', `Bearer ${auditor}`).expect(200)).body.events as {
      action: string;
      grant: string | null;
      data: Record<string, unknown>;
      controls: string[];
    }[];
  const grantRows = async () => Number((await sut.dataSource.query('SELECT count(*) AS n FROM grants'))[0].n);

  beforeAll(async () => {
    pagerDuty = new FakePagerDutyApi({
      users: [
        { id: 'PUSER01', name: 'On Call', email: 'oncall-1@example.com' },
        { id: 'PUSER02', name: 'Off Duty', email: 'offduty@example.com' },
      ],
      onCall: { PUSER01: ['PSCHED1'] },
    });
    const pagerDutyUrl = await pagerDuty.start();
    sut = await startTestService({ policyYaml: POLICY, env: { PAGERDUTY_API_URL: pagerDutyUrl, PAGERDUTY_API_TOKEN: 'test-token-abc' } });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    security = await sut.token('sec-1', ['security']);
    auditor = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut.close();
    await pagerDuty.stop();
  });

  describe('a jwt target', () => {
    it('issues an RS256 JWT (the default) that verifies with the JWKS and whose claims match the grant', async () => {
      const { body } = await grant(engineer, { durationSeconds: 900 }).expect(201);
      expect(body).toMatchObject({
        id: expect.stringMatching(/^BG-\d{4}-\d{6}$/),
        status: 'active',
        target: 'cluster',
        requester: 'oncall-1',
        incident: 'INC-4821',
        credential: { type: 'jwt', token: expect.any(String), expiresAt: body.expiresAt },
        sessionToken: expect.any(String),
        retroPr: { reference: body.id, dueAt: expect.any(String), repo: null },
        review: { dueAt: expect.any(String) },
      });
      expect(Date.parse(body.expiresAt) - Date.parse(body.activatedAt)).toBe(900_000);
      expect(Date.parse(body.retroPr.dueAt) - Date.parse(body.activatedAt)).toBe(24 * 3600_000);

      const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
      const discovery = (await sut.http.get('/.well-known/openid-configuration').expect(200)).body;
      expect(discovery).toMatchObject({ issuer: sut.config.publicUrl, jwks_uri: `${sut.config.publicUrl}/.well-known/jwks.json` });
      const { payload, protectedHeader } = await jwtVerify(body.credential.token, createLocalJWKSet(jwks), {
        issuer: discovery.issuer,
        audience: 'kubernetes',
      });
      expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: jwks.keys.find((key: { alg: string }) => key.alg === 'RS256').kid });
      expect(payload).toMatchObject({
        sub: 'oncall-1',
        grant: body.id,
        groups: ['cluster-admin', 'viewer'],
        exp: Math.floor(Date.parse(body.expiresAt) / 1000),
      });
      expect(payload.jti).toEqual(expect.any(String));
      const session = decodeJwt(body.sessionToken);
      expect(session).toMatchObject({ aud: 'breakglass-session', grant: body.id, sub: 'oncall-1' });
    });

    it('narrows groups to a requested role offered by the target', async () => {
      const { body } = await grant(engineer, { role: 'viewer' }).expect(201);
      expect(decodeJwt(body.credential.token).groups).toEqual(['viewer']);
    });

    it('audits the request, activation and credentials in one go, with target controls, and keeps no secret', async () => {
      const { body } = await grant(engineer, {}).expect(201);
      const trail = await events(`grant=${body.id}`);
      expect(trail.map((e) => e.action)).toEqual(['grant.requested', 'grant.activated', 'credential.issued', 'credential.issued']);
      expect(trail[0].controls).toEqual(expect.arrayContaining(['CUSTOM:BG-1', 'SOC2:CC6.2']));
      const everything = JSON.stringify(await events(''));
      expect(everything).not.toContain(body.credential.token);
      expect(everything).not.toContain(body.sessionToken);
      const stored = JSON.stringify(await sut.dataSource.query(`SELECT * FROM credentials WHERE grant_id = $1`, [body.id]));
      expect(stored).not.toContain(body.credential.token);

      const view = await sut.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${engineer}`).expect(200);
      expect(JSON.stringify(view.body)).not.toContain(body.credential.token);
      expect(view.body).toMatchObject({ id: body.id, status: 'active', credential: { type: 'jwt', revokedAt: null } });
    });

    it('introspects active tokens, and not tampered, foreign, revoked or garbage ones', async () => {
      const { body } = await grant(engineer, {}).expect(201);
      const introspect = async (token: string) =>
        (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${auditor}`).send({ token }).expect(200)).body;
      expect(await introspect(body.credential.token)).toMatchObject({ active: true, sub: 'oncall-1', grant: body.id, target: 'cluster', purpose: 'access' });
      expect(await introspect(body.sessionToken)).toMatchObject({ active: true, purpose: 'session' });

      const [header, payload, signature] = body.credential.token.split('.');
      const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(body.credential.token), groups: ['system:masters'] })).toString('base64url');
      expect(await introspect(`${header}.${forgedPayload}.${signature}`)).toEqual({ active: false });
      expect(await introspect(await sut.token('oncall-1', ['engineer']))).toEqual({ active: false });
      expect(await introspect('garbage')).toEqual({ active: false });
      void payload;

      await sut.http.post(`/v1/grants/${body.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'security saw something odd' }).expect(200);
      expect(await introspect(body.credential.token)).toEqual({ active: false });
    });

    it('extends with a fresh token, capped by maxTotalDuration, for the requester only', async () => {
      const { body } = await grant(engineer, { durationSeconds: 3600 }).expect(201);
      const extended = await sut.http
        .post(`/v1/grants/${body.id}/extend`)
        .set('Authorization', `Bearer ${engineer}`)
        .send({ durationSeconds: 1800, reason: 'Still rolling back the ledger migration' })
        .expect(200);
      expect(Date.parse(extended.body.expiresAt) - Date.parse(body.expiresAt)).toBe(1800_000);
      expect(extended.body.newCredential.type).toBe('jwt');
      expect(decodeJwt(extended.body.newCredential.token).exp).toBe(Math.floor(Date.parse(extended.body.expiresAt) / 1000));
      expect(extended.body.extensions).toEqual([expect.objectContaining({ addedSeconds: 1800, by: 'oncall-1' })]);

      const tooLong = await sut.http
        .post(`/v1/grants/${body.id}/extend`)
        .set('Authorization', `Bearer ${engineer}`)
        .send({ durationSeconds: 1801, reason: 'Still rolling back the ledger migration' })
        .expect(403);
      expect(tooLong.body.error).toBe('duration_exceeds_max');
      const someoneElse = await sut.token('oncall-2', ['engineer']);
      const notTheirs = await sut.http
        .post(`/v1/grants/${body.id}/extend`)
        .set('Authorization', `Bearer ${someoneElse}`)
        .send({ durationSeconds: 60, reason: 'Still rolling back the ledger migration' })
        .expect(403);
      expect(notTheirs.body.error).toBe('not_your_grant');
      expect((await events(`grant=${body.id}&action=grant.extended`)).length).toBe(1);
    });
  });

  describe('a postgres target', () => {
    it('issues a real login role that psql can use; revoke kills its session and drops it', async () => {
      const { body } = await grant(engineer, { target: 'db', durationSeconds: 600 }).expect(201);
      const { username, password, url } = body.credential;
      expect(body.credential).toMatchObject({
        type: 'postgres',
        username: expect.stringMatching(/^bg_[a-z0-9]{6}_\d+_[a-z0-9]{4}$/),
        expiresAt: body.expiresAt,
      });
      expect(url).toContain(`/${demoDatabase}`);

      const psql = await run('psql', [
        url,
        '-XAtqc',
        'SELECT current_user; CREATE TABLE incident_notes (note text); INSERT INTO incident_notes VALUES (1); SELECT count(*) FROM incident_notes;',
      ]);
      expect(psql.stdout.trim().split('\n')).toEqual([username, '1']);

      const open = new Client({ connectionString: url });
      await open.connect();
      const killed = new Promise<Error>((resolve) => open.on('error', resolve));
      expect(JSON.stringify(await sut.dataSource.query('SELECT * FROM credentials'))).not.toContain(password);

      await sut.http.post(`/v1/grants/${body.id}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'done, rolled back' }).expect(200);
      expect((await killed).message).toMatch(new RegExp(`${body.id} was revoked by oncall-1 at \\S+: done, rolled back — request a new grant`));
      await expect(run('psql', [url, '-XAtc', 'SELECT 1'])).rejects.toThrow(/authentication failed|does not exist/);
      const roles = await withClient(sut.database.url, (db) => db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]));
      expect(roles.rowCount).toBe(0);
      const table = await withClient(sut.database.url.replace(/\/[^/]+$/, `/${demoDatabase}`), (db) =>
        db.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'incident_notes'`),
      );
      expect(table.rows).toEqual([{ tableowner: 'breakglass_orphans' }]); // kept, handed to the unprivileged holder role

      const revoked = await events(`grant=${body.id}&action=credential.revoked`);
      expect(revoked).toEqual([expect.objectContaining({ data: expect.objectContaining({ username, providerStatus: 'revoked' }) })]);
    });

    it('moves VALID UNTIL when extended', async () => {
      const { body } = await grant(engineer, { target: 'db', durationSeconds: 600 }).expect(201);
      const extended = await sut.http
        .post(`/v1/grants/${body.id}/extend`)
        .set('Authorization', `Bearer ${engineer}`)
        .send({ durationSeconds: 300, reason: 'Need to verify the replica caught up' })
        .expect(200);
      const [role] = (await withClient(sut.database.url, (db) => db.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [body.credential.username])))
        .rows;
      expect(role.rolvaliduntil.toISOString()).toBe(extended.body.expiresAt);
    });

    it('expires a 3-second grant within 4 s: status expired, role dropped, audited', async () => {
      const { body } = await grant(engineer, { target: 'db', durationSeconds: 3 }).expect(201);
      const deadline = Date.parse(body.expiresAt) + 1000;
      let status = 'active';
      while (Date.now() < deadline + 500 && status === 'active') {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await sut.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${engineer}`)).body.status;
      }
      const view = (await sut.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${engineer}`)).body;
      expect(view.status).toBe('expired');
      expect(Date.parse(view.endedAt) - Date.parse(body.expiresAt)).toBeLessThanOrEqual(1000);
      const roles = await withClient(sut.database.url, (db) => db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [body.credential.username]));
      expect(roles.rowCount).toBe(0);
      expect((await events(`grant=${body.id}&action=grant.expired`))[0]).toMatchObject({
        data: expect.objectContaining({ reason: 'the access window ended' }),
      });
    });

    it('drops the role again when the grant transaction fails (no orphans)', async () => {
      const rolesNow = async () =>
        (await withClient(sut.database.url, (db) => db.query(`SELECT rolname FROM pg_roles WHERE rolname ~ '^bg_'`))).rows.map((r) => r.rolname).sort();
      const before = await rolesNow();
      await withClient(sut.database.url, (db) =>
        db.query(`CREATE FUNCTION fail_grant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$;
                  CREATE TRIGGER fail_grant BEFORE INSERT ON grants FOR EACH ROW WHEN (NEW.incident = 'INC-FAIL') EXECUTE FUNCTION fail_grant();`),
      );
      try {
        await grant(engineer, { target: 'db', incident: 'INC-FAIL' }).expect(500);
      } finally {
        await withClient(sut.database.url, (db) => db.query('DROP TRIGGER fail_grant ON grants; DROP FUNCTION fail_grant();'));
      }
      expect(await rolesNow()).toEqual(before);
    });
  });

  describe('denials', () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['target_unknown', 'engineer', { target: 'mainframe' }],
      ['role_forbidden', 'engineer', { role: 'system:masters' }],
      ['duration_exceeds_max', 'engineer', { target: 'db', durationSeconds: 1801 }],
      ['incident_invalid', 'engineer', { incident: 'whatever' }],
      ['reason_too_short', 'engineer', { reason: 'fix' }],
      ['not_on_call', 'offduty', { target: 'paged' }],
    ];

    it.each(cases)('%s: 403, no grant, one grant.denied audit event', async (code, who, body) => {
      const token = who === 'offduty' ? await sut.token('offduty', ['engineer'], 'offduty@example.com') : engineer;
      const before = { grants: await grantRows(), denied: (await events('action=grant.denied')).length };
      const { body: answer } = await grant(token, body).expect(403);
      expect(answer).toMatchObject({ statusCode: 403, error: code, message: expect.any(String) });
      expect(await grantRows()).toBe(before.grants);
      const denied = await events('action=grant.denied');
      expect(denied).toHaveLength(before.denied + 1);
      expect(denied.at(-1)!.data).toMatchObject({ code });
    });

    it('requester_overdue: a retro PR past due blocks the next break-glass', async () => {
      const late = await sut.token('late-1', ['engineer']);
      await grant(late, { target: 'quick-pr' }).expect(201);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const { body } = await grant(late, {}).expect(403);
      expect(body).toMatchObject({ error: 'requester_overdue', details: { overdueGrants: [expect.stringMatching(/^BG-/)] } });
    });

    it('rejects an invalid body with 400 field details, writing nothing, not even an audit event', async () => {
      const before = { grants: await grantRows(), audit: (await events('')).length };
      const { body } = await grant(engineer, { durationSeconds: 'ten', extra: true, target: undefined }).expect(400);
      expect(body.error).toBe('validation_failed');
      expect(body.details.map((d: { field: string }) => d.field).sort()).toEqual(['durationSeconds', 'extra', 'target']);
      expect({ grants: await grantRows(), audit: (await events('')).length }).toEqual(before);
    });

    it('refuses non-engineers', async () => {
      expect((await grant(auditor, {}).expect(403)).body.error).toBe('forbidden_role');
    });
  });

  describe('on-call verification through PagerDuty', () => {
    it('grants an on-call requester and keeps PagerDuty’s answer as evidence', async () => {
      const { body } = await grant(engineer, { target: 'paged' }).expect(201);
      const view = (await sut.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(view.onCall).toMatchObject({
        status: 'on_call',
        email: 'oncall-1@example.com',
        user: { id: 'PUSER01' },
        entries: [{ schedule: { id: 'PSCHED1' }, escalationPolicy: { id: 'PEP0001' }, escalationLevel: 1 }],
      });
      expect(view.flags).toEqual([]);
      const call = pagerDuty.requests.find((r) => r.path === '/oncalls')!;
      expect(call.query.getAll('schedule_ids[]')).toEqual(['PSCHED1']);
      expect(call.authorization).toBe('Token token=test-token-abc');
    });

    it('grants and flags when PagerDuty is down (allow-and-flag), denies where the policy says deny', async () => {
      pagerDuty.mode = 'error';
      try {
        const { body } = await grant(engineer, { target: 'paged' }).expect(201);
        expect(body.flags).toEqual(['on_call_unverified']);
        const view = (await sut.http.get(`/v1/grants/${body.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
        expect(view.onCall).toMatchObject({ status: 'unavailable', error: expect.stringMatching(/HTTP 500/) });
        const told = await sut.dataSource.query(`SELECT notice, channel FROM notifications WHERE grant_id = $1`, [body.id]);
        expect(told).toEqual([{ notice: 'grant_flagged', channel: 'log' }]); // the security audience is told at once
        const strict = await grant(engineer, { target: 'paged-strict' }).expect(403);
        expect(strict.body).toMatchObject({ error: 'not_on_call', details: { pagerduty: 'unavailable' } });
      } finally {
        pagerDuty.mode = 'normal';
      }
    });
  });

  describe('reading grants', () => {
    it('shows engineers only their own grants, security and compliance all', async () => {
      const other = await sut.token('oncall-9', ['engineer']);
      const { body: theirs } = await grant(other, {}).expect(201);
      const mine = (await sut.http.get('/v1/grants?limit=1000').set('Authorization', `Bearer ${engineer}`).expect(200)).body;
      expect(mine.grants.every((g: { requester: string }) => g.requester === 'oncall-1')).toBe(true);
      await sut.http.get(`/v1/grants/${theirs.id}`).set('Authorization', `Bearer ${engineer}`).expect(403);
      const all = (await sut.http.get('/v1/grants?limit=1000&requester=oncall-9').set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(all.grants.map((g: { id: string }) => g.id)).toEqual([theirs.id]);
      const active = (await sut.http.get('/v1/grants?status=revoked').set('Authorization', `Bearer ${auditor}`).expect(200)).body;
      expect(active.grants.length).toBeGreaterThan(0);
      expect(active.grants.every((g: { status: string }) => g.status === 'revoked')).toBe(true);
    });
  });

  it('serves 20 concurrent requests with distinct ids and an intact audit chain', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => grant(engineer, {})));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(20);
    expect(await sut.app.get(AuditLog).verify()).toMatchObject({ valid: true });
  });

  it('pages grants newest first by their number, also past BG-<year>-999999 (seven digits)', async () => {
    await sut.dataSource.query(`SELECT setval('grant_number_seq', 999998)`);
    const older = (await grant(engineer, {}).expect(201)).body.id as string;
    const newer = (await grant(engineer, {}).expect(201)).body.id as string;
    expect([older.split('-')[2], newer.split('-')[2]]).toEqual(['999999', '1000000']);
    const page = async (after?: string) =>
      (
        await sut.http
          .get(`/v1/grants?limit=1${after ? `&after=${after}` : ''}`)
          .set('Authorization', `Bearer ${security}`)
          .expect(200)
      ).body;
    const first = await page();
    expect(first.grants.map((g: { id: string }) => g.id)).toEqual([newer]);
    const second = await page(first.next);
    expect(second.grants.map((g: { id: string }) => g.id)).toEqual([older]);
  });

  it('answers a break-glass request with the grant as GET /v1/grants/:id shows it, plus the secrets', async () => {
    const created = (await grant(engineer, {}).expect(201)).body;
    const read = (await sut.http.get(`/v1/grants/${created.id}`).set('Authorization', `Bearer ${engineer}`).expect(200)).body;
    const { credential: secret, sessionToken, ...createdRest } = created;
    const { credential: metadata, gitops: _gitops, verdict: _verdict, changes: _changes, forge: _forge, ...readRest } = read;
    expect(createdRest).toEqual(readRest);
    expect(typeof sessionToken).toBe('string');
    expect([secret.type, secret.expiresAt]).toEqual([metadata.type, metadata.expiresAt]);
  });
});
