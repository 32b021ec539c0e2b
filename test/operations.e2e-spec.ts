import { spawnSync } from 'node:child_process';
import { startTestService, type TestService } from './support/test-service';
import { hasTool } from './support/tools';

describe('operations surface', () => {
  let sut: TestService;

  beforeAll(async () => {
    sut = await startTestService();
  });
  afterAll(() => sut.close());

  it('answers liveness and readiness without a token', async () => {
    await sut.http.get('/healthz').expect(200, { status: 'ok' });
    const ready = await sut.http.get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', pgProxy: 'ok', auditSequencer: 'ok' } });
  });

  it('reports not ready when a migration is missing', async () => {
    // TypeORM answers a DELETE … RETURNING as [rows, affectedCount].
    const [[removed]] = await sut.dataSource.query(`DELETE FROM migrations WHERE name = 'AuditLog1764000000000' RETURNING timestamp, name`);
    try {
      const ready = await sut.http.get('/readyz').expect(503);
      expect(ready.body.checks.migrations).toBe('pending: AuditLog1764000000000');
    } finally {
      await sut.dataSource.query(`INSERT INTO migrations (timestamp, name) VALUES ($1, $2)`, [removed.timestamp, removed.name]);
    }
    await sut.http.get('/readyz').expect(200);
  });

  it('echoes a caller request id, or makes one, in X-Request-Id and the error body', async () => {
    const echoed = await sut.http.get('/v1/targets').set('X-Request-Id', 'trace-abc.123').expect(401);
    expect(echoed.headers['x-request-id']).toBe('trace-abc.123');
    expect(echoed.body.requestId).toBe('trace-abc.123');

    const hostile = await sut.http.get('/healthz').set('X-Request-Id', 'bad id\twith "quotes"').expect(200);
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers every error in the one JSON shape with a machine code', async () => {
    const missing = await sut.http.get('/v1/nothing-here').expect(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.any(String), requestId: expect.any(String) });

    const token = await sut.token('auditor-1', ['compliance']);
    const invalid = await sut.http.get('/v1/audit?limit=5000&bogus=1').set('Authorization', `Bearer ${token}`).expect(400);
    expect(invalid.body.error).toBe('validation_failed');
    expect(invalid.body.details).toEqual(
      expect.arrayContaining([
        { field: 'limit', problems: [expect.stringMatching(/must not be greater than 1000/)] },
        { field: 'bogus', problems: ['property bogus should not exist'] },
      ]),
    );

    const malformed = await sut.http
      .post('/v1/targets')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send('{"target": ')
      .expect(400);
    expect(malformed.body.error).toBe('malformed_json');

    const engineer = await sut.token('oncall-1', ['engineer']);
    const nul = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'prod-cluster', incident: 'INC-1', reason: 'reason with a \u0000 inside it', durationSeconds: 60 })
      .expect(400);
    expect(nul.body).toMatchObject({ error: 'validation_failed', details: [{ field: 'reason', problems: ['must not contain NUL characters'] }] });
    const surrogate = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .set('content-type', 'application/json')
      .send('{"target":"prod-cluster","role":"\\ud800"}')
      .expect(400);
    expect(surrogate.body.details).toEqual([{ field: 'role', problems: ['must be valid Unicode (it holds a lone surrogate)'] }]);

    const huge = await sut.http
      .post('/v1/targets')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) }))
      .expect(413);
    expect(huge.body.error).toBe('payload_too_large');
  });

  it('lists targets with effective limits and never their connection secrets', async () => {
    const token = await sut.token('oncall-1', ['engineer']);
    const { body } = await sut.http.get('/v1/targets').set('Authorization', `Bearer ${token}`).expect(200);
    expect(body.next).toBeNull();
    const payments = body.targets.find((t: { name: string }) => t.name === 'payments-db');
    expect(payments).toMatchObject({
      environment: 'production',
      credentialType: 'postgres',
      maxDurationSeconds: 7200, // target override of the 1h default
      maxTotalDurationSeconds: 14400, // inherited from defaults
      reasonMinLength: 20,
      retroPr: { windowSeconds: 86400, satisfiedBy: 'opened', repo: 'acme/infra' },
      controls: expect.arrayContaining(['SOC2:CC8.1', 'PCI-DSS-4.0:6.5.1']),
    });
    expect(JSON.stringify(body)).not.toMatch(/adminUrl|embedded|postgres:\/\//);
  });

  it('exposes Prometheus metrics with HTTP and audit counters', async () => {
    const { text, headers } = await sut.http.get('/metrics').expect(200);
    expect(headers['content-type']).toMatch(/^text\/plain/);
    expect(text).toMatch(/breakglass_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/breakglass_audit_events_total\{action="policy.loaded"\} 1/);
    // Only counters end in _total (Prometheus naming; promtool check metrics warns otherwise).
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
    expect(types.length).toBeGreaterThan(10);
    expect(types.filter(({ name, type }) => name.endsWith('_total') && type !== 'counter')).toEqual([]);
    expect(types.map(({ name }) => name)).toEqual(expect.arrayContaining(['breakglass_nodejs_active_handles']));
    // Debian's `prometheus` package brings promtool; where it is installed it must find nothing.
    if (hasTool('promtool', ['--version'])) {
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: promtool.status, output: `${promtool.stdout}${promtool.stderr}`.trim() }).toEqual({ status: 0, output: '' });
    }
  });
});
