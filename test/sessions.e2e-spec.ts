import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import canonicalize from 'canonicalize';
import { verifyEvidence } from '../src/evidence/bundle-verifier';
import { recomputeSessionChain } from './support/session-chain';
import { tamperWith, withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

const POLICY = `
notify:
  security: [security-log]
channels:
  security-log: { type: log }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`;

const runScript = promisify(execFile);

const event = (seq: number, command: string, extra: Record<string, unknown> = {}) => ({
  seq,
  type: 'command',
  command,
  cwd: '/srv/app',
  user: 'oncall-1',
  host: 'bastion-1',
  startedAt: new Date(Date.now() - 1000).toISOString(),
  finishedAt: new Date().toISOString(),
  exitCode: 0,
  ...extra,
});

describe('session command log', () => {
  let sut: TestService;
  let engineer: string;
  let security: string;

  const breakGlass = async (token = engineer) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${token}`)
        .send({ target: 'cluster', incident: 'INC-7', reason: 'Draining a stuck node pool by hand', durationSeconds: 600 })
        .expect(201)
    ).body;
  const send = (grant: { id: string; sessionToken: string }, events: unknown[]) =>
    sut.http.post(`/v1/grants/${grant.id}/events`).set('Authorization', `Bearer ${grant.sessionToken}`).send({ events });
  const log = async (grantId: string, token = security) =>
    (await sut.http.get(`/v1/grants/${grantId}/events?limit=1000`).set('Authorization', `Bearer ${token}`).expect(200)).body;
  const verify = async (grantId: string) =>
    (await sut.http.get(`/v1/grants/${grantId}/events/verify`).set('Authorization', `Bearer ${security}`).expect(200)).body;

  beforeAll(async () => {
    sut = await startTestService({ policyYaml: POLICY });
    engineer = await sut.token('oncall-1', ['engineer']);
    security = await sut.token('sec-1', ['security']);
  });
  afterAll(() => sut.close());

  it('chains each event with the format-2 formula, verifiable from the API output alone', async () => {
    const grant = await breakGlass();
    const answer = await send(grant, [event(1, 'kubectl get nodes'), event(2, "psql -c 'select 1'", { exitCode: 1 })]).expect(200);
    expect(answer.body).toEqual({ accepted: 2, duplicates: 0, lastSeq: 2, headHash: expect.stringMatching(/^[0-9a-f]{64}$/), gaps: [] });

    const { events, headHash, gaps } = await log(grant.id);
    expect(gaps).toEqual([]);
    // The CLI's records are format 2 with detail null: 12 hashed keys.
    for (const e of events)
      expect(Object.keys(e).sort()).toEqual([
        'command',
        'cwd',
        'detail',
        'exitCode',
        'finishedAt',
        'grant',
        'hash',
        'host',
        'late',
        'prevHash',
        'receivedAt',
        'seq',
        'startedAt',
        'type',
        'user',
      ]);
    expect(events.map((e: { detail: unknown }) => e.detail)).toEqual([null, null]);
    const prev = recomputeSessionChain(events);
    expect(headHash).toBe(prev);
    expect(await verify(grant.id)).toEqual({ valid: true, count: 2, headHash: prev });
    // A client cannot set detail itself (only the broker's recorders do).
    expect((await send(grant, [event(3, 'ls', { detail: { forged: true } })]).expect(400)).body.error).toBe('validation_failed');
    expect((await send(grant, [event(3, 'select 1', { type: 'sql' })]).expect(400)).body.error).toBe('validation_failed');
  });

  it('keeps format-1 records (stored before format 2) verifying as they were, with format-2 records chained after them', async () => {
    const grant = await breakGlass();
    // Two records as Part 1 wrote them: 11 hashed keys, no detail, straight into the table.
    const format1 = [1, 2].map((seq) => ({
      grant: grant.id,
      seq,
      type: 'command',
      command: `echo ${seq}`,
      cwd: '/srv',
      user: 'oncall-1',
      host: 'bastion-1',
      startedAt: '2026-11-24T15:00:00.000Z',
      finishedAt: '2026-11-24T15:00:01.000Z',
      exitCode: 0,
      receivedAt: '2026-11-24T15:00:02.000Z',
    }));
    let prev = '0'.repeat(64);
    await withClient(sut.database.url, async (db) => {
      for (const r of format1) {
        const hash = createHash('sha256')
          .update(`${prev}\n${canonicalize(r)}`)
          .digest('hex');
        await db.query(
          `INSERT INTO session_events (grant_id, seq, type, command, cwd, "user", host, started_at, finished_at, exit_code, received_at, prev_hash, hash, format)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
          [r.grant, r.seq, r.type, r.command, r.cwd, r.user, r.host, r.startedAt, r.finishedAt, r.exitCode, r.receivedAt, prev, hash],
        );
        prev = hash;
      }
      await db.query(`UPDATE session_heads SET last_seq = 2, client_last_seq = 2, count = 2, hash = $2 WHERE grant_id = $1`, [grant.id, prev]);
    });
    // A re-send of seq 2 matches the format-1 record; seq 3 continues the chain in format 2.
    const { grant: _grant, receivedAt: _receivedAt, ...resent } = format1[1];
    expect((await send(grant, [resent, event(3, 'echo 3')]).expect(200)).body).toMatchObject({ accepted: 1, duplicates: 1, lastSeq: 3 });
    const { events, headHash } = await log(grant.id);
    expect(events.map((e: object) => 'detail' in e)).toEqual([false, false, true]);
    expect(recomputeSessionChain(events)).toBe(headHash);
    expect(await verify(grant.id)).toEqual({ valid: true, count: 3, headHash });

    // The auditor's script checks both formats and the seal from an evidence bundle alone.
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'done' }).expect(200);
    const compliance = await sut.token('auditor-2', ['compliance']);
    const evidence = (await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    const file = path.join(sut.dataDir, `${grant.id}.json`);
    writeFileSync(file, JSON.stringify(evidence));
    const script = path.resolve(__dirname, '../examples/verify-session.py');
    const verdict = await runScript('python3', [script, file]);
    expect(JSON.parse(verdict.stdout)).toEqual({ valid: true, count: 3, headHash, formats: [1, 2], seals: 1 });
    evidence.bundle.session.events[1].command = 'echo 2 && curl evil';
    writeFileSync(file, JSON.stringify(evidence));
    const tampered = await runScript('python3', [script, file]).then(
      () => ({ code: 0, stdout: '{}' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(tampered.code).toBe(2);
    expect(JSON.parse(tampered.stdout)).toEqual({ valid: false, firstInvalidSeq: 2 });
  });

  it('keeps every chain whole when many sessions post at once, a re-send racing its original', async () => {
    // Batches arriving together share one grouped statement; a second batch of the same grant in
    // a group takes the locked path. Every batch must land once, in order, on its own chain.
    const grants = await Promise.all(Array.from({ length: 8 }, () => breakGlass()));
    await Promise.all(grants.map((grant) => send(grant, [event(1, 'warm-up')]).expect(200)));
    for (let round = 0; round < 5; round++) {
      const batch = (grant: { id: string }) => [event(2 + round * 2, `${grant.id} step ${round} a`), event(3 + round * 2, `${grant.id} step ${round} b`)];
      const answers = await Promise.all(
        grants.flatMap((grant, i) => {
          const events = batch(grant);
          return i % 2 ? [send(grant, events)] : [send(grant, events), send(grant, events)];
        }),
      );
      for (const answer of answers) expect(answer.status).toBe(200);
      // Of each raced pair, one appended the events and the other found them already stored.
      expect(answers.reduce((sum, answer) => sum + answer.body.accepted, 0)).toBe(grants.length * 2);
    }
    for (const grant of grants) {
      const { events, gaps } = await log(grant.id);
      expect(gaps).toEqual([]);
      expect(events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      expect(events.slice(1).every((e: { command: string }) => e.command.startsWith(grant.id))).toBe(true);
      expect(await verify(grant.id)).toMatchObject({ valid: true, count: 11 });
    }
  });

  it('accepts only the session token of that grant', async () => {
    const grant = await breakGlass();
    const other = await breakGlass();
    expect(
      (
        await sut.http
          .post(`/v1/grants/${grant.id}/events`)
          .send({ events: [event(1, 'ls')] })
          .expect(401)
      ).body.error,
    ).toBe('invalid_session_token');
    expect(
      (
        await sut.http
          .post(`/v1/grants/${grant.id}/events`)
          .set('Authorization', `Bearer ${engineer}`)
          .send({ events: [event(1, 'ls')] })
          .expect(401)
      ).body.error,
    ).toBe('invalid_session_token');
    expect(
      (
        await sut.http
          .post(`/v1/grants/${grant.id}/events`)
          .set('Authorization', `Bearer ${grant.credential.token}`)
          .send({ events: [event(1, 'ls')] })
          .expect(401)
      ).body.error,
    ).toBe('invalid_session_token');
    expect((await send({ id: grant.id, sessionToken: other.sessionToken }, [event(1, 'ls')]).expect(403)).body.error).toBe('wrong_grant');
    expect((await log(grant.id)).events).toEqual([]);
  });

  it('is idempotent on re-send, 409 on a conflicting re-send, and records gaps', async () => {
    const grant = await breakGlass();
    const batch = [event(1, 'echo one'), event(2, 'echo two')];
    await send(grant, batch).expect(200);
    expect((await send(grant, batch).expect(200)).body).toMatchObject({ accepted: 0, duplicates: 2, lastSeq: 2 });
    const conflict = await send(grant, [{ ...batch[1], command: 'rm -rf /' }]).expect(409);
    expect(conflict.body).toMatchObject({ error: 'seq_conflict', details: { seq: 2 } });

    const gapped = await send(grant, [event(5, 'echo five'), event(6, 'echo six')]).expect(200);
    expect(gapped.body).toMatchObject({ accepted: 2, lastSeq: 6, gaps: [{ from: 3, to: 4 }] });
    expect((await send(grant, [event(3, 'echo three')]).expect(409)).body.error).toBe('seq_behind_head');
    expect((await log(grant.id)).gaps).toEqual([{ from: 3, to: 4 }]);
    expect(await verify(grant.id)).toMatchObject({ valid: true, count: 4 });
    const text = (await sut.http.get(`/v1/grants/${grant.id}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
    expect(text).toContain('# gap: seq 3-4 never received');
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z oncall-1@bastion-1 \/srv\/app \$ echo five → 0$/m);
  });

  it('the transcript says its time zone, flags records stamped outside the grant window, and warns when nothing was recorded', async () => {
    const grant = await breakGlass();
    const text = async () => (await sut.http.get(`/v1/grants/${grant.id}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
    const empty = await text();
    expect(empty).toMatch(/^# breakglass session transcript of BG-\S+: 0 events, head 0{64}; times are UTC \(ISO 8601\)\n/);
    expect(empty).toContain('# nothing recorded: access may have been used outside the recorder');
    const early = new Date(Date.now() - 50 * 60_000).toISOString();
    await send(grant, [event(1, 'cat /etc/shadow', { startedAt: early, finishedAt: early }), event(2, 'kubectl get pods')]).expect(200);
    const lines = (await text()).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe(`${early} oncall-1@bastion-1 /srv/app $ cat /etc/shadow → 0 (stamped outside the grant window)`);
    expect(lines[2]).not.toContain('outside the grant window');
  });

  it('prints hostile fields as visible escapes: no forged transcript line, no terminal control', async () => {
    const grant = await breakGlass();
    const forgedLine = `\n2026-01-01T00:00:00.000Z oncall-1@bastion-1 /srv/app $ echo harmless → 0\n# `;
    await send(grant, [
      event(1, 'curl -X DELETE https://api/payments', { cwd: `/srv/app${forgedLine}` }),
      event(2, 'rm -rf /data\r\u001b[2Kls -la', { user: 'oncall-1\nroot', host: 'bastion-1\t\u202eevil' }),
    ]).expect(200);
    const text: string = (await sut.http.get(`/v1/grants/${grant.id}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3); // the header and one line per event, whatever the fields hold
    expect(text).not.toMatch(/[\r\u001b\u202e\t]/);
    expect(lines[1]).toContain(
      '/srv/app\\n2026-01-01T00:00:00.000Z oncall-1@bastion-1 /srv/app $ echo harmless → 0\\n#  $ curl -X DELETE https://api/payments → 0',
    );
    expect(lines[2]).toContain('oncall-1\\nroot@bastion-1\\t\\u202eevil /srv/app $ rm -rf /data\\r\\e[2Kls -la → 0');
  });

  it('validates fields and batch size with clear 400s', async () => {
    const grant = await breakGlass();
    const tooLong = await send(grant, [event(1, 'x'.repeat(65537))]).expect(400);
    expect(tooLong.body.details).toEqual([{ field: 'events.0.command', problems: [expect.stringMatching(/65536/)] }]);
    expect(
      (
        await send(
          grant,
          Array.from({ length: 501 }, (_, i) => event(i + 1, 'ls')),
        ).expect(400)
      ).body.error,
    ).toBe('validation_failed');
    expect((await send(grant, [event(1, 'a\u0000b')]).expect(400)).body.details[0].problems).toEqual(['must not contain NUL characters']);
    expect((await send(grant, [{ ...event(1, 'ls'), seq: 0 }]).expect(400)).body.error).toBe('validation_failed');
  });

  it('after the grant ends: seals the head, accepts late events recorded before the end, refuses later ones', async () => {
    const grant = await breakGlass();
    await send(grant, [event(1, 'systemctl restart ingress')]).expect(200);
    const before = new Date().toISOString();
    const { body: revoked } = await sut.http
      .post(`/v1/grants/${grant.id}/revoke`)
      .set('Authorization', `Bearer ${engineer}`)
      .send({ reason: 'done' })
      .expect(200);
    const sealed = (await sut.http.get(`/v1/audit?grant=${grant.id}&action=session.sealed`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    expect(sealed).toEqual([expect.objectContaining({ data: expect.objectContaining({ count: 1, lastSeq: 1, resealed: false }) })]);

    const late = await send(grant, [event(2, 'journalctl -u ingress', { startedAt: before, finishedAt: before })]).expect(200);
    expect(late.body).toMatchObject({ accepted: 1, lastSeq: 2 });
    const after = new Date(Date.parse(revoked.endedAt) + 1000).toISOString();
    expect((await send(grant, [event(3, 'whoami', { startedAt: after })]).expect(403)).body.error).toBe('session_ended');
    const { events, headHash } = await log(grant.id);
    expect(events.map((e: { late: boolean }) => e.late)).toEqual([false, true]);
    const resealed = (await sut.http.get(`/v1/audit?grant=${grant.id}&action=session.sealed`).set('Authorization', `Bearer ${security}`).expect(200)).body
      .events;
    expect(resealed.at(-1).data).toMatchObject({ headHash, count: 2, resealed: true });
  });

  it('finds a tampered event at its seq; the table refuses changes while its trigger is on', async () => {
    const grant = await breakGlass();
    await send(grant, [event(1, 'ls'), event(2, 'cat /etc/hosts'), event(3, 'exit')]).expect(200);
    await expect(
      withClient(sut.database.url, (db) => db.query(`UPDATE session_events SET command = 'ls -la' WHERE grant_id = $1 AND seq = 2`, [grant.id])),
    ).rejects.toThrow(/append-only/);
    await tamperWith(sut.database.url, 'session_events', `UPDATE session_events SET command = 'true' WHERE grant_id = $1 AND seq = 2`, [grant.id]);
    expect(await verify(grant.id)).toMatchObject({ valid: false, firstInvalidSeq: 2 });
  });

  it('catches a deleted tail whose session head was fixed to match, against the seal in the audit chain (API and bundle)', async () => {
    const grant = await breakGlass();
    await send(grant, [event(1, 'ls'), event(2, 'cat /etc/hosts'), event(3, 'kubectl delete ns payments')]).expect(200);
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'done' }).expect(200);
    const sealedHead = (await log(grant.id)).headHash;
    expect(await verify(grant.id)).toEqual({ valid: true, count: 3, headHash: sealedHead });
    // The attacker removes the last command and moves the head back onto seq 2: the chain that is
    // left is internally consistent and ends at the head.
    await tamperWith(sut.database.url, 'session_events', `DELETE FROM session_events WHERE grant_id = $1 AND seq = 3`, [grant.id]);
    await withClient(sut.database.url, (db) =>
      db.query(
        `UPDATE session_heads h SET last_seq = 2, count = 2, hash = e.hash, sealed_hash = e.hash FROM session_events e WHERE h.grant_id = $1 AND e.grant_id = $1 AND e.seq = 2`,
        [grant.id],
      ),
    );
    const verdict = await verify(grant.id);
    expect(verdict).toMatchObject({ valid: false, count: 2, firstInvalidSeq: 3, brokenAnchor: { seq: 3, expectedHash: sealedHead, actualHash: null } });

    const compliance = await sut.token('auditor-1', ['compliance']);
    const evidence = (await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
    const offline = await verifyEvidence(evidence, jwks);
    expect(offline).toMatchObject({
      valid: false,
      signature: 'valid',
      session: { valid: false, firstInvalidSeq: 3, brokenAnchor: { seq: 3, actualHash: null } },
    });
  });

  describe('reviews', () => {
    it('needs a second person: the requester cannot review their own grant', async () => {
      const both = await sut.token('sec-oncall', ['engineer', 'security']);
      const grant = await breakGlass(both);
      const own = await sut.http
        .post(`/v1/grants/${grant.id}/reviews`)
        .set('Authorization', `Bearer ${both}`)
        .send({ outcome: 'approved', notes: 'looks fine' })
        .expect(403);
      expect(own.body.error).toBe('own_grant_review');
      await sut.http.post(`/v1/grants/${grant.id}/reviews`).set('Authorization', `Bearer ${engineer}`).send({ outcome: 'approved', notes: 'x' }).expect(403);
    });

    it('an engineer cannot read another engineer’s session', async () => {
      const grant = await breakGlass();
      const colleague = await sut.token('oncall-2', ['engineer']);
      expect((await sut.http.get(`/v1/grants/${grant.id}/events`).set('Authorization', `Bearer ${colleague}`).expect(403)).body.error).toBe('not_your_grant');
      await sut.http.get(`/v1/grants/${grant.id}/events`).set('Authorization', `Bearer ${engineer}`).expect(200);
    });

    const review = (grantId: string, token: string, body: Record<string, unknown>) =>
      sut.http.post(`/v1/grants/${grantId}/reviews`).set('Authorization', `Bearer ${token}`).send(body);
    const reviewClock = async (grantId: string) =>
      (await sut.http.get(`/v1/sla?grant=${grantId}&kind=review`).set('Authorization', `Bearer ${security}`).expect(200)).body.clocks[0];
    const revoke = (grantId: string) =>
      sut.http.post(`/v1/grants/${grantId}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'done' }).expect(200);

    it('a review while the grant is active is interim; one after the end covering the sealed head satisfies the clock and becomes the verdict', async () => {
      const grant = await breakGlass();
      await send(grant, [event(1, 'kubectl cordon node-7')]).expect(200);
      const interim = (await review(grant.id, security, { outcome: 'approved', notes: 'Cordon matches the incident so far' }).expect(201)).body;
      expect(interim).toMatchObject({ outcome: 'approved', reviewer: 'sec-1', chainValid: true, eventsReviewed: 1, coversSeq: 1, interim: true, clock: null });
      expect(await reviewClock(grant.id)).toMatchObject({ state: 'running' });

      // Done after the interim review: never reviewed if that review had satisfied the clock.
      await send(grant, [event(2, 'kubectl delete ns payments')]).expect(200);
      await revoke(grant.id);
      const partial = (await review(grant.id, security, { outcome: 'approved', notes: 'Only the first command', coversSeq: 1 }).expect(201)).body;
      expect(partial).toMatchObject({ coversSeq: 1, interim: true, clock: null, supersedes: interim.id });
      expect((await review(grant.id, security, { outcome: 'approved', notes: 'x', coversSeq: 3 }).expect(400)).body).toMatchObject({
        error: 'review_beyond_head',
        details: { lastSeq: 2 },
      });

      const final = (await review(grant.id, security, { outcome: 'findings', notes: 'Deleting the namespace was not needed' }).expect(201)).body;
      expect(final).toMatchObject({ outcome: 'findings', coversSeq: 2, interim: false, clock: 'satisfied', supersedes: partial.id });
      expect(await reviewClock(grant.id)).toMatchObject({ state: 'satisfied', resolvedBy: 'sec-1' });
      const detail = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(detail.verdict).toEqual({ review: final.id, outcome: 'findings', reviewer: 'sec-1', at: final.at, coversSeq: 2, interim: false });
      // Every review is kept, in order, and audited.
      const all = (await sut.http.get(`/v1/grants/${grant.id}/reviews`).set('Authorization', `Bearer ${security}`).expect(200)).body.reviews;
      expect(all.map((r: { id: string }) => r.id)).toEqual([interim.id, partial.id, final.id]);
      const audited = (await sut.http.get(`/v1/audit?grant=${grant.id}&action=session.reviewed`).set('Authorization', `Bearer ${security}`).expect(200)).body
        .events;
      expect(audited.map((e: { data: { interim: boolean } }) => e.data.interim)).toEqual([true, true, false]);
    });

    it('a violation is replaced only by another reviewer', async () => {
      const grant = await breakGlass();
      await revoke(grant.id);
      const violation = (await review(grant.id, security, { outcome: 'violation', notes: 'Dropped a table unrelated to the incident' }).expect(201)).body;
      const silenced = await review(grant.id, security, { outcome: 'approved', notes: 'Never mind' }).expect(409);
      expect(silenced.body).toMatchObject({ error: 'violation_needs_second_reviewer', details: { violation: violation.id } });
      const second = await sut.token('sec-2', ['security']);
      const replaced = (await review(grant.id, second, { outcome: 'findings', notes: 'The table was a scratch copy; a finding, not a violation' }).expect(201))
        .body;
      expect(replaced).toMatchObject({ reviewer: 'sec-2', supersedes: violation.id });
      const detail = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
      expect(detail.verdict).toMatchObject({ outcome: 'findings', reviewer: 'sec-2' });
    });

    it('a violation notifies the security audience', async () => {
      const grant = await breakGlass();
      await sut.http
        .post(`/v1/grants/${grant.id}/reviews`)
        .set('Authorization', `Bearer ${security}`)
        .send({ outcome: 'violation', notes: 'Dropped a table unrelated to the incident' })
        .expect(201);
      const rows = await sut.dataSource.query(`SELECT notice, channel FROM notifications WHERE grant_id = $1 AND notice = 'review_violation'`, [grant.id]);
      expect(rows).toEqual([{ notice: 'review_violation', channel: 'security-log' }]);
    });

    it('refuses to review a log that does not verify until the reviewer acknowledges it', async () => {
      const grant = await breakGlass();
      await send(grant, [event(1, 'ls'), event(2, 'id')]).expect(200);
      await tamperWith(sut.database.url, 'session_events', `DELETE FROM session_events WHERE grant_id = $1 AND seq = 1`, [grant.id]);
      const refused = await sut.http
        .post(`/v1/grants/${grant.id}/reviews`)
        .set('Authorization', `Bearer ${security}`)
        .send({ outcome: 'findings', notes: 'log incomplete' })
        .expect(409);
      expect(refused.body).toMatchObject({ error: 'session_integrity_failed', details: { valid: false, firstInvalidSeq: 2 } });
      const accepted = await sut.http
        .post(`/v1/grants/${grant.id}/reviews`)
        .set('Authorization', `Bearer ${security}`)
        .send({ outcome: 'findings', notes: 'log incomplete', acknowledgeIntegrityFailure: true })
        .expect(201);
      expect(accepted.body).toMatchObject({ chainValid: false, integrityAcknowledged: true });
    });
  });
});
