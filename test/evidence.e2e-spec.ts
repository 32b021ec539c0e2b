import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet } from 'jose';
import { startTestService, type TestService } from './support/test-service';

// An auditor's verification, written without any project code: jose and node:crypto only.
/** RFC 8785 for what the bundle holds (strings, integers, booleans, null, arrays, objects). */
function jcs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${jcs((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const pick = (record: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((key) => [key, record[key]]));
const AUDIT_FIELDS = ['seq', 'at', 'actor', 'action', 'grant', 'target', 'data', 'controls'];
const SESSION_FIELDS = ['grant', 'seq', 'type', 'command', 'cwd', 'user', 'host', 'startedAt', 'finishedAt', 'exitCode', 'receivedAt'];

describe('signed evidence bundle', () => {
  let sut: TestService;
  let grant: { id: string; sessionToken: string };
  let compliance: string;

  beforeAll(async () => {
    sut = await startTestService();
    const engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    compliance = await sut.token('auditor-1', ['compliance']);
    grant = (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: 'prod-cluster', incident: 'INC-42', reason: 'Rotating the expired API server certificate', durationSeconds: 900 })
        .expect(201)
    ).body;
    const now = new Date().toISOString();
    await sut.http
      .post(`/v1/grants/${grant.id}/events`)
      .set('Authorization', `Bearer ${grant.sessionToken}`)
      .send({
        events: [
          {
            seq: 1,
            type: 'command',
            command: 'kubectl get csr',
            cwd: '/root',
            user: 'oncall-1',
            host: 'bastion',
            startedAt: now,
            finishedAt: now,
            exitCode: 0,
          },
          {
            seq: 2,
            type: 'command',
            command: 'kubeadm certs renew apiserver # "ü"',
            cwd: '/root',
            user: 'oncall-1',
            host: 'bastion',
            startedAt: now,
            finishedAt: now,
            exitCode: 0,
          },
        ],
      })
      .expect(200);
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${engineer}`).send({ reason: 'certificate renewed' }).expect(200);
    const security = await sut.token('sec-1', ['security']);
    await sut.http
      .post(`/v1/grants/${grant.id}/reviews`)
      .set('Authorization', `Bearer ${security}`)
      .send({ outcome: 'approved', notes: 'Matches the incident' })
      .expect(201);
  });
  afterAll(() => sut.close());

  it('verifies with the JWKS and the formulas of docs/formats.md, and a changed byte fails', async () => {
    const { body } = await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200);
    const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;

    const { payload, protectedHeader } = await compactVerify(body.jws, createLocalJWKSet(jwks));
    expect(protectedHeader.alg).toBe('EdDSA');
    const text = new TextDecoder().decode(payload);
    expect(text).toBe(jcs(body.bundle)); // payload = canon(bundle)
    expect(JSON.parse(text)).toEqual(body.bundle);

    const bundle = body.bundle;
    expect(bundle).toMatchObject({ format: 'breakglass-evidence/1', grant: { id: grant.id, status: 'revoked' }, justification: { incident: 'INC-42' } });
    expect(JSON.stringify(bundle)).not.toContain(grant.sessionToken);

    let prev = '0'.repeat(64);
    for (const event of bundle.session.events) {
      expect(event.prevHash).toBe(prev);
      // P2.1: the record as exported minus prevHash, hash and late (format 2: with `detail`).
      const { prevHash: _prevHash, hash: _hash, late: _late, ...hashed } = event;
      expect(Object.keys(hashed).sort()).toEqual([...SESSION_FIELDS, 'detail'].sort());
      prev = sha256(`${prev}\n${jcs(hashed)}`);
      expect(event.hash).toBe(prev);
    }
    expect(bundle.session).toMatchObject({ headHash: prev, sealedHash: prev, verdict: { valid: true, count: 2 } });

    const actions = bundle.audit.events.map((event: Record<string, unknown>) => {
      expect(event.hash).toBe(sha256(`${event.prevHash}\n${jcs(pick(event, AUDIT_FIELDS))}`));
      return event.action;
    });
    expect(actions).toEqual(
      expect.arrayContaining([
        'grant.requested',
        'grant.activated',
        'credential.issued',
        'grant.revoked',
        'session.sealed',
        'session.reviewed',
        'sla.satisfied',
      ]),
    );
    const sealed = bundle.audit.events.find((event: { action: string }) => event.action === 'session.sealed');
    expect(sealed.data.headHash).toBe(prev); // the session head is anchored in the global chain
    expect(bundle.reviews).toEqual([expect.objectContaining({ outcome: 'approved', reviewer: 'sec-1', chainValid: true })]);
    expect(bundle.sla.map((clock: { kind: string; state: string }) => [clock.kind, clock.state]).sort()).toEqual([
      ['retro_pr', 'running'],
      ['review', 'satisfied'],
    ]);
    expect(bundle.controls['SOC2:CC8.1']).toBeGreaterThan(0);

    const [header, encodedPayload, signature] = body.jws.split('.');
    const altered = Buffer.from(encodedPayload, 'base64url');
    altered[altered.indexOf('INC-42')] ^= 1;
    await expect(compactVerify(`${header}.${altered.toString('base64url')}.${signature}`, createLocalJWKSet(jwks))).rejects.toThrow(/signature/i);
    const edited = { ...bundle, justification: { ...bundle.justification, reason: 'something else' } };
    expect(jcs(edited)).not.toBe(text);
  });

  it('is audited as evidence.exported, and only for compliance and security', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${engineer}`).expect(403);
    const exported = (await sut.http.get(`/v1/audit?grant=${grant.id}&action=evidence.exported`).set('Authorization', `Bearer ${compliance}`).expect(200)).body
      .events;
    expect(exported.length).toBeGreaterThanOrEqual(1);
    expect(exported[0]).toMatchObject({ actor: 'auditor-1', data: { kind: 'grant-bundle' } });
  });
});

describe('breakglass evidence (CLI)', () => {
  it('exports a bundle and verifies it offline; a tampered file fails', async () => {
    const { spawnCli } = await import('./support/service-process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const path = await import('node:path');
    const sut = await startTestService();
    try {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const grant = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'prod-cluster', incident: 'INC-43', reason: 'Restarting the stuck scheduler pods', durationSeconds: 600 })
          .expect(201)
      ).body;
      const dir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'evidence-'));
      const file = path.join(dir, 'bundle.json');
      const jwksFile = path.join(dir, 'jwks.json');
      writeFileSync(jwksFile, JSON.stringify((await sut.http.get('/.well-known/jwks.json')).body));
      const env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: await sut.token('auditor-1', ['compliance']) };
      const run = async (args: string[]) => {
        const cli = spawnCli(args, env);
        cli.child.stdin?.end();
        return { code: await cli.exited, output: cli.output() };
      };
      expect((await run(['evidence', grant.id, '--out', file])).code).toBe(0);
      const ok = await run(['evidence', 'verify', file, '--jwks', jwksFile]);
      expect(ok).toMatchObject({ code: 0, output: expect.stringMatching(/^VALID: signature valid/) });
      const online = await run(['--json', 'evidence', 'verify', file]);
      expect(JSON.parse(online.output)).toMatchObject({ valid: true, audit: { valid: true } });

      const tampered = JSON.parse(readFileSync(file, 'utf8'));
      tampered.bundle.justification.reason = 'nothing to see here';
      writeFileSync(file, JSON.stringify(tampered));
      const bad = await run(['evidence', 'verify', file, '--jwks', jwksFile]);
      expect(bad).toMatchObject({ code: 2, output: expect.stringContaining('payload does NOT match the bundle') });
    } finally {
      await sut.close();
    }
  });
});

describe('evidence that outlives its signing key', () => {
  jest.setTimeout(60_000);

  it('a bundle verifies offline after key rotation and after its key left the JWKS; a bundle signed by an unknown key does not', async () => {
    const { spawnCli } = await import('./support/service-process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { generateKeyPair, exportJWK, calculateJwkThumbprint, CompactSign } = await import('jose');
    const sut = await startTestService();
    const dir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'evidence-keys-'));
    const files = {
      bundle: path.join(dir, 'bundle.json'),
      history: path.join(dir, 'breakglass-keys.json'),
      jwks: path.join(dir, 'jwks.json'),
      forged: path.join(dir, 'forged.json'),
    };
    let brokerUrl: string;
    try {
      brokerUrl = sut.url;
      const engineer = await sut.token('oncall-1', ['engineer']);
      const compliance = await sut.token('auditor-1', ['compliance']);
      const grant = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'prod-cluster', incident: 'INC-44', reason: 'Evidence that must outlive its key' })
          .expect(201)
      ).body;
      const signed = (await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
      writeFileSync(files.bundle, JSON.stringify(signed));
      const { signingKey } = signed.bundle;
      // The embedded key is the signer's: kid = RFC 7638 thumbprint, recomputed here from the JWK members.
      const thumbprint = createHash('sha256').update(`{"crv":"${signingKey.crv}","kty":"${signingKey.kty}","x":"${signingKey.x}"}`).digest('base64url');
      expect(signingKey.kid).toBe(thumbprint);
      expect(JSON.parse(Buffer.from(signed.jws.split('.')[0], 'base64url').toString()).kid).toBe(thumbprint);

      // Rotate twice, then let the retention pass: the database says the key's tokens have all expired.
      const admin = await sut.token('admin-1', ['admin']);
      await sut.http.post('/v1/keys/rotate').set('Authorization', `Bearer ${admin}`).send({}).expect(200);
      await sut.http.post('/v1/keys/rotate').set('Authorization', `Bearer ${admin}`).send({}).expect(200);
      await sut.dataSource.query(`UPDATE signing_keys SET publish_until = now() - interval '1 second' WHERE retired_at IS NOT NULL`);
      let jwks: { keys: { kid: string }[] } = { keys: [] };
      for (let i = 0; i < 40; i++) {
        jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
        if (!jwks.keys.some((key) => key.kid === thumbprint)) break;
        await new Promise((resolve) => setTimeout(resolve, 250)); // the key store caches its view for 5 s
      }
      expect(jwks.keys.map((key) => key.kid)).not.toContain(thumbprint);
      const history = (await sut.http.get('/.well-known/breakglass-keys.json').expect(200)).body as { keys: { kid: string; retiredAt: string | null }[] };
      expect(history.keys.filter((key) => key.retiredAt === null)).toHaveLength(1);
      expect(history.keys.find((key) => key.kid === thumbprint)).toMatchObject({ retiredAt: expect.any(String) });
      writeFileSync(files.history, JSON.stringify(history));
      writeFileSync(files.jwks, JSON.stringify(jwks));

      // A forger re-signs a changed bundle with a key of their own, embedded as if it were the broker's.
      const { privateKey, publicKey } = await generateKeyPair('Ed25519');
      const forgedKey = { ...(await exportJWK(publicKey)), alg: 'EdDSA', use: 'sig' };
      const forgedKid = await calculateJwkThumbprint(forgedKey);
      const forgedBundle = {
        ...signed.bundle,
        justification: { ...signed.bundle.justification, reason: 'Nothing happened' },
        signingKey: { ...forgedKey, kid: forgedKid },
      };
      const forgedJws = await new CompactSign(new TextEncoder().encode(jcs(forgedBundle)))
        .setProtectedHeader({ alg: 'EdDSA', kid: forgedKid })
        .sign(privateKey);
      writeFileSync(files.forged, JSON.stringify({ bundle: forgedBundle, jws: forgedJws }));
    } finally {
      await sut.close();
    }

    // Years later, on an auditor's laptop: the broker is gone.
    const run = async (args: string[]) => {
      const cli = spawnCli(args, { BREAKGLASS_URL: brokerUrl! });
      cli.child.stdin?.end();
      return { code: await cli.exited, stdout: cli.stdout(), stderr: cli.stderr() };
    };
    const offline = await run(['evidence', 'verify', files.bundle, '--jwks', files.history]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toMatch(/^VALID: signature valid/);
    expect(offline.stdout).toContain('signing key: the embedded key is one of the keys you trust');
    const withJwksOnly = await run(['--json', 'evidence', 'verify', files.bundle, '--jwks', files.jwks]);
    expect(withJwksOnly.code).toBe(2);
    expect(JSON.parse(withJwksOnly.stdout)).toMatchObject({ valid: false, signature: 'invalid', signingKey: 'untrusted' });
    const forged = await run(['--json', 'evidence', 'verify', files.forged, '--jwks', files.history]);
    expect(forged.code).toBe(2);
    expect(JSON.parse(forged.stdout)).toMatchObject({ valid: false, signature: 'invalid', signingKey: 'untrusted', payloadMatchesBundle: false });
    const noKeys = await run(['evidence', 'verify', files.bundle]);
    expect(noKeys.code).toBe(1);
    expect(noKeys.stderr).toContain(`cannot fetch the broker's key history from ${brokerUrl!}/.well-known/breakglass-keys.json`);
    expect(noKeys.stderr).toContain(`(curl -o breakglass-keys.json ${brokerUrl!}/.well-known/breakglass-keys.json) and pass --jwks breakglass-keys.json`);
  });
});
