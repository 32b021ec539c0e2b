import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * A minimal OpenID provider for browser and CLI tests: discovery, an authorization endpoint that
 * approves at once as the configured user, a token endpoint that insists on PKCE (S256), the device
 * authorization grant of RFC 8628 (`authorization_pending` until `approve(userCode)`, `slow_down`
 * when polled too fast), refresh tokens, and the JWKS.
 */
export class FakeOidcProvider {
  issuer = '';
  /** What the token endpoint saw: whether each exchange carried the right code verifier. */
  readonly exchanges: { pkceValid: boolean; clientId: string }[] = [];
  private server?: Server;
  private readonly codes = new Map<string, { challenge: string; clientId: string; redirectUri: string }>();
  private readonly devices = new Map<string, { userCode: string; clientId: string; approved: boolean; lastPoll: number }>();
  private readonly refreshTokens = new Map<string, string>();
  /** Device-flow and refresh requests at the token endpoint, as RFC 8628 §3.5 answers them. */
  readonly deviceTokenRequests: { grantType: string; answer: string }[] = [];
  /** Seconds an access token lives (short in tests of renewal). */
  accessTokenSeconds = 600;
  /** The polling interval the device authorization answer asks for. */
  readonly deviceInterval = 1;

  /** What the person does in the browser: enters the code and approves. */
  approve(userCode: string): void {
    for (const device of this.devices.values()) if (device.userCode === userCode) device.approved = true;
  }

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
          device_authorization_endpoint: `${this.issuer}/device/code`,
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
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
      const mint = () =>
        new SignJWT({ groups: this.user.groups, email: this.user.email })
          .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
          .setIssuer(this.issuer)
          .setAudience(this.user.audience)
          .setSubject(this.user.subject)
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + this.accessTokenSeconds)
          .sign(privateKey);
      const issueWithRefresh = async (clientId: string) => {
        const refresh = randomBytes(16).toString('hex');
        this.refreshTokens.set(refresh, clientId);
        json(200, { access_token: await mint(), token_type: 'Bearer', expires_in: this.accessTokenSeconds, refresh_token: refresh });
      };
      if (url.pathname === '/device/code' && req.method === 'POST') {
        let raw = '';
        req.on('data', (chunk) => (raw += chunk));
        req.on('end', () => {
          const form = new URLSearchParams(raw);
          const deviceCode = randomBytes(16).toString('hex');
          const userCode = `${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}`.toUpperCase();
          this.devices.set(deviceCode, { userCode, clientId: form.get('client_id') ?? '', approved: false, lastPoll: 0 });
          json(200, {
            device_code: deviceCode,
            user_code: userCode,
            verification_uri: `${this.issuer}/device`,
            expires_in: 300,
            interval: this.deviceInterval,
          });
        });
        return;
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        let raw = '';
        req.on('data', (chunk) => (raw += chunk));
        req.on('end', async () => {
          const form = new URLSearchParams(raw);
          const grantType = form.get('grant_type') ?? '';
          const answer = (status: number, body: Record<string, unknown>) => {
            this.deviceTokenRequests.push({ grantType, answer: String(body.error ?? 'tokens') });
            json(status, body);
          };
          if (grantType === 'urn:ietf:params:oauth:grant-type:device_code') {
            const device = this.devices.get(form.get('device_code') ?? '');
            if (!device || device.clientId !== form.get('client_id')) return answer(400, { error: 'invalid_grant' });
            const tooSoon = Date.now() - device.lastPoll < this.deviceInterval * 1000 - 100;
            device.lastPoll = Date.now();
            if (tooSoon) return answer(400, { error: 'slow_down' });
            if (!device.approved) return answer(400, { error: 'authorization_pending' });
            this.devices.delete(form.get('device_code')!);
            this.deviceTokenRequests.push({ grantType, answer: 'tokens' });
            return issueWithRefresh(device.clientId);
          }
          if (grantType === 'refresh_token') {
            const clientId = this.refreshTokens.get(form.get('refresh_token') ?? '');
            if (!clientId || clientId !== form.get('client_id')) return answer(400, { error: 'invalid_grant' });
            this.refreshTokens.delete(form.get('refresh_token')!);
            this.deviceTokenRequests.push({ grantType, answer: 'tokens' });
            return issueWithRefresh(clientId);
          }
          const grant = this.codes.get(form.get('code') ?? '');
          this.codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const pkceValid = !!grant && createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
          this.exchanges.push({ pkceValid, clientId: form.get('client_id') ?? '' });
          if (!grant || !pkceValid || form.get('redirect_uri') !== grant.redirectUri) return json(400, { error: 'invalid_grant' });
          json(200, { access_token: await mint(), token_type: 'Bearer', expires_in: 600 });
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
