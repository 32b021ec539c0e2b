import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyEvidence } from '../src/evidence/bundle-verifier';
import { rewriteHistoryConsistently } from './support/audit-rewrite';
import { auditLeaf, mth, path, subproof } from './support/rfc9162';
import { spawnCli } from './support/service-process';
import { tamperWith } from './support/test-database';
import { EXAMPLE_POLICY, startTestService, type TestService } from './support/test-service';
import { hasPythonModule } from './support/tools';
import { until } from './support/until';

// The audit log as a transparency log: checkpoints signed as C2SP signed notes, RFC 9162 proofs for
// checkpointed sizes. Every check here is recomputed with node:crypto, `canonicalize` and the RFC's
// recursive definitions (support/rfc9162.ts), from the API's answers alone.

const POLICY = `${readFileSync(EXAMPLE_POLICY, 'utf8')}\naudit:\n  checkpoint:\n    interval: 1s\n`;
const ORIGIN = 'broker.test.example/breakglass/audit';
const AUDITOR_SCRIPT = join(__dirname, '../examples/verify-checkpoint.py');

type AuditEvent = { seq: number; prevHash: string; hash: string } & Record<string, unknown>;
type CheckpointView = { treeSize: number; rootHash: string; at: string; note: string };

const leafOf = auditLeaf;

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

  it("verifies with the auditor's script: the signature, an inclusion proof and a consistency proof", async () => {
    if (!hasPythonModule('cryptography')) return;
    const first = await checkpointCovering(1);
    await breakGlass('INC-5');
    const second = await checkpointCovering((await events()).length);
    const all = await events();
    const scratch = mkdtempSync(join(process.env.BREAKGLASS_TEST_ROOT ?? tmpdir(), 'auditor-'));
    const file = (name: string, text: string) => (writeFileSync(join(scratch, name), text), join(scratch, name));
    const vkey = file('vkey', (await sut.http.get('/v1/audit/log-key').expect(200)).text);
    const older = file('older.checkpoint', first.note);
    const newer = file('newer.checkpoint', second.note);
    const seq = Math.ceil(second.treeSize / 2);
    const inclusion = file('inclusion.json', JSON.stringify((await get(`/v1/audit/proofs/inclusion?seq=${seq}&treeSize=${second.treeSize}`).expect(200)).body));
    const consistency = file(
      'consistency.json',
      JSON.stringify((await get(`/v1/audit/proofs/consistency?from=${first.treeSize}&to=${second.treeSize}`).expect(200)).body),
    );
    const leaf = leafOf(all[seq - 1]).toString('hex');
    const script = (...args: string[]) => spawnSync('python3', [AUDITOR_SCRIPT, ...args], { encoding: 'utf8' });

    expect(script(vkey, newer)).toMatchObject({ status: 0, stdout: `OK: checkpoint of ${second.treeSize} events of ${ORIGIN}\n` });
    expect(script(vkey, newer, 'inclusion', inclusion, leaf).status).toBe(0);
    expect(script(vkey, older, newer, 'consistency', consistency).status).toBe(0);

    const forged = file('forged.checkpoint', second.note.replace(`\n${second.treeSize}\n`, `\n${second.treeSize + 1}\n`));
    expect(script(vkey, forged)).toMatchObject({ status: 2, stderr: 'INVALID: the signature does not verify\n' });
    const otherLeaf = leafOf(all[seq % all.length]).toString('hex');
    expect(script(vkey, newer, 'inclusion', inclusion, otherLeaf)).toMatchObject({ status: 2, stderr: expect.stringContaining('inclusion proof') });
    const swapped = file(
      'swapped.json',
      JSON.stringify({ ...JSON.parse(readFileSync(consistency, 'utf8')), proof: [...JSON.parse(readFileSync(consistency, 'utf8')).proof].reverse() }),
    );
    if (JSON.parse(readFileSync(consistency, 'utf8')).proof.length > 1) {
      expect(script(vkey, older, newer, 'consistency', swapped)).toMatchObject({ status: 2, stderr: expect.stringContaining('does not extend') });
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('puts the checkpoint and an inclusion proof per audit event in the evidence bundle; evidence verify checks them', async () => {
    const engineer = await sut.token('oncall-2', ['engineer']);
    const { body: grant } = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'prod-cluster', incident: 'INC-6', reason: 'Evidence with inclusion proofs', durationSeconds: 600 })
      .expect(201);
    await checkpointCovering((await events()).length);
    const { body: signed } = await get(`/v1/grants/${grant.id}/evidence`).expect(200);
    const vkey = (await sut.http.get('/v1/audit/log-key').expect(200)).text;
    const body = verifyNote(signed.bundle.checkpoint, vkey)!;
    const treeSize = Number(body[1]);
    const leaves = (await events()).slice(0, treeSize).map(leafOf);
    const bundled = signed.bundle.audit.events as (AuditEvent & { inclusionProof: { leafIndex: number; treeSize: number; proof: string[] } | null })[];
    expect(bundled.length).toBeGreaterThan(1);
    for (const event of bundled) {
      const { inclusionProof, ...exported } = event;
      expect(inclusionProof).toEqual({ leafIndex: event.seq - 1, treeSize, proof: path(event.seq - 1, leaves).map((h) => h.toString('hex')) });
      expect(leafOf(exported as AuditEvent)).toEqual(leaves[event.seq - 1]);
    }

    const scratch = mkdtempSync(join(process.env.BREAKGLASS_TEST_ROOT ?? tmpdir(), 'bundle-'));
    const file = join(scratch, 'bundle.json');
    writeFileSync(file, JSON.stringify(signed));
    const verified = spawnCli(['--json', 'evidence', 'verify', file], { BREAKGLASS_URL: sut.url });
    expect(await verified.exited).toBe(0);
    expect(JSON.parse(verified.output())).toMatchObject({
      valid: true,
      checkpoint: { status: 'valid', treeSize, proven: bundled.length, notYetCheckpointed: 0 },
    });
    rmSync(scratch, { recursive: true, force: true });

    // The inclusion check itself: another log's key, or a proof that leads elsewhere, fails it.
    const otherKey = vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    expect((await verifyEvidence(signed, { keys: [] }, otherKey)).checkpoint.status).toBe('invalid');
    const altered = structuredClone(signed);
    const proof = altered.bundle.audit.events[0].inclusionProof.proof;
    proof[0] = proof[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
    expect((await verifyEvidence(altered, { keys: [] }, vkey.trim())).checkpoint).toMatchObject({ status: 'invalid', firstUnprovenSeq: bundled[0].seq });
    expect((await verifyEvidence(signed, { keys: [] }, vkey.trim())).checkpoint.status).toBe('valid');
  });

  // Last: it rewrites this service's history.
  it('catches a consistent rewrite of history: the chain still verifies, the saved checkpoint does not', async () => {
    await breakGlass('INC-4');
    const saved = await checkpointCovering((await events()).length);
    const scratch = mkdtempSync(join(process.env.BREAKGLASS_TEST_ROOT ?? tmpdir(), 'checkpoint-'));
    const file = join(scratch, `${saved.treeSize}.checkpoint`);
    writeFileSync(file, saved.note);
    const env = { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: auditor };
    const before = spawnCli(['--json', 'audit', 'verify', '--checkpoint', file], env);
    expect(await before.exited).toBe(0);
    expect(JSON.parse(before.output())).toMatchObject({ valid: true, problem: null, saved: { treeSize: saved.treeSize, localRootHash: saved.rootHash } });

    // The attacker, as superuser: one event rewritten, every later chain hash and the head recomputed.
    const original = await events();
    await rewriteHistoryConsistently(sut.database.url, original, 2, 'nobody');

    // Self-consistent: the server's own check and a plain download-and-recompute both pass.
    expect((await get('/v1/audit/verify').expect(200)).body).toMatchObject({ valid: true });
    const plain = spawnCli(['--json', 'audit', 'verify'], env);
    expect(await plain.exited).toBe(0);
    // The checkpoint saved before the rewrite does not.
    const after = spawnCli(['audit', 'verify', '--checkpoint', file], env);
    expect(await after.exited).toBe(2);
    expect(after.output()).toContain(`the first ${saved.treeSize} events no longer hash to the saved checkpoint's root: history was rewritten`);
    rmSync(scratch, { recursive: true, force: true });
  });
});

describe('audit transparency log: proofs from memory', () => {
  jest.setTimeout(90_000);

  it('answers proofs from the nodes in memory on every instance (the builder keeps what it made, another loads them); with BREAKGLASS_TREE_CACHE_MB=0 from the database', async () => {
    const env = { BREAKGLASS_LOG_ORIGIN: ORIGIN };
    const first = await startTestService({ policyYaml: POLICY, env });
    const others: TestService[] = [];
    try {
      const auditor = await first.token('auditor-1', ['compliance']);
      const engineer = await first.token('oncall-1', ['engineer']);
      for (const incident of ['INC-M1', 'INC-M2', 'INC-M3']) {
        await first.http
          .post('/v1/grants')
          .set('Authorization', `Bearer ${engineer}`)
          .send({ target: 'prod-cluster', incident, reason: 'Proofs from memory on every instance', durationSeconds: 600 })
          .expect(201);
      }
      const all: AuditEvent[] = (await first.http.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.events;
      const treeSize = await until(
        'a checkpoint of every event so far',
        async () => {
          const { checkpoints } = (await first.http.get('/v1/audit/checkpoints?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body;
          return (checkpoints as CheckpointView[]).find((c) => c.treeSize >= all.length)?.treeSize;
        },
        20_000,
      );
      const second = await startTestService({ policyYaml: POLICY, env, alongside: first });
      others.push(second);
      const noMemory = await startTestService({ policyYaml: POLICY, env: { ...env, BREAKGLASS_TREE_CACHE_MB: '0' }, alongside: first });
      others.push(noMemory);

      // A tree of n leaves has 2n - popcount(n) stored nodes.
      const nodesOfTree = 2 * treeSize - treeSize.toString(2).replace(/0/g, '').length;
      const nodesInMemory = async (sut: TestService) =>
        Number(/^breakglass_audit_tree_nodes_in_memory (\d+)$/m.exec((await sut.http.get('/metrics').expect(200)).text)![1]);
      for (const sut of [first, second]) await until('the tree in memory', async () => (await nodesInMemory(sut)) >= nodesOfTree, 20_000);
      expect(await nodesInMemory(noMemory)).toBe(0);

      // Leaf 0 as stored, then forged: only an instance that reads the database sees the forgery.
      const forged = createHash('sha256').update('forged').digest();
      await tamperWith(first.database.url, 'audit_tree_nodes', `UPDATE audit_tree_nodes SET hash = $1 WHERE level = 0 AND idx = 0`, [forged]);
      const leaves = (await first.http.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.events.map(leafOf);
      const expected = path(1, leaves.slice(0, treeSize)).map((h) => h.toString('hex'));
      const proofFrom = async (sut: TestService) =>
        (await sut.http.get(`/v1/audit/proofs/inclusion?seq=2&treeSize=${treeSize}`).set('Authorization', `Bearer ${auditor}`).expect(200)).body
          .proof as string[];
      expect(await proofFrom(first)).toEqual(expected);
      expect(await proofFrom(second)).toEqual(expected);
      expect(await proofFrom(noMemory)).toEqual([forged.toString('hex'), ...expected.slice(1)]);
    } finally {
      for (const sut of others) await sut.close();
      await first.close();
    }
  });
});
