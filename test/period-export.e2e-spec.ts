import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { AuditLog } from '../src/audit/audit-log.service';
import { AuditRepository } from '../src/audit/audit.repository';
import { startTestService, type TestService } from './support/test-service';

function jcs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${jcs((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}
/** RFC 4180 cells of one row, read independently of the exporter's code. */
function csvCells(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const char = row[i];
    if (quoted && char === '"' && row[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += char;
  }
  return [...cells, cell];
}
const FIELDS = ['seq', 'at', 'actor', 'action', 'grant', 'target', 'data', 'controls'];

describe('period export', () => {
  jest.setTimeout(120_000);
  let sut: TestService;
  let compliance: string;

  beforeAll(async () => {
    sut = await startTestService();
    compliance = await sut.token('auditor-1', ['compliance']);
    const auditLog = sut.app.get(AuditLog);
    for (let batch = 0; batch < 100; batch++) {
      await sut.dataSource.transaction((tx) =>
        auditLog.append(
          tx,
          ...Array.from({ length: 1000 }, (_, i) => ({
            actor: `oncall-${i % 7}`,
            action: (i % 10 === 0 ? 'grant.denied' : 'grant.requested') as 'grant.requested',
            target: 'prod-cluster',
            data: { batch, i, note: 'x'.repeat(200) },
          })),
        ),
      );
    }
  });
  afterAll(() => sut.close());

  it('streams 100,000 events with bounded memory; every hash recomputes and the trailer gives the head', async () => {
    // Count the rows the server has taken from its cursor, to see it stop while the reader pauses.
    const repository = sut.app.get(AuditRepository, { strict: false });
    const original = repository.stream.bind(repository);
    let emitted = 0;
    jest.spyOn(repository, 'stream').mockImplementation((filter, emit, fetchSize) => original(filter, (event) => (emitted++, emit(event)), fetchSize));
    let emittedWhilePaused = -1;
    const url = new URL(`${sut.url}/v1/evidence/export?format=jsonl`);
    let prev: string | null = null;
    let lines = 0;
    let trailer: Record<string, unknown> | undefined;
    let checkpointLine: Record<string, unknown> | undefined;
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: { authorization: `Bearer ${compliance}` } }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/ndjson/);
        let partial = '';
        res.setEncoding('utf8');
        res.once('data', () => {
          res.pause();
          setTimeout(() => {
            emittedWhilePaused = emitted;
            res.resume();
          }, 1500);
        });
        res.on('data', (chunk: string) => {
          bytes += chunk.length;
          const parts = (partial + chunk).split('\n');
          partial = parts.pop()!;
          for (const line of parts) {
            const record = JSON.parse(line);
            if (record.type === 'chain-head') {
              trailer = record;
              continue;
            }
            if (record.type === 'checkpoint') {
              checkpointLine = record;
              continue;
            }
            lines++;
            if (prev !== null) expect(record.prevHash).toBe(prev);
            const fields = Object.fromEntries(FIELDS.map((f) => [f, record[f]]));
            prev = createHash('sha256')
              .update(`${record.prevHash}\n${jcs(fields)}`)
              .digest('hex');
            expect(record.hash).toBe(prev);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(lines).toBeGreaterThanOrEqual(100_001); // + policy.loaded
    expect(trailer).toMatchObject({ type: 'chain-head', count: lines, lastHash: prev, globalHead: { hash: prev } });
    // The export ends with the checkpoint covering it (none yet: the tree is still catching up with 100,000 events).
    expect(checkpointLine).toMatchObject({ type: 'checkpoint', covers: trailer!.lastSeq });
    // ~30 MB of JSON in all; while the reader paused, the server held back after filling the socket
    // buffers instead of reading the whole range into memory.
    expect(bytes).toBeGreaterThan(30_000_000);
    expect(emittedWhilePaused).toBeGreaterThan(0);
    expect(emittedWhilePaused).toBeLessThan(30_000);
    expect(emitted).toBe(lines);
  });

  it('neutralises formula prefixes in every CSV cell (OWASP CSV injection)', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const hostile = ['=HYPERLINK("https://evil.example","open")', '+1+1', '-2+3', '@SUM(A1:A9)', '\tcmd', '\r=1'];
    await sut.dataSource.transaction((tx) =>
      sut.app.get(AuditLog).append(tx, ...hostile.map((actor) => ({ actor, action: 'grant.requested' as const, target: '=target', data: { note: '=1+1' } }))),
    );
    const csv = (await sut.http.get(`/v1/evidence/export?format=csv&from=${since}`).set('Authorization', `Bearer ${compliance}`).expect(200)).text;
    const rows = csv
      .trim()
      .split('\n')
      .slice(1, -1)
      .filter((row) => row.includes('=1+1'));
    expect(rows).toHaveLength(hostile.length);
    for (const [i, row] of rows.entries()) {
      const [, , actor, , , target, , data] = csvCells(row);
      expect(actor).toBe(`'${hostile[i]}`);
      expect(target).toBe("'=target");
      expect(JSON.parse(data)).toEqual({ note: '=1+1' }); // inside JSON, not at a cell's start
    }
  });

  it('filters by control and time, offers CSV, and audits the export', async () => {
    const csv = await sut.http.get('/v1/evidence/export?format=csv&control=PCI-DSS-4.0:7.2').set('Authorization', `Bearer ${compliance}`).expect(200);
    const rows = csv.text.trim().split('\n');
    expect(rows[0]).toBe('seq,at,actor,action,grant,target,controls,data,prevHash,hash');
    expect(rows.length - 2).toBeGreaterThan(100_000 * 0.99);
    expect(rows.at(-2)).toMatch(/^# \{"type":"chain-head"/);
    expect(rows.at(-1)).toMatch(/^# \{"type":"checkpoint"/);
    const future = await sut.http
      .get(`/v1/evidence/export?from=${new Date(Date.now() + 60_000).toISOString()}`)
      .set('Authorization', `Bearer ${compliance}`)
      .expect(200);
    const [futureHead, futureCheckpoint] = future.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(futureHead).toMatchObject({ type: 'chain-head', count: 0 });
    expect(futureCheckpoint).toEqual({ type: 'checkpoint', covers: null, treeSize: null, rootHash: null, at: null, note: null });
    await sut.http
      .get('/v1/evidence/export')
      .set('Authorization', `Bearer ${await sut.token('sec', ['security'])}`)
      .expect(403);
    const exported = (await sut.http.get('/v1/audit?action=evidence.exported').set('Authorization', `Bearer ${compliance}`).expect(200)).body.events;
    expect(exported.map((e: { data: { kind: string; format: string } }) => `${e.data.kind}/${e.data.format}`)).toEqual(
      expect.arrayContaining(['period/jsonl', 'period/csv']),
    );
  });
});
