import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
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
    // 100,000 entries take the integrator a while on a loaded machine; the export answers 503
    // audit_sequencing_behind after 5 s of waiting, which is not what this test is about.
    await auditLog.settled(90_000);
  }, 180_000);
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
        // Fail at once on an error answer instead of waiting out the test's timeout.
        if (res.statusCode !== 200) return reject(new Error(`export answered ${res.statusCode}`));
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
  }, 240_000); // 100,000 events through a paused reader: over a minute on a loaded 2-core machine

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
      .slice(1)
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
    expect(rows.length - 1).toBeGreaterThan(100_000 * 0.99);
    // Pure CSV, read by Python's csv module: every row has the header's columns, no trailer line.
    const dir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'csv-'));
    writeFileSync(path.join(dir, 'export.csv'), csv.text);
    const { stdout } = await promisify(execFile)('python3', [
      '-c',
      'import csv, json, sys; rows = list(csv.reader(open(sys.argv[1], newline=""))); print(json.dumps({"rows": len(rows), "widths": sorted({len(r) for r in rows}), "last": rows[-1][9]}))',
      path.join(dir, 'export.csv'),
    ]);
    const read = JSON.parse(stdout);
    expect(read).toMatchObject({ rows: rows.length, widths: [10] });
    // The chain head at the start of the export is in the header, and covers the last row.
    const [headSeq, headHash] = String(csv.headers['x-breakglass-chain-head']).split(':');
    const lastSeq = Number(csvCells(rows.at(-1)!)[0]);
    expect(Number(headSeq)).toBeGreaterThanOrEqual(lastSeq);
    expect(headHash).toMatch(/^[0-9a-f]{64}$/);
    if (Number(headSeq) === lastSeq) expect(headHash).toBe(read.last);
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

describe('breakglass evidence verify-export', () => {
  jest.setTimeout(60_000);
  it('verifies a JSONL export offline with the log key; a cut tail, an altered field or a foreign checkpoint fail', async () => {
    const { spawnCli } = await import('./support/service-process');
    const sut = await startTestService({
      policyYaml: `audit:\n  checkpoint: { interval: 1s }\ntargets:\n  - name: cluster\n    environment: production\n    credential: { type: jwt, audience: kubernetes }\n`,
    });
    const dir = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'export-'));
    const file = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    try {
      const engineer = await sut.token('oncall-1', ['engineer']);
      const compliance = await sut.token('auditor-1', ['compliance']);
      for (let i = 0; i < 3; i++)
        await sut.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'cluster', incident: `INC-${900 + i}`, reason: 'Events for an offline export check' })
          .expect(201);
      const head = await sut.app.get(AuditLog).head();
      for (let i = 0; i < 80; i++) {
        const checkpoint = await sut.http.get('/v1/audit/checkpoint').expect((r) => [200, 404].includes(r.status));
        if (checkpoint.status === 200 && Number(checkpoint.text.split('\n')[1]) >= head.seq) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const exported = (await sut.http.get(`/v1/evidence/export?to=${new Date().toISOString()}`).set('Authorization', `Bearer ${compliance}`).expect(200)).text;
      const logKey = (await sut.http.get('/v1/audit/log-key').expect(200)).text.trim();
      const run = async (path_: string) => {
        const cli = spawnCli(['--json', 'evidence', 'verify-export', path_, '--log-key', logKey], {});
        return { code: await cli.exited, verdict: JSON.parse(cli.stdout() || '{}') };
      };
      const good = await run(file('good.jsonl', exported));
      expect(good).toMatchObject({ code: 0, verdict: { valid: true, segments: 1, trailer: 'matches', checkpoint: 'valid' } });
      expect(good.verdict.count).toBeGreaterThanOrEqual(head.seq);

      const lines = exported.trim().split('\n');
      const events = lines.filter((line) => !JSON.parse(line).type);
      const cut = [...events.slice(0, -1), ...lines.slice(events.length)].join('\n');
      expect((await run(file('cut.jsonl', cut))).verdict).toMatchObject({ valid: false, trailer: 'differs' });
      const altered = lines.map((line, i) => (i === 1 ? line.replace('"actor":"oncall-1"', '"actor":"someone-else"') : line)).join('\n');
      expect(altered).not.toBe(exported.trim());
      expect((await run(file('altered.jsonl', altered))).verdict).toMatchObject({ valid: false, firstInvalidSeq: 2 });
      // A key of the same name that is not the log's: its checkpoint signature does not hold.
      const { verifierKey } = await import('../src/transparency/signed-note');
      const stranger = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
      const foreignKey = verifierKey(logKey.split('+')[0], Buffer.from(stranger, 'base64url'));
      const foreign = spawnCli(['--json', 'evidence', 'verify-export', file('good2.jsonl', exported), '--log-key', foreignKey], {});
      expect(await foreign.exited).toBe(2);
      expect(JSON.parse(foreign.stdout())).toMatchObject({ valid: false, checkpoint: 'invalid' });
    } finally {
      await sut.close();
    }
  });
});
