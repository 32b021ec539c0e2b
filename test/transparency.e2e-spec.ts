import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { mth, path, rfcLeaf, subproof } from './support/rfc9162';
import { EXAMPLE_POLICY, startTestService, type TestService } from './support/test-service';

// The audit log as a transparency log: checkpoints signed as C2SP signed notes, RFC 9162 proofs for
// checkpointed sizes. Every check here is recomputed with node:crypto, `canonicalize` and the RFC's
// recursive definitions (support/rfc9162.ts), from the API's answers alone.

const POLICY = `${readFileSync(EXAMPLE_POLICY, 'utf8')}\naudit:\n  checkpoint:\n    interval: 1s\n`;
const ORIGIN = 'broker.test.example/breakglass/audit';

type AuditEvent = { seq: number; prevHash: string; hash: string } & Record<string, unknown>;
type CheckpointView = { treeSize: number; rootHash: string; at: string; note: string };

/** leaf = SHA-256(0x00 || canon(e)) over the hashed fields: the event minus prevHash and hash. */
function leafOf(event: AuditEvent): Buffer {
  const { prevHash: _prev, hash: _hash, ...hashed } = event;
  return rfcLeaf(Buffer.from(canonicalize(hashed)!, 'utf8'));
}

/** Verifies a signed note with the vkey, as c2sp.org/signed-note says, and returns its body lines. */
function verifyNote(note: string, vkey: string): string[] | null {
  // The key's base64 may contain '+' too: only the first two separate fields.
  const [name, id, ...rest] = vkey.trim().split('+');
  const key = rest.join('+');
  const raw = Buffer.from(key, 'base64');
  if (raw[0] !== 1 || raw.length !== 33) return null;
  const expectedId = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), raw]))
    .digest()
    .subarray(0, 4);
  if (expectedId.toString('hex') !== id) return null;
  const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]), format: 'der', type: 'spki' });
  const [body, signatures] = [note.slice(0, note.indexOf('\n\n') + 1), note.slice(note.indexOf('\n\n') + 2)];
  for (const line of signatures.trimEnd().split('\n')) {
    const [dash, keyName, signature] = line.split(' ');
    const bytes = Buffer.from(signature ?? '', 'base64');
    if (dash !== '\u2014' || keyName !== name || !bytes.subarray(0, 4).equals(expectedId)) continue;
    if (verify(null, Buffer.from(body), publicKey, bytes.subarray(4))) return body.split('\n').slice(0, -1);
  }
  return null;
}

describe('audit transparency log', () => {
  jest.setTimeout(60_000);
  let sut: TestService;
  let auditor: string;
  const get = (url: string) => sut.http.get(url).set('Authorization', `Bearer ${auditor}`);

  async function events(): Promise<AuditEvent[]> {
    return (await get('/v1/audit?limit=1000').expect(200)).body.events;
  }

  /** Waits (the follower lags a moment, checkpoints every second) for a checkpoint of at least `size` events. */
  async function checkpointCovering(size: number): Promise<CheckpointView> {
    for (const started = Date.now(); Date.now() - started < 20_000; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const { checkpoints } = (await get('/v1/audit/checkpoints?limit=1000').expect(200)).body as { checkpoints: CheckpointView[] };
      const covering = checkpoints.find((c) => c.treeSize >= size);
      if (covering) return covering;
    }
    throw new Error(`no checkpoint of ${size} events within 20 s`);
  }

  async function breakGlass(incident: string) {
    const engineer = await sut.token('oncall-1', ['engineer']);
    await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'prod-cluster', incident, reason: 'Checking the transparency log end to end', durationSeconds: 600 })
      .expect(201);
  }

  beforeAll(async () => {
    sut = await startTestService({ policyYaml: POLICY, env: { BREAKGLASS_LOG_ORIGIN: ORIGIN } });
    auditor = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(() => sut.close());

  it('signs checkpoints as C2SP signed notes that verify with the published vkey, and not once a byte changes', async () => {
    await breakGlass('INC-1');
    const checkpoint = await checkpointCovering((await events()).length);
    // Read after the checkpoint: events committed meanwhile (deliveries) may be in it.
    const all = await events();
    const vkey = (await sut.http.get('/v1/audit/log-key').expect(200)).text;
    expect(vkey).toMatch(new RegExp(`^${ORIGIN.replace(/[.]/g, '\\.')}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{44}\\n$`));

    const body = verifyNote(checkpoint.note, vkey);
    expect(body).toEqual([ORIGIN, String(checkpoint.treeSize), Buffer.from(checkpoint.rootHash, 'hex').toString('base64')]);
    // The root is the RFC 9162 root of the first treeSize events, recomputed here.
    expect(mth(all.slice(0, checkpoint.treeSize).map(leafOf)).toString('hex')).toBe(checkpoint.rootHash);

    for (const at of [0, ORIGIN.length + 1, checkpoint.note.length - 10]) {
      const altered = checkpoint.note.slice(0, at) + String.fromCharCode(checkpoint.note.charCodeAt(at) ^ 1) + checkpoint.note.slice(at + 1);
      expect(verifyNote(altered, vkey)).toBeNull();
    }
    const latest = await get('/v1/audit/checkpoint').expect(200);
    expect(latest.headers['content-type']).toMatch(/^text\/plain/);
    expect(verifyNote(latest.text, vkey)).not.toBeNull();
  });

  it('proves every event included in a checkpoint, and an older checkpoint consistent with a newer one', async () => {
    const first = await checkpointCovering(1);
    await breakGlass('INC-2');
    await breakGlass('INC-3');
    const second = await checkpointCovering((await events()).length);
    const all = await events();
    expect(second.treeSize).toBeGreaterThan(first.treeSize);
    const leaves = all.map(leafOf);

    for (const event of all.slice(0, second.treeSize)) {
      const { body } = await get(`/v1/audit/proofs/inclusion?seq=${event.seq}&treeSize=${second.treeSize}`).expect(200);
      expect(body).toEqual({
        seq: event.seq,
        leafIndex: event.seq - 1,
        treeSize: second.treeSize,
        rootHash: second.rootHash,
        proof: path(event.seq - 1, leaves.slice(0, second.treeSize)).map((h) => h.toString('hex')),
      });
    }
    const { body: consistency } = await get(`/v1/audit/proofs/consistency?from=${first.treeSize}&to=${second.treeSize}`).expect(200);
    expect(consistency).toEqual({
      from: first.treeSize,
      to: second.treeSize,
      proof: subproof(first.treeSize, leaves.slice(0, second.treeSize), true).map((h) => h.toString('hex')),
    });
    expect((await get(`/v1/audit/proofs/consistency?from=${second.treeSize}&to=${second.treeSize}`).expect(200)).body.proof).toEqual([]);
  });

  it('answers hostile proof parameters with a specific 400, never a 500', async () => {
    const { treeSize } = await checkpointCovering(1);
    const refused = async (url: string, code: string) => expect((await get(url).expect(400)).body.error).toBe(code);
    for (const bad of ['-1', '0', 'abc', '1.5', '99999999999999999999', '', '1;DROP']) {
      await refused(`/v1/audit/proofs/inclusion?seq=${encodeURIComponent(bad)}&treeSize=${treeSize}`, 'validation_failed');
      await refused(`/v1/audit/proofs/consistency?from=1&to=${encodeURIComponent(bad)}`, 'validation_failed');
    }
    await refused(`/v1/audit/proofs/inclusion?treeSize=${treeSize}`, 'validation_failed');
    await refused(`/v1/audit/proofs/inclusion?seq=${treeSize + 1}&treeSize=${treeSize}`, 'seq_outside_tree');
    await refused(`/v1/audit/proofs/inclusion?seq=1&treeSize=${Number.MAX_SAFE_INTEGER}`, 'no_checkpoint_at_size');
    await refused(`/v1/audit/proofs/consistency?from=${treeSize + 1}&to=${treeSize}`, 'invalid_tree_range');
    await refused(`/v1/audit/proofs/consistency?from=1&to=${Number.MAX_SAFE_INTEGER}`, 'no_checkpoint_at_size');
    await refused('/v1/audit/checkpoints?after=-3', 'validation_failed');
  });

  it('gives checkpoints and proofs to compliance and security only; the log key to anyone', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    for (const url of [
      '/v1/audit/checkpoint',
      '/v1/audit/checkpoints',
      '/v1/audit/proofs/inclusion?seq=1&treeSize=1',
      '/v1/audit/proofs/consistency?from=1&to=1',
    ]) {
      await sut.http.get(url).set('Authorization', `Bearer ${engineer}`).expect(403);
      await sut.http.get(url).expect(401);
    }
    const security = await sut.token('sec-1', ['security']);
    await sut.http.get('/v1/audit/checkpoints').set('Authorization', `Bearer ${security}`).expect(200);
  });

  it('keeps checkpoints append-only', async () => {
    await checkpointCovering(1);
    await expect(sut.dataSource.query(`UPDATE audit_checkpoints SET note = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(sut.dataSource.query(`DELETE FROM audit_tree_nodes`)).rejects.toThrow(/append-only/);
  });
});
