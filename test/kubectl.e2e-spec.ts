import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { KubeApiServerStandIn } from './support/kube-apiserver';
import { freePort } from './support/ports';
import { CLI, spawnCli } from './support/service-process';
import { startTestService, type TestService } from './support/test-service';

// P2.3 with real kubectl (Debian's kubernetes-client in CI, or any kubectl on PATH): the kubeconfig
// `breakglass kubeconfig` writes, its exec plugin `breakglass credential kubernetes`, and an API
// server stand-in that authenticates the token the way kube-apiserver's OIDC authenticator does.

const run = promisify(execFile);
const scratch = () => mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'kubectl-'));

const policy = (server: string, ca: string) => `
roles: { engineer: [oncall], security: [security-team] }
targets:
  - name: prod-admin
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: ['breakglass:cluster-admin'] }
    kubernetes: { cluster: prod, server: '${server}', certificateAuthorityData: '${ca}' }
  - name: prod-legacy
    environment: production
    credential: { type: jwt, audience: kubernetes, algorithm: EdDSA }
    kubernetes: { cluster: prod, server: '${server}', certificateAuthorityData: '${ca}' }
  - name: short
    environment: production
    credential: { type: jwt, audience: kubernetes, algorithm: ES256 }
    kubernetes: { cluster: prod, server: '${server}', certificateAuthorityData: '${ca}' }
`;

describe('kubectl through breakglass', () => {
  // Each test runs the CLI and kubectl a dozen times; on a loaded 2-core machine a start can take seconds.
  jest.setTimeout(90_000);
  let sut: TestService;
  let apiServer: KubeApiServerStandIn;
  let engineer: string;
  let home: string;
  let bin: string;

  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawnCli(args, { BREAKGLASS_HOME: home, BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: engineer, HOME: home, ...env });
    const code = await child.exited;
    return { code, output: child.output() };
  };
  const request = async (target: string, durationSeconds = 600) => {
    const { code, output } = await cli([
      '--json',
      'request',
      '--target',
      target,
      '--incident',
      'INC-4821',
      '--reason',
      'Checkout pods crash-looping; need logs',
      '--duration',
      `${durationSeconds}s`,
    ]);
    expect(code).toBe(0);
    return JSON.parse(output) as { id: string; expiresAt: string; credential: { token: string; kubernetes: { username: string } } };
  };
  /** kubectl with `breakglass` on its PATH (the exec plugin command) and a private HOME (cache). */
  const kubectl = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      const { stdout, stderr } = await run('kubectl', args, {
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, BREAKGLASS_HOME: home, BREAKGLASS_TOKEN: engineer, BREAKGLASS_URL: sut.url, ...env },
        timeout: 60000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  };

  beforeAll(async () => {
    home = scratch();
    bin = scratch();
    writeFileSync(path.join(bin, 'breakglass'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(path.join(bin, 'breakglass'), 0o755);
    apiServer = new KubeApiServerStandIn({ audience: 'kubernetes', usernamePrefix: 'breakglass:', pods: ['checkout-7d9f-abcde', 'payments-5c4b-fghij'] });
    const { url, certificateAuthorityData } = await apiServer.start();
    const port = await freePort();
    sut = await startTestService({ policyYaml: policy(url, certificateAuthorityData), env: { PORT: String(port) } });
    apiServer.issuer = sut.config.publicUrl;
    engineer = await sut.token('oncall-1', ['engineer']);
  });
  afterAll(async () => {
    await sut.close();
    await apiServer.stop();
  });

  it('request prints the next command; kubectl get pods works while the grant is active and fails after revoke', async () => {
    const human = await cli([
      'request',
      '--target',
      'prod-admin',
      '--incident',
      'INC-4821',
      '--reason',
      'Checkout pods crash-looping; need logs',
      '--duration',
      '10m',
    ]);
    expect(human.code).toBe(0);
    const id = /Glass broken: (BG-\S+)/.exec(human.output)![1];
    expect(human.output).toContain(`breakglass kubeconfig ${id} --merge && kubectl get pods`);
    expect(human.output).toContain('sees you as breakglass:oncall-1');

    const file = path.join(scratch(), 'kubeconfig');
    expect((await cli(['kubeconfig', id, '--out', file])).code).toBe(0);
    const written = parseYaml(readFileSync(file, 'utf8'));
    expect(written['current-context']).toBe(`prod-admin-${id}`);
    expect(written.users[0].user.exec).toMatchObject({ command: 'breakglass', args: ['credential', 'kubernetes', id] });
    expect(JSON.stringify(written)).not.toMatch(/eyJ/); // no token in the file: kubectl asks the plugin

    const pods = await kubectl(['--kubeconfig', file, 'get', 'pods']);
    expect(pods.stderr).toBe('');
    expect(pods.code).toBe(0);
    expect(pods.stdout).toMatch(/checkout-7d9f-abcde/);
    expect(pods.stdout).toMatch(/payments-5c4b-fghij/);
    const seen = apiServer.authenticated.filter((r) => r.path === '/api/v1/namespaces/default/pods').at(-1)!;
    expect(seen).toMatchObject({ username: 'breakglass:oncall-1', groups: ['breakglass:cluster-admin'], extra: { 'breakglass.io/grant': [id] } });

    await sut.http
      .post(`/v1/grants/${id}/revoke`)
      .set('Authorization', `Bearer ${await sut.token('sec-1', ['security'])}`)
      .send({ reason: 'Incident closed; access no longer needed' })
      .expect(200);
    const after = await kubectl(['--kubeconfig', file, 'get', 'pods']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(new RegExp(`${id} was revoked by sec-1 at \\S+: Incident closed; access no longer needed — request a new grant`));
    expect(after.stderr).toContain('breakglass request --target prod-admin');
  });

  it('the plugin answers in the apiVersion KUBERNETES_EXEC_INFO asks for, v1 when unset, and refuses after expiry', async () => {
    const grant = await request('short');
    for (const [info, apiVersion] of [
      [undefined, 'client.authentication.k8s.io/v1'],
      ['{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}', 'client.authentication.k8s.io/v1beta1'],
      ['{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}', 'client.authentication.k8s.io/v1'],
    ] as const) {
      const { code, output } = await cli(['credential', 'kubernetes', grant.id], info ? { KUBERNETES_EXEC_INFO: info } : {});
      expect(code).toBe(0);
      expect(JSON.parse(output)).toEqual({
        apiVersion,
        kind: 'ExecCredential',
        spec: { interactive: false },
        status: {
          token: grant.credential.token,
          expirationTimestamp: new Date(Math.floor(Date.parse(grant.expiresAt) / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
        },
      });
    }
    const unknown = await cli(['credential', 'kubernetes', grant.id], { KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v2"}' });
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('asks for client.authentication.k8s.io/v2');

    // A v1beta1 kubeconfig (what an older kubectl needs) works the same with this kubectl.
    const file = path.join(scratch(), 'kubeconfig');
    expect((await cli(['kubeconfig', grant.id, '--out', file, '--exec-api-version', 'client.authentication.k8s.io/v1beta1'])).code).toBe(0);
    expect((await kubectl(['--kubeconfig', file, 'get', 'pods', '-o', 'name'])).stdout).toContain('pod/checkout-7d9f-abcde');

    const brief = await request('short', 2);
    const briefFile = path.join(scratch(), 'kubeconfig');
    expect((await cli(['kubeconfig', brief.id, '--out', briefFile])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(brief.expiresAt) - Date.now()) + 100));
    const expired = await cli(['credential', 'kubernetes', brief.id]);
    expect(expired.code).toBe(1);
    expect(expired.output).toContain(`${brief.id} expired at ${brief.expiresAt} — request a new grant`);
    const refused = await kubectl(['--kubeconfig', briefFile, 'get', 'pods']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('request a new grant');
  });

  it('the exec plugin starts without loading the service (kubectl runs it before every call)', async () => {
    const grant = await request('short');
    const dir = scratch();
    const loaded = path.join(dir, 'loaded.json');
    const hook = path.join(dir, 'list-modules.js');
    writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const { code } = await cli(['credential', 'kubernetes', grant.id], { NODE_OPTIONS: `--require ${hook}` });
    expect(code).toBe(0);
    const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    expect(modules.some((file) => file.endsWith(path.join('dist', 'src', 'cli', 'main.js')))).toBe(true);
    const heavy = modules.filter((file) => /node_modules\/(@nestjs|typeorm|class-validator|pg)\/|dist\/src\/(service|app\.module)\.js/.test(file));
    expect(heavy).toEqual([]);
  });

  it('an EdDSA token is refused by the API server, as kube-apiserver refuses it', async () => {
    const grant = await request('prod-legacy');
    const file = path.join(scratch(), 'kubeconfig');
    expect((await cli(['kubeconfig', grant.id, '--out', file])).code).toBe(0);
    const result = await kubectl(['--kubeconfig', file, 'get', 'pods']);
    expect(result.code).not.toBe(0);
    expect(apiServer.refused.at(-1)!.reason).toMatch(/alg/i);
  });

  it('--merge adds the context to the kubeconfig and keeps what was there', async () => {
    const kubeDir = scratch();
    const existing = path.join(kubeDir, 'config');
    writeFileSync(
      existing,
      [
        '# the team kubeconfig',
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: staging',
        '    cluster: { server: "https://staging.example.com" }',
        'users:',
        '  - name: me',
        '    user: { token: not-a-real-token }',
        'contexts:',
        '  - name: staging',
        '    context: { cluster: staging, user: me }',
        'current-context: staging',
        'preferences: {}',
        '',
      ].join('\n'),
    );
    const grant = await request('prod-admin');
    const first = await cli(['kubeconfig', grant.id, '--merge'], { KUBECONFIG: `${existing}${path.delimiter}/nonexistent/other` });
    expect(first.code).toBe(0);
    expect(first.output).toContain('Switch back with: kubectl config use-context staging');
    // A second merge replaces the grant's entries rather than adding them twice.
    expect((await cli(['kubeconfig', grant.id, '--merge'], { KUBECONFIG: existing })).code).toBe(0);
    const text = readFileSync(existing, 'utf8');
    expect(text).toContain('# the team kubeconfig');
    const merged = parseYaml(text);
    expect(merged.clusters.map((c: { name: string }) => c.name)).toEqual(['staging', 'breakglass-prod']);
    expect(merged.users.map((u: { name: string }) => u.name)).toEqual(['me', `breakglass-${grant.id}`]);
    expect(merged.users[0].user.token).toBe('not-a-real-token');
    expect(merged.contexts.map((c: { name: string }) => c.name)).toEqual(['staging', `prod-admin-${grant.id}`]);
    expect(merged['current-context']).toBe(`prod-admin-${grant.id}`);
    const pods = await kubectl(['get', 'pods', '-o', 'name'], { KUBECONFIG: existing });
    expect(pods.stdout).toContain('pod/payments-5c4b-fghij');
    const staging = await kubectl(['config', 'get-contexts', '-o', 'name'], { KUBECONFIG: existing });
    expect(staging.stdout.split('\n')).toEqual(expect.arrayContaining(['staging', `prod-admin-${grant.id}`]));
  });
});
