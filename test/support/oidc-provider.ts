import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * A minimal OpenID provider for browser tests: discovery, an authorization endpoint that approves
 * at once as the configured user, a token endpoint that insists on PKCE (S256), and the JWKS.
 */
export class FakeOidcProvider {
  issuer = '';
  /** What the token endpoint saw: whether each exchange carried the right code verifier. */
  readonly exchanges: { pkceValid: boolean; clientId: string }[] = [];
  private server?: Server;
  private readonly codes = new Map<string, { challenge: string; clientId: string; redirectUri: string }>();

  constructor(private readonly user: { subject: string; groups: string[]; email: string; audience: string }) {}

  async start(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.issuer);
      res.setHeader('access-control-allow-origin', '*');
      const json = (status: number, body: unknown) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(200, {
          issuer: this.issuer,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          jwks_uri: `${this.issuer}/jwks`,
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const p = url.searchParams;
        if (p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge'))
          return json(400, { error: 'invalid_request' });
        const code = randomBytes(16).toString('hex');
        this.codes.set(code, { challenge: p.get('code_challenge')!, clientId: p.get('client_id')!, redirectUri: p.get('redirect_uri')! });
        res.statusCode = 302;
        res.setHeader('location', `${p.get('redirect_uri')}?${new URLSearchParams({ code, state: p.get('state') ?? '' })}`);
        return res.end();
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        let raw = '';
        req.on('data', (chunk) => (raw += chunk));
        req.on('end', async () => {
          const form = new URLSearchParams(raw);
          const grant = this.codes.get(form.get('code') ?? '');
          this.codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const pkceValid = !!grant && createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
          this.exchanges.push({ pkceValid, clientId: form.get('client_id') ?? '' });
          if (!grant || !pkceValid || form.get('redirect_uri') !== grant.redirectUri) return json(400, { error: 'invalid_grant' });
          const token = await new SignJWT({ groups: this.user.groups, email: this.user.email })
            .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
            .setIssuer(this.issuer)
            .setAudience(this.user.audience)
            .setSubject(this.user.subject)
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(privateKey);
          json(200, { access_token: token, token_type: 'Bearer', expires_in: 600 });
        });
        return;
      }
      json(404, { error: 'not_found' });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.issuer;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
