import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startTestService, type TestService } from './support/test-service';

describe('authentication and roles', () => {
  describe('AUTH_MODE=dev', () => {
    let sut: TestService;
    beforeAll(async () => {
      sut = await startTestService();
    });
    afterAll(() => sut.close());

    it('answers 401 unauthenticated without a token', async () => {
      const { body } = await sut.http.get('/v1/targets').expect(401);
      expect(body.error).toBe('unauthenticated');
    });

    it('answers 401 invalid_token for a forged, foreign or garbage token', async () => {
      const { privateKey } = await generateKeyPair('Ed25519');
      const forged = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer('urn:breakglass:dev-issuer')
        .setAudience('urn:breakglass:api')
        .setSubject('mallory')
        .setExpirationTime('1h')
        .sign(privateKey);
      for (const token of [forged, 'not-a-jwt', `${(await sut.token('a', ['engineer'])).slice(0, -4)}AAAA`]) {
        const { body } = await sut.http.get('/v1/targets').set('Authorization', `Bearer ${token}`).expect(401);
        expect(body.error).toBe('invalid_token');
      }
    });

    it('answers 403 forbidden_role when the caller lacks every required role', async () => {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const { body } = await sut.http.get('/v1/audit').set('Authorization', `Bearer ${engineer}`).expect(403);
      expect(body).toMatchObject({ error: 'forbidden_role', details: { required: ['compliance', 'security'], held: ['engineer'] } });
    });

    it('lets in any of the required roles', async () => {
      for (const role of ['compliance', 'security'] as const) {
        await sut.http
          .get('/v1/audit')
          .set('Authorization', `Bearer ${await sut.token(`${role}-1`, [role])}`)
          .expect(200);
      }
    });

    it("mints dev tokens only for a direct request to a loopback name from the service's own page", async () => {
      const origin = sut.url;
      const host = new URL(origin).host;
      const body = { subject: 'dev-1', roles: ['engineer'] };
      await sut.http.post('/v1/dev/tokens').set('Host', host).send(body).expect(201);
      await sut.http.post('/v1/dev/tokens').set('Host', host).set('Origin', origin).send(body).expect(201);
      await sut.http
        .post('/v1/dev/tokens')
        .set('Host', `localhost:${new URL(origin).port}`)
        .send(body)
        .expect(201);
      const refused = [
        { Host: 'attacker.example' }, // DNS rebinding: a foreign name resolving to 127.0.0.1
        { Host: `attacker.example:${new URL(origin).port}` },
        { Host: host, Origin: 'http://attacker.example' }, // a cross-origin page posting to localhost
        { Host: host, Origin: 'http://127.0.0.1:1' }, // another local service's page
        { Host: host, Origin: 'null' },
        { Host: host, 'X-Forwarded-For': '203.0.113.7' }, // through a reverse proxy on this host
        { Host: host, Forwarded: 'for=203.0.113.7' },
        { Host: host, 'X-Forwarded-Host': 'breakglass.example.com' },
        { Host: host, 'X-Real-IP': '203.0.113.7' },
      ];
      for (const headers of refused) {
        const answer = await sut.http.post('/v1/dev/tokens').set(headers).send(body);
        expect({ headers, status: answer.status, error: answer.body.error }).toEqual({ headers, status: 404, error: 'dev_sign_in_unavailable' });
        expect(answer.body.token).toBeUndefined();
      }
    });

    it('rejects an expired dev token', async () => {
      const { DevIssuer } = await import('../src/auth/dev-issuer');
      const issuer = await DevIssuer.open(sut.dataDir);
      const expired = await issuer.mint({ subject: 'oncall-1', roles: ['engineer'], ttlSeconds: -10 });
      const { body } = await sut.http.get('/v1/targets').set('Authorization', `Bearer ${expired}`).expect(401);
      expect(body.message).toMatch(/exp/);
    });

    it('stops taking a token at its exp although its verification is remembered', async () => {
      const { DevIssuer } = await import('../src/auth/dev-issuer');
      const issuer = await DevIssuer.open(sut.dataDir);
      const shortLived = await issuer.mint({ subject: 'oncall-1', roles: ['engineer'], ttlSeconds: 2 });
      await sut.http.get('/v1/me').set('Authorization', `Bearer ${shortLived}`).expect(200);
      await sut.http.get('/v1/me').set('Authorization', `Bearer ${shortLived}`).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const { body } = await sut.http.get('/v1/me').set('Authorization', `Bearer ${shortLived}`).expect(401);
      expect(body.error).toBe('invalid_token');
      expect(body.message).toMatch(/expired at/);
    });
  });

  describe('AUTH_MODE=oidc', () => {
    let sut: TestService;
    let jwks: Server;
    let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
    const issuer = 'https://idp.example.test';
    const audience = 'breakglass';

    beforeAll(async () => {
      const pair = await generateKeyPair('ES256');
      signingKey = pair.privateKey;
      const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      jwks = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [publicJwk] }));
      });
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      const { port } = jwks.address() as { port: number };
      sut = await startTestService({
        env: { AUTH_MODE: 'oidc', OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience, OIDC_JWKS_URL: `http://127.0.0.1:${port}/jwks` },
      });
    });
    afterAll(async () => {
      await sut.close();
      jwks.close();
    });

    const idpToken = (claims: Record<string, unknown>, overrides: { iss?: string; aud?: string } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(overrides.iss ?? issuer)
        .setAudience(overrides.aud ?? audience)
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(signingKey);

    it('maps IdP groups to broker roles through the policy', async () => {
      // examples/policy.yaml: compliance: [compliance], engineer: [oncall]
      const auditor = await idpToken({ groups: ['compliance', 'unrelated'], email: 'alice@example.com' });
      await sut.http.get('/v1/audit').set('Authorization', `Bearer ${auditor}`).expect(200);

      const engineer = await idpToken({ groups: ['oncall'] });
      await sut.http.get('/v1/targets').set('Authorization', `Bearer ${engineer}`).expect(200);
      const denied = await sut.http.get('/v1/audit').set('Authorization', `Bearer ${engineer}`).expect(403);
      expect(denied.body.details.held).toEqual(['engineer']);
    });

    it('rejects a token from another issuer or for another audience', async () => {
      for (const token of [
        await idpToken({ groups: ['compliance'] }, { iss: 'https://evil.test' }),
        await idpToken({ groups: ['compliance'] }, { aud: 'other' }),
      ]) {
        const { body } = await sut.http.get('/v1/audit').set('Authorization', `Bearer ${token}`).expect(401);
        expect(body.error).toBe('invalid_token');
      }
    });

    it('does not accept dev tokens', async () => {
      const { body } = await sut.http
        .get('/v1/targets')
        .set('Authorization', `Bearer ${await sut.token('x', ['admin'])}`)
        .expect(401);
      expect(body.error).toBe('invalid_token');
    });
  });
});
