import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FakeOidcProvider } from './support/oidc-provider';
import { CLI, runCli, spawnCli } from './support/service-process';
import { startTestService, type TestService } from './support/test-service';

// The on-call engineer's CLI under stress (issue 20): the credential follows `extend`, an ended
// grant is refused naming who ended it, events recorded after the end never block the spool, and
// every refusal is worded for a person.

const scratch = (prefix: string) => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', prefix));

const cli = runCli;

describe('the on-call CLI: state that follows the grant', () => {
  jest.setTimeout(60_000);
  let sut: TestService;
  let env: NodeJS.ProcessEnv;
  let security: string;

  const request = async (duration = '10m', target = 'prod-cluster') => {
    const requested = await cli(
      ['--json', 'request', '--target', target, '--incident', 'INC-20', '--reason', 'Control plane certificates expired', '--duration', duration],
      env,
    );
    expect(requested.code).toBe(0);
    return JSON.parse(requested.stdout) as { id: string; expiresAt: string; credential: { token: string } };
  };
  const introspect = async (token: string) =>
    (await sut.http.post('/v1/credentials/introspect').set('Authorization', `Bearer ${security}`).send({ token }).expect(200)).body as { active: boolean };
  const revoke = (id: string, reason: string) =>
    sut.http.post(`/v1/grants/${id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason }).expect(200);

  beforeAll(async () => {
    sut = await startTestService();
    env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: await sut.token('oncall-1', ['engineer']), BREAKGLASS_HOME: scratch('home-') };
    security = await sut.token('sec-1', ['security']);
  });
  afterAll(() => sut.close());

  it('extend: exec then injects the new credential, which the broker says is active', async () => {
    const grant = await request();
    const extended = await cli(['--json', 'extend', grant.id.toLowerCase(), '--duration', '1h30m', '--reason', 'New nodes still joining the pool'], env);
    expect(extended.code).toBe(0);
    const { newCredential, expiresAt } = JSON.parse(extended.stdout);
    expect(newCredential.token).not.toBe(grant.credential.token);

    const injected = await cli(['exec', grant.id, '--', 'sh', '-c', 'echo "$BREAKGLASS_JWT $BREAKGLASS_EXPIRES_AT"'], env);
    expect(injected.code).toBe(0);
    const [token, expires] = injected.stdout.trim().split(' ');
    expect(token).toBe(newCredential.token);
    expect(expires).toBe(expiresAt);
    expect((await introspect(token)).active).toBe(true);
  });

  it('extend from inside a recorded shell: the prompt shows the new time left and the shell uses the new token', async () => {
    const grant = await request('10m');
    const out = path.join(scratch('shell-'), 'token');
    const script = [
      'echo before',
      `node ${CLI} extend ${grant.id} --duration 50m --reason 'Waiting for the etcd snapshot to finish'`,
      `echo "$BREAKGLASS_JWT" > ${out}`,
      'exit',
      '',
    ].join('\n');
    const shell = await cli(['shell', grant.id], env, script);
    expect(shell.code).toBe(0);
    // bash writes its prompts to stderr: 9m… left before the extension, 59m… after it.
    const prompts = [...shell.stderr.matchAll(new RegExp(`\\[breakglass ${grant.id} (\\d+)m\\d\\ds left\\]`, 'g'))].map((m) => Number(m[1]));
    expect(prompts[0]).toBe(9);
    expect(prompts.at(-1)).toBe(59);
    const token = readFileSync(out, 'utf8').trim();
    expect(token).not.toBe(grant.credential.token);
    expect((await introspect(token)).active).toBe(true);
  });

  it('after revoke, exec and shell exit 1 naming who revoked, when and why, and run nothing', async () => {
    const grant = await request();
    await revoke(grant.id, 'Rotation finished by the platform team');
    const marker = path.join(scratch('never-'), 'ran');
    for (const args of [
      ['exec', grant.id, '--', 'touch', marker],
      ['shell', grant.id],
    ]) {
      const refused = await cli(args, env, `touch ${marker}\n`);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^breakglass: ${grant.id} was revoked by sec-1 at \\d{4}-\\d\\d-\\d\\dT\\S+Z: Rotation finished by the platform team — request a new grant\\n$`,
        ),
      );
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('events spooled after the end are reported once and set aside; flush exits 0; earlier ones still arrive, marked late', async () => {
    const grant = await request();
    const unreachable = { ...env, BREAKGLASS_URL: 'http://127.0.0.1:9' };
    // Recorded while the broker cannot be reached: one before the revoke, one after it.
    expect((await cli(['exec', grant.id, '--', 'echo', 'before-the-end'], unreachable)).code).toBe(0);
    await revoke(grant.id, 'Suspicious activity on the account');
    expect((await cli(['exec', grant.id, '--', 'echo', 'after-the-end'], unreachable)).code).toBe(0);

    const flushed = await cli(['flush'], env);
    expect(flushed.code).toBe(0);
    const asideFile = path.join(env.BREAKGLASS_HOME!, 'spool', `${grant.id}.after-end.jsonl`);
    expect(flushed.stdout).toMatch(
      new RegExp(
        `^${grant.id}: 1 event\\(s\\) sent; 1 recorded after the grant ended kept in ${asideFile}, not sent \\(${grant.id} was revoked by sec-1 at \\S+: Suspicious activity on the account — request a new grant\\)$`,
        'm',
      ),
    );
    expect(readFileSync(asideFile, 'utf8')).toContain('echo after-the-end');
    const again = await cli(['flush', grant.id], env);
    expect(again).toMatchObject({ code: 0, stdout: `${grant.id}: 0 event(s) sent\n` });
    const everything = await cli(['flush'], env); // the set-aside file is not a spool of its own
    expect(everything.code).toBe(0);
    expect(everything.stdout).not.toContain('after-end');

    const log = (await sut.http.get(`/v1/grants/${grant.id}/events`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    expect(log.map((e: { command: string; late: boolean }) => [e.command, e.late])).toEqual([['echo before-the-end', true]]);
  });

  it('a shell whose grant is revoked while it runs says who revoked it and why', async () => {
    const grant = await request();
    const script = [`node ${CLI} revoke ${grant.id} --reason 'Handing over to the day shift'`, 'sleep 2.5', 'echo still-here', 'exit', ''].join('\n');
    const shell = await cli(['shell', grant.id], env, script);
    expect(shell.stderr).toMatch(new RegExp(`breakglass: ${grant.id} was revoked by oncall-1 at \\S+: Handing over to the day shift — request a new grant\\.`));
    expect(shell.stderr.match(/was revoked by/g)).toHaveLength(1); // told once, not at every flush
  });
});

describe('the on-call CLI: refusals worded for a person', () => {
  let sut: TestService;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sut = await startTestService();
    env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: await sut.token('oncall-1', ['engineer']), BREAKGLASS_HOME: scratch('home-') };
  });
  afterAll(() => sut.close());

  const ask = (...args: string[]) => cli(['request', '--incident', 'INC-21', '--reason', 'Ledger replication is stuck again', ...args], env);

  it('durations in 2h/30m form, compound durations accepted, a default duration when none is given', async () => {
    const tooLong = await ask('--target', 'payments-db', '--duration', '5h');
    expect(tooLong).toMatchObject({ code: 1, stderr: 'breakglass: 5h exceeds the 2h maximum of payments-db (HTTP 403, duration_exceeds_max)\n' });
    const compound = await cli(
      ['--json', 'request', '--target', 'payments-db', '--incident', 'INC-21', '--reason', 'Ledger replication is stuck again', '--duration', '1h30m'],
      env,
    );
    expect(JSON.parse(compound.stdout).durationSeconds).toBe(5400);
    const defaulted = await cli(
      ['--json', 'request', '--target', 'prod-cluster', '--incident', 'INC-21', '--reason', 'Ledger replication is stuck again'],
      env,
    );
    expect(JSON.parse(defaulted.stdout).durationSeconds).toBe(1800);
    const targets = await cli(['targets'], env);
    expect(targets.stdout).toMatch(/^TARGET\s+ENVIRONMENT\s+CREDENTIAL\s+DEFAULT\s+MAX\s+ROLES\s+INCIDENT$/m);
    expect(targets.stdout).toMatch(/^payments-db\s+production\s+postgres\s+30m\s+2h\s+payments_rw\s+INC-4821$/m);
    const badDuration = await ask('--target', 'payments-db', '--duration', 'soon');
    expect(badDuration.stderr).toContain('"soon" is not a duration like 90s, 30m, 1h30m, 24h or 7d');
  });

  it('a close target name gets "did you mean"; a role the target lacks lists the ones it offers; the incident shows an example', async () => {
    expect((await ask('--target', 'payments-bd')).stderr).toBe(
      'breakglass: No target named "payments-bd" in the policy; did you mean payments-db? (HTTP 403, target_unknown)\n',
    );
    expect((await ask('--target', 'staging')).stderr).toContain('No target named "staging" in the policy (`breakglass targets` lists them)');
    expect((await ask('--target', 'payments-db', '--role', 'payments_admin')).stderr).toBe(
      'breakglass: Role "payments_admin" is not offered by payments-db; choose one of: payments_rw (HTTP 403, role_forbidden)\n',
    );
    const incident = await cli(['request', '--target', 'payments-db', '--incident', 'outage', '--reason', 'Ledger replication is stuck again'], env);
    expect(incident.stderr).toContain('Incident "outage" is not an incident id like INC-4821 (what payments-db requires)');
    expect(incident.stderr).not.toContain('^(INC');
  });

  it('grant and incident ids are read whatever their case', async () => {
    const lower = await cli(['--json', 'request', '--target', 'prod-cluster', '--incident', 'inc-4821', '--reason', 'Ledger replication is stuck again'], env);
    const grant = JSON.parse(lower.stdout);
    expect(grant.incident).toBe('INC-4821');
    const status = await cli(['status', grant.id.toLowerCase()], env);
    expect(status.code).toBe(0);
    expect(status.stdout.startsWith(`${grant.id}\n  Target      prod-cluster`)).toBe(true);
    expect((await cli(['exec', grant.id.toLowerCase(), '--', 'true'], env)).code).toBe(0);
  });

  it('an expired token says when it expired and what to run; a token from another data dir says which key the broker uses', async () => {
    const brief = await cli(['dev-token', '--sub', 'oncall-1', '--roles', 'engineer', '--ttl', '1s'], { BREAKGLASS_DATA_DIR: sut.dataDir });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = await cli(['status'], { ...env, BREAKGLASS_TOKEN: brief.stdout.trim() });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(
      /^breakglass: Your token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z: run `breakglass dev-token` \(HTTP 401, invalid_token\)\n$/,
    );

    const elsewhere = scratch('data-');
    const refused = await cli(['dev-token', '--sub', 'oncall-1', '--roles', 'engineer'], { BREAKGLASS_DATA_DIR: elsewhere });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `no dev issuer key in ${elsewhere}: start the broker first, or set BREAKGLASS_DATA_DIR to the data dir the broker runs with`,
    );
    expect(existsSync(path.join(elsewhere, 'dev-issuer.jwk.json'))).toBe(false);

    const { DevIssuer } = await import('../src/auth/dev-issuer');
    const stranger = await DevIssuer.open(elsewhere);
    const server = await DevIssuer.open(sut.dataDir);
    const foreign = await cli(['status'], { ...env, BREAKGLASS_TOKEN: await stranger.mint({ subject: 'oncall-1', roles: ['engineer'] }) });
    expect(foreign.stderr).toContain(
      `Your token is signed by key ${stranger.keyId} that urn:breakglass:dev-issuer does not use for this broker (this broker verifies with key ${server.keyId}): run \`breakglass dev-token\``,
    );
  });

  it('shell completion for bash and zsh: commands, options, targets from the broker, grants from this machine', async () => {
    // `breakglass` on PATH, as after `npm i -g`.
    const bin = scratch('bin-');
    writeFileSync(path.join(bin, 'breakglass'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const granted = JSON.parse(
      (await cli(['--json', 'request', '--target', 'prod-cluster', '--incident', 'INC-22', '--reason', 'Ledger replication is stuck again'], env)).stdout,
    );
    const complete = (shell: 'bash' | 'zsh', words: string[]) => {
      const array = words.map((word) => `'${word}'`).join(' ');
      const script =
        shell === 'bash'
          ? `source <(breakglass completion bash); COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _breakglass; printf '%s\\n' "\${COMPREPLY[@]}"`
          : `source <(breakglass completion zsh); setopt ksharrays; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _breakglass; printf '%s\\n' "\${COMPREPLY[@]}"`;
      // Not spawnSync: the broker answering `__complete targets` runs in this process.
      const child = spawn(shell, ['-c', script], { env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      return new Promise<string[]>((resolve) =>
        child.once('close', () => {
          expect(stderr).toBe('');
          resolve(stdout.split('\n').filter(Boolean));
        }),
      );
    };
    expect(await complete('bash', ['breakglass', 're'])).toEqual(['request', 'revoke']);
    expect(await complete('bash', ['breakglass', 'request', '--d'])).toEqual(['--duration']);
    expect(await complete('bash', ['breakglass', 'request', '--target', 'pay'])).toEqual(['payments-db']);
    expect(await complete('bash', ['breakglass', 'exec', ''])).toContain(granted.id);
    expect(await complete('bash', ['breakglass', 'exec', granted.id, ''])).toEqual([]); // the command, not another grant
    if (spawnSync('zsh', ['--version']).error && !process.env.CI) return; // zsh is installed by .ci/run; elsewhere it may be missing
    expect(await complete('zsh', ['breakglass', 're'])).toEqual(expect.arrayContaining(['request', 'revoke']));
    expect(await complete('zsh', ['breakglass', 'status', ''])).toContain(granted.id);
    expect(await complete('zsh', ['breakglass', 'request', '--target', ''])).toEqual(['payments-db', 'prod-cluster']);
  });

  it('a broker URL without a scheme is explained', async () => {
    const result = await cli(['status'], { ...env, BREAKGLASS_URL: '127.0.0.1:8080' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'the broker URL (--url or BREAKGLASS_URL) must start with http:// or https://, like http://127.0.0.1:8080 (got "127.0.0.1:8080")',
    );
  });
});

describe('breakglass login: the device authorization grant (RFC 8628)', () => {
  jest.setTimeout(60_000);
  let provider: FakeOidcProvider;
  let sut: TestService;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    provider = new FakeOidcProvider({ subject: 'alice', groups: ['oncall'], email: 'alice@example.com', audience: 'breakglass' });
    const issuer = await provider.start();
    sut = await startTestService({
      env: { AUTH_MODE: 'oidc', OIDC_ISSUER: issuer, OIDC_AUDIENCE: 'breakglass', OIDC_JWKS_URL: `${issuer}/jwks`, OIDC_CLI_CLIENT_ID: 'breakglass-cli' },
    });
    env = { BREAKGLASS_URL: sut.url, BREAKGLASS_HOME: scratch('home-') };
  });
  afterAll(async () => {
    await sut.close();
    await provider.stop();
  });

  it('login prints the code, waits for approval, caches a token (0600) the broker accepts; whoami and logout', async () => {
    const login = spawnCli(['login'], env);
    // The person reads the code from the terminal and approves it in a browser.
    let userCode: string | undefined;
    for (let i = 0; i < 100 && !userCode; i++) {
      userCode = /enter the code ([0-9A-F]{4}-[0-9A-F]{4})/.exec(login.stderr())?.[1];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(login.stderr()).toContain(`To sign in, open ${provider.issuer}/device and enter the code ${userCode} within 5 min. Waiting…`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // at least one poll answered authorization_pending
    provider.approve(userCode!);
    expect(await login.exited).toBe(0);
    const file = path.join(env.BREAKGLASS_HOME!, 'token.json');
    expect(login.stdout()).toMatch(new RegExp(`^Signed in to ${sut.url} as alice \\(engineer\\); token cached in ${file} until \\S+Z\\.\\n$`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const polls = provider.deviceTokenRequests.filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:device_code').map((r) => r.answer);
    expect(polls).toContain('authorization_pending');
    expect(polls.at(-1)).toBe('tokens');
    expect(polls).not.toContain('slow_down'); // the CLI keeps to the interval the provider asked for

    // Every command now acts as alice without BREAKGLASS_TOKEN.
    const cached = JSON.parse(readFileSync(file, 'utf8')).accessToken;
    await sut.http.get('/v1/me').set('Authorization', `Bearer ${cached}`).expect(200);
    expect(await cli(['whoami'], env)).toMatchObject({
      code: 0,
      stdout: `alice <alice@example.com>: engineer (token from ${file} (expires ${JSON.parse(readFileSync(file, 'utf8')).expiresAt}))\n`,
    });
    const requested = await cli(
      ['--json', 'request', '--target', 'prod-cluster', '--incident', 'INC-88', '--reason', 'Signing in with the device flow works'],
      env,
    );
    expect(JSON.parse(requested.stdout)).toMatchObject({ requester: 'alice', status: 'active' });

    expect(await cli(['logout'], env)).toMatchObject({ code: 0, stdout: `Signed out: ${file} removed.\n` });
    const after = await cli(['whoami'], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('HTTP 401');
  });

  it('an access token about to expire is renewed with the refresh token', async () => {
    provider.accessTokenSeconds = 20; // inside the CLI's 30 s renewal margin at once
    try {
      const login = spawnCli(['login'], env);
      let userCode: string | undefined;
      for (let i = 0; i < 100 && !userCode; i++) {
        userCode = /enter the code ([0-9A-F]{4}-[0-9A-F]{4})/.exec(login.stderr())?.[1];
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      provider.approve(userCode!);
      expect(await login.exited).toBe(0);
      const file = path.join(env.BREAKGLASS_HOME!, 'token.json');
      const first = JSON.parse(readFileSync(file, 'utf8'));
      expect((await cli(['whoami'], env)).code).toBe(0);
      const renewed = JSON.parse(readFileSync(file, 'utf8'));
      expect(renewed.accessToken).not.toBe(first.accessToken);
      expect(renewed.refreshToken).not.toBe(first.refreshToken);
      expect(provider.deviceTokenRequests.filter((r) => r.grantType === 'refresh_token').map((r) => r.answer)).toEqual(['tokens']);
    } finally {
      provider.accessTokenSeconds = 600;
    }
  });

  it('in dev mode login says how to get a token instead', async () => {
    const dev = await startTestService();
    try {
      const result = await cli(['login'], { BREAKGLASS_URL: dev.url, BREAKGLASS_HOME: scratch('home-') });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`the broker at ${dev.url} runs AUTH_MODE=dev: there is nothing to sign in to`);
    } finally {
      await dev.close();
    }
  });
});
