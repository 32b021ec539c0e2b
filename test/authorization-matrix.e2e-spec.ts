import { startTestService, type TestService } from './support/test-service';

// docs/api.md's endpoint table, "who" column, as data: every endpoint × every caller, checked for
// 401 / 403 versus let through. "owner" requested the grant in the path; "other" is another engineer.
type Caller = 'owner' | 'other' | 'security' | 'compliance' | 'admin' | 'anonymous';
const CALLERS: Caller[] = ['owner', 'other', 'security', 'compliance', 'admin', 'anonymous'];

interface Endpoint {
  method: 'get' | 'post';
  path: string;
  body?: Record<string, unknown>;
  allowed: Caller[];
  /** Needs a fresh grant per case (the call changes it). */
  mutates?: boolean;
}

const MATRIX: Endpoint[] = [
  { method: 'get', path: '/v1/targets', allowed: ['owner', 'other', 'security', 'compliance', 'admin'] },
  {
    method: 'post',
    path: '/v1/grants',
    body: { target: 'prod-cluster', incident: 'INC-1', reason: 'authorization matrix case', durationSeconds: 60 },
    allowed: ['owner', 'other'],
  },
  { method: 'get', path: '/v1/grants', allowed: ['owner', 'other', 'security', 'compliance'] },
  { method: 'get', path: '/v1/grants/:id', allowed: ['owner', 'security', 'compliance'] },
  { method: 'post', path: '/v1/grants/:id/extend', body: { durationSeconds: 60, reason: 'authorization matrix case' }, allowed: ['owner'], mutates: true },
  { method: 'post', path: '/v1/grants/:id/revoke', body: { reason: 'authorization matrix' }, allowed: ['owner', 'security', 'admin'], mutates: true },
  { method: 'post', path: '/v1/credentials/introspect', body: { token: 'x' }, allowed: ['owner', 'other', 'security', 'compliance', 'admin'] },
  { method: 'get', path: '/v1/grants/:id/events', allowed: ['owner', 'security', 'compliance'] },
  { method: 'get', path: '/v1/grants/:id/events/verify', allowed: ['security', 'compliance'] },
  { method: 'post', path: '/v1/grants/:id/reviews', body: { outcome: 'approved', notes: 'matrix' }, allowed: ['security'], mutates: true },
  {
    method: 'post',
    path: '/v1/grants/:id/pull-requests',
    body: { url: 'https://github.com/acme/infra/pull/1' },
    allowed: ['owner', 'security'],
    mutates: true,
  },
  { method: 'get', path: '/v1/sla', allowed: ['security', 'compliance'] },
  { method: 'post', path: '/v1/sla/:clock/waive', body: { reason: 'authorization matrix case' }, allowed: ['compliance'], mutates: true },
  { method: 'get', path: '/v1/audit', allowed: ['security', 'compliance'] },
  { method: 'get', path: '/v1/audit/verify', allowed: ['security', 'compliance'] },
  { method: 'get', path: '/v1/grants/:id/evidence', allowed: ['security', 'compliance'] },
  { method: 'get', path: '/v1/evidence/export', allowed: ['compliance'] },
  { method: 'get', path: '/v1/reports/compliance', allowed: ['compliance'] },
  { method: 'post', path: '/v1/keys/rotate', allowed: ['admin'] },
  // POST /v1/drills/:name/run (admin) runs a whole drill: test/drills.e2e-spec.ts checks who may.
  { method: 'get', path: '/v1/drills', allowed: ['security', 'compliance', 'admin'] },
  { method: 'get', path: '/v1/me', allowed: ['owner', 'other', 'security', 'compliance', 'admin'] },
  { method: 'get', path: '/v1/grants/:id/pull-requests', allowed: ['owner', 'security', 'compliance'] },
  { method: 'get', path: '/v1/grants/:id/notifications', allowed: ['owner', 'security', 'compliance'] },
  { method: 'post', path: '/v1/grants/:id/gitops/paused', allowed: ['owner', 'security'] },
  { method: 'post', path: '/v1/grants/:id/gitops/resumed', allowed: ['owner', 'security'] },
];

describe('authorization matrix (docs/api.md endpoint table)', () => {
  let sut: TestService;
  const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>;
  let sharedGrant: string;

  const newGrant = async () =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${tokens.owner}`)
        .send({ target: 'prod-cluster', incident: 'INC-1', reason: 'authorization matrix grant', durationSeconds: 600 })
        .expect(201)
    ).body.id as string;

  beforeAll(async () => {
    sut = await startTestService();
    tokens.owner = await sut.token('owner', ['engineer']);
    tokens.other = await sut.token('other', ['engineer']);
    tokens.security = await sut.token('sec', ['security']);
    tokens.compliance = await sut.token('comp', ['compliance']);
    tokens.admin = await sut.token('adm', ['admin']);
    sharedGrant = await newGrant();
  });
  afterAll(() => sut.close());

  const cases = MATRIX.flatMap((endpoint) => CALLERS.map((caller) => [`${endpoint.method.toUpperCase()} ${endpoint.path}`, caller, endpoint] as const));

  it.each(cases)('%s as %s', async (_name, caller, endpoint) => {
    const grant = endpoint.mutates ? await newGrant() : sharedGrant;
    let path = endpoint.path.replace(':id', grant);
    if (path.includes(':clock')) {
      const clocks = (await sut.http.get(`/v1/sla?grant=${grant}&kind=retro_pr`).set('Authorization', `Bearer ${tokens.compliance}`).expect(200)).body.clocks;
      path = path.replace(':clock', clocks[0].id);
    }
    let call = sut.http[endpoint.method](path);
    if (caller !== 'anonymous') call = call.set('Authorization', `Bearer ${tokens[caller]}`);
    const { status, body } = await (endpoint.body ? call.send(endpoint.body) : call);
    if (caller === 'anonymous') expect(status).toBe(401);
    // Allowed means served: a 2xx, never a refusal and never a 500 that happens to get past the checks.
    else if (endpoint.allowed.includes(caller))
      expect({ status: Math.floor(status / 100) * 100, error: body?.error }).toEqual({ status: 200, error: undefined });
    else expect({ status, error: body.error }).toEqual({ status: 403, error: expect.stringMatching(/^(forbidden_role|not_your_grant|own_grant_review)$/) });
  });
});
