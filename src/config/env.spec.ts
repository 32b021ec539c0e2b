import { ConfigurationError, loadConfig } from './env';

describe(loadConfig.name, () => {
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env, '/srv/bg');
    } catch (error) {
      if (error instanceof ConfigurationError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigurationError');
  };

  it('applies the documented defaults (docs/configuration.md) when nothing is set', () => {
    const config = loadConfig({}, '/srv/bg');
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: '/srv/bg/.breakglass',
      databaseUrl: undefined,
      policyPath: '/srv/bg/examples/policy.yaml',
      publicUrl: 'http://127.0.0.1:8080',
      auth: { mode: 'dev' },
      production: false,
    });
    expect(config.env.PAGERDUTY_EVENTS_SERVER).toBe('events.pagerduty.com');
    expect(config.env.PAGERDUTY_API_URL).toBe('https://api.pagerduty.com');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '  ' }, '/srv/bg')).toMatchObject({ port: 8080, host: '127.0.0.1' });
  });

  it('names every bad variable with what is wrong and the value it got', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      AUTH_MODE: 'saml',
      SMTP_URL: 'http://mail',
      PAGERDUTY_EVENTS_SERVER: 'https://events.pagerduty.com',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: must be an integer port number from 0 to 65535.*\(got "eighty"\)$/),
        expect.stringMatching(/^DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/),
        expect.stringMatching(/^AUTH_MODE: must be "dev" or "oidc"/),
        expect.stringMatching(/^SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/),
        expect.stringMatching(/^PAGERDUTY_EVENTS_SERVER: must be host\[:port\], without a scheme/),
      ]),
    );
  });

  it('rejects ports out of range', () => {
    expect(problemsOf({ PORT: '70000' })).toEqual([expect.stringMatching(/^PORT: .*65535/)]);
  });

  it('refuses dev auth in production unless ALLOW_DEV_AUTH=1', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^AUTH_MODE: "dev" is refused when NODE_ENV=production/)]);
    expect(loadConfig({ NODE_ENV: 'production', ALLOW_DEV_AUTH: '1' }).auth.mode).toBe('dev');
  });

  it('requires issuer, audience and JWKS URL for OIDC', () => {
    expect(problemsOf({ AUTH_MODE: 'oidc' })).toEqual([
      'OIDC_ISSUER: is required when AUTH_MODE=oidc',
      'OIDC_AUDIENCE: is required when AUTH_MODE=oidc',
      'OIDC_JWKS_URL: is required when AUTH_MODE=oidc',
    ]);
    const config = loadConfig({
      AUTH_MODE: 'oidc',
      OIDC_ISSUER: 'https://idp',
      OIDC_AUDIENCE: 'bg',
      OIDC_JWKS_URL: 'https://idp/jwks',
      OIDC_ROLES_CLAIM: 'roles',
    });
    expect(config.auth).toEqual({ mode: 'oidc', issuer: 'https://idp', audience: 'bg', jwksUrl: 'https://idp/jwks', rolesClaim: 'roles', emailClaim: 'email' });
  });

  it('requires SMTP_FROM with SMTP_URL, and webhook secrets of a useful length', () => {
    expect(problemsOf({ SMTP_URL: 'smtp://mail:25', GITHUB_WEBHOOK_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^GITHUB_WEBHOOK_SECRET: must be at least 16 characters/),
      'SMTP_FROM: is required when SMTP_URL is set',
    ]);
  });

  it('derives the public URL from host and port, and trims a trailing slash from an explicit one', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '9000', BREAKGLASS_PG_PROXY_HOST: '127.0.0.1' }).publicUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ BREAKGLASS_PUBLIC_URL: 'https://bg.example.com/' }).publicUrl).toBe('https://bg.example.com');
  });

  it('refuses a PostgreSQL proxy listening beyond loopback without TLS, and half a TLS key pair', () => {
    expect(problemsOf({ HOST: '0.0.0.0' })[0]).toMatch(/^BREAKGLASS_PG_PROXY_HOST: the PostgreSQL proxy would listen on 0\.0\.0\.0 without TLS/);
    expect(problemsOf({ BREAKGLASS_PG_PROXY_HOST: '10.0.0.5' })[0]).toMatch(/set BREAKGLASS_PG_PROXY_TLS_CERT and BREAKGLASS_PG_PROXY_TLS_KEY/);
    expect(problemsOf({ BREAKGLASS_PG_PROXY_TLS_CERT: '/nonexistent.pem' })).toContain(
      'BREAKGLASS_PG_PROXY_TLS_KEY: is required with BREAKGLASS_PG_PROXY_TLS_CERT',
    );
    expect(
      problemsOf({ BREAKGLASS_PG_PROXY_TLS_CERT: '/nonexistent.pem', BREAKGLASS_PG_PROXY_TLS_KEY: '/nonexistent.key', BREAKGLASS_PG_PROXY_HOST: '0.0.0.0' }),
    ).toContain('BREAKGLASS_PG_PROXY_TLS_CERT: no such file /nonexistent.pem');
    expect(loadConfig({}, '/srv/bg').pgProxy).toEqual({ host: '127.0.0.1', port: 54330, publicAddress: null, tls: null });
  });
});
