import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ResponseContract } from './support/response-contract';
import { startTestService, type TestService } from './support/test-service';

// One API contract: the OpenAPI document the service serves is the one checked in (docs/openapi.json),
// the types the dashboard and the CLI build against are generated from it (src/api-contract/openapi.ts),
// every operation declares its answer, and every suite's answers are checked against it
// (test/support/response-contract.ts).

const root = join(__dirname, '..');
type Document = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
};

describe('API contract', () => {
  let sut: TestService;
  let document: Document;

  beforeAll(async () => {
    sut = await startTestService();
    document = (await sut.http.get('/openapi.json').expect(200)).body;
  });
  afterAll(() => sut.close());

  it('publishes an OpenAPI document that validates (swagger-parser: schema and references)', async () => {
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toMatchObject({ openapi: (document as { openapi?: string }).openapi });
  });

  it('declares a JSON (or text) answer for every operation, and the error shape as the default', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(25);
    const undeclared = operations.filter(
      ({ operation }) => !Object.entries(operation.responses).some(([status, response]) => /^2/.test(status) && response.content),
    );
    expect(undeclared.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const withoutErrorShape = operations.filter(
      ({ operation }) => operation.responses.default?.content?.['application/json']?.schema?.$ref !== '#/components/schemas/ErrorBody',
    );
    expect(withoutErrorShape.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it('is the document checked in as docs/openapi.json (run npm run api:contract after changing a DTO)', () => {
    expect(JSON.parse(readFileSync(join(root, 'docs/openapi.json'), 'utf8'))).toEqual(document);
  });

  it('has generated the TypeScript types the dashboard and the CLI use from that document', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'api-contract-'));
    try {
      const generated = join(scratch, 'openapi.ts');
      execFileSync(join(root, 'node_modules/.bin/openapi-typescript'), [join(root, 'docs/openapi.json'), '--output', generated], { stdio: 'pipe' });
      expect(readFileSync(generated, 'utf8')).toBe(readFileSync(join(root, 'src/api-contract/openapi.ts'), 'utf8'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('gives the create answer the fields of the read view, with the secret credential and the session token', () => {
    const { GrantCreated, GrantView } = document.components.schemas;
    expect(Object.keys(GrantCreated.properties!).sort()).toEqual([...Object.keys(GrantView.properties!), 'sessionToken'].sort());
    expect(GrantCreated.properties!.credential).toEqual({ oneOf: expect.any(Array), description: expect.any(String) });
    expect(GrantView.properties!.credential).toMatchObject({ nullable: true, allOf: [{ $ref: '#/components/schemas/CredentialSummary' }] });
  });

  it('documents every OpenAPI operation in docs/api.md', () => {
    const reference = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(operations.filter((operation) => !reference.includes(`\`${operation}\``))).toEqual([]);
  });

  it('publishes the OpenAPI document and its UI', async () => {
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/audit', '/v1/audit/verify', '/v1/targets']));
    expect((document.paths['/v1/audit'].get as unknown as { parameters: { name: string }[] }).parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'after', 'from', 'to', 'grant', 'control', 'action']),
    );
    const ui = await sut.http.get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it('checks every answer of a test service against the document', async () => {
    const before = sut.contract.checked;
    const token = await sut.token('contract-alice', ['engineer']);
    await sut.http.get('/v1/targets').set('Authorization', `Bearer ${token}`).expect(200);
    await sut.http.get('/v1/grants/BG-2026-999999').set('Authorization', `Bearer ${token}`).expect(404);
    expect(sut.contract.checked).toBe(before + 2);
    expect(sut.contract.violations).toEqual([]);
  });

  it('finds an undeclared field, a wrong type, a missing field and an undeclared status', () => {
    const contract = new ResponseContract(document);
    const me = { subject: 'alice', roles: ['engineer'], email: null, grantAccess: { anyGrant: [], ownGrants: ['grant.read'] } };
    contract.check('GET', '/v1/me', 200, me);
    expect(contract.violations).toEqual([]);
    contract.check('GET', '/v1/me', 200, { ...me, password: 'x' });
    contract.check('GET', '/v1/me', 200, { ...me, email: 42 });
    contract.check('GET', '/v1/me', 200, { ...me, grantAccess: { anyGrant: [] } });
    contract.check('GET', '/v1/me', 200, { ...me, roles: ['root'] });
    contract.check('GET', '/v1/me', 418, { statusCode: 418, error: 'teapot', message: 'no', requestId: 'r' });
    contract.check('GET', '/v1/me', 401, { statusCode: 401, message: 'no', requestId: 'r' });
    contract.check('POST', '/v1/me', 200, {});
    expect(contract.violations.map((v) => `${v.status} ${v.problems.join('; ')}`)).toEqual([
      expect.stringContaining('must NOT have additional properties'),
      expect.stringContaining('/email must be'),
      expect.stringContaining("must have required property 'ownGrants'"),
      expect.stringContaining('/roles/0 must be equal to one of the allowed values'),
      // A 418 with the error shape is fine: every error status uses it.
      expect.stringContaining("401 / must have required property 'error'"),
    ]);
  });
});
