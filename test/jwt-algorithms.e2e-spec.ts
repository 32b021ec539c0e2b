import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startTestService, type TestService } from './support/test-service';

// P2.3: a jwt target signs with its own algorithm (RS256 by default, ES256, EdDSA); every key is in
// the JWKS. Each token is checked twice: with jose, and with node:crypto from the JWK alone
// (RFC 7515 signing input, RFC 7518 algorithms, RFC 7638 thumbprint as kid).

const policy = (algorithm: string) => `
roles: { engineer: [oncall], security: [security-team] }
targets:
  - name: rs-cluster
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: [cluster-admin] }
  - name: es-cloud
    environment: production
    credential: { type: jwt, audience: sts.amazonaws.com, algorithm: ES256 }
  - name: ed-tool
    environment: staging
    credential: { type: jwt, audience: internal-tool, algorithm: ${algorithm} }
`;

const REQUEST = { incident: 'INC-4821', reason: 'Card payments failing; inspecting ledger locks', durationSeconds: 600 };

/** RFC 7515 verification with node:crypto only: the JWK as the key, the algorithm from the header. */
function independentlyVerified(
  token: string,
  jwks: { keys: (JsonWebKey & { kid: string; alg: string })[] },
): { alg: string; kid: string; payload: Record<string, unknown> } {
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) throw new Error(`kid ${header.kid} is not in the JWKS`);
  if (jwk.alg !== header.alg) throw new Error(`the JWKS says ${jwk.kid} is ${jwk.alg}, the token says ${header.alg}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const ok =
    header.alg === 'RS256'
      ? verifySignature('sha256', input, key, signature)
      : header.alg === 'ES256'
        ? verifySignature('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature)
        : header.alg === 'EdDSA' && verifySignature(null, input, key, signature);
  if (!ok) throw new Error('signature does not verify');
  return { alg: header.alg, kid: header.kid, payload: JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) };
}

/** RFC 7638: SHA-256 over the required members in lexicographic order. */
function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

describe('jwt signing algorithms', () => {
  let sut: TestService;
  let engineer: string;
  const grant = async (target: string) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target, ...REQUEST })
        .expect(201)
    ).body;

  beforeAll(async () => {
    sut = await startTestService({ policyYaml: policy('EdDSA') });
    engineer = await sut.token('oncall-1', ['engineer']);
  });
  afterAll(() => sut.close());

  it('signs each target with its algorithm; jose and node:crypto both verify with the JWKS', async () => {
    const jwks = (await sut.http.get('/.well-known/jwks.json').expect(200)).body;
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ use: 'sig', kid: thumbprint(key), alg: expect.stringMatching(/^(RS256|ES256|EdDSA)$/) });
      expect(key).not.toHaveProperty('d'); // public halves only
    }
    expect(jwks.keys.map((key: { alg: string }) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);

    for (const [target, alg, audience] of [
      ['rs-cluster', 'RS256', 'kubernetes'],
      ['es-cloud', 'ES256', 'sts.amazonaws.com'],
      ['ed-tool', 'EdDSA', 'internal-tool'],
    ]) {
      const body = await grant(target);
      const { payload, protectedHeader } = await jwtVerify(body.credential.token, createLocalJWKSet(jwks), {
        issuer: sut.config.publicUrl,
        audience,
        algorithms: [alg],
      });
      expect(protectedHeader.alg).toBe(alg);
      expect(payload).toMatchObject({ sub: 'oncall-1', grant: body.id, target });
      const independent = independentlyVerified(body.credential.token, jwks);
      expect(independent).toMatchObject({ alg, payload: { grant: body.id, aud: audience, exp: Math.floor(Date.parse(body.expiresAt) / 1000) } });
      // A changed payload byte fails the independent check too (the verifier can fail).
      const [h, p, s] = body.credential.token.split('.');
      const forged = Buffer.from(p, 'base64url').toString('utf8').replace('oncall-1', 'oncall-2');
      expect(() => independentlyVerified(`${h}.${Buffer.from(forged).toString('base64url')}.${s}`, jwks)).toThrow('signature does not verify');
      // Session tokens and evidence stay EdDSA whatever the target uses.
      expect(independentlyVerified(body.sessionToken, jwks).alg).toBe('EdDSA');
    }
  });

  it('lists the algorithms in use in discovery, relying-party algorithms first', async () => {
    const discovery = (await sut.http.get('/.well-known/openid-configuration').expect(200)).body;
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256', 'EdDSA']);
  });

  it('refuses a token whose header names another algorithm than its key (no algorithm confusion)', async () => {
    const body = await grant('es-cloud');
    const [h, p, s] = body.credential.token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const relabelled = `${Buffer.from(JSON.stringify({ ...header, alg: 'RS256' })).toString('base64url')}.${p}.${s}`;
    const answer = (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${engineer}`).send({ token: relabelled }).expect(200)).body;
    expect(answer).toEqual({ active: false });
    expect(
      (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${engineer}`).send({ token: body.credential.token }).expect(200)).body
        .active,
    ).toBe(true);
  });

  it('keeps EdDSA credentials issued before a target moved to RS256 verifying until they expire', async () => {
    const legacy = await grant('ed-tool');
    const moved = await startTestService({ policyYaml: policy('RS256'), alongside: sut });
    try {
      const introspection = (
        await moved.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${engineer}`).send({ token: legacy.credential.token }).expect(200)
      ).body;
      expect(introspection).toMatchObject({ active: true, grant: legacy.id });
      const fresh = (
        await moved.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'ed-tool', ...REQUEST })
          .expect(201)
      ).body;
      const jwks = (await moved.http.get('/.well-known/jwks.json').expect(200)).body;
      expect(independentlyVerified(fresh.credential.token, jwks).alg).toBe('RS256');
      expect(independentlyVerified(legacy.credential.token, jwks).alg).toBe('EdDSA');
    } finally {
      await moved.close();
    }
  });
});
