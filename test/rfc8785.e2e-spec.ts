import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AuditLog } from '../src/audit/audit-log.service';
import { canonicalJson } from '../src/audit/chain';
import { startTestService, type TestService } from './support/test-service';

// The official RFC 8785 vectors (test/fixtures/rfc8785, with their source) through every
// canonicalizer of the project: the service's, and the auditors' Python one (examples/jcs.py) that
// verify-audit.py and verify-session.py use.

const run = promisify(execFile);
const VECTORS = path.join(__dirname, 'fixtures/rfc8785');
const names = readdirSync(path.join(VECTORS, 'input')).filter((file) => file.endsWith('.json'));
const expected = (name: string) => readFileSync(path.join(VECTORS, 'output', name));
const EXAMPLES = path.resolve(__dirname, '../examples');

describe('RFC 8785 canonicalization, official vectors', () => {
  it('has the six vectors', () => expect(names.sort()).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']));

  it.each(names)('the service canonicalizes %s byte for byte', (name) => {
    const input = JSON.parse(readFileSync(path.join(VECTORS, 'input', name), 'utf8'));
    expect(Buffer.from(canonicalJson(input), 'utf8').equals(expected(name))).toBe(true);
  });

  it.each(names)("the auditors' Python canonicalizer does %s byte for byte", async (name) => {
    const script = `import json, sys\nsys.path.insert(0, ${JSON.stringify(EXAMPLES)})\nfrom jcs import canon\nsys.stdout.buffer.write(canon(json.load(open(sys.argv[1], encoding="utf-8"))).encode("utf-8"))`;
    const { stdout } = await run('python3', ['-c', script, path.join(VECTORS, 'input', name)], { encoding: 'buffer' });
    expect(Buffer.from(stdout).equals(expected(name))).toBe(true);
  });
});

describe('verify-audit.py over keys beyond the Basic Multilingual Plane', () => {
  let sut: TestService;
  beforeAll(async () => {
    sut = await startTestService();
  });
  afterAll(() => sut.close());

  it('recomputes events whose data keys sort differently by code point and by UTF-16 code unit', async () => {
    // U+E000 sorts after U+1F602 by code point but before it by UTF-16 code unit (0xD83D).
    const data = { '\ue000': 'private use', '😂': 'smiley', a: { '\uffff': 1, '𝄞': 2 } };
    expect(canonicalJson(data)).toBe('{"a":{"𝄞":2,"\uffff":1},"😂":"smiley","\ue000":"private use"}');
    await sut.dataSource.transaction((tx) => sut.app.get(AuditLog).append(tx, { actor: 'system:test', action: 'evidence.exported', data }));
    const auditor = await sut.token('auditor-1', ['compliance']);
    const { stdout } = await run('python3', [path.join(EXAMPLES, 'verify-audit.py')], {
      env: { ...process.env, BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: auditor },
    });
    const verification = await sut.app.get(AuditLog).verify();
    expect(JSON.parse(stdout)).toEqual({ valid: true, count: verification.count, headHash: verification.headHash });
  });
});
