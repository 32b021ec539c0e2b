import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewriteHistoryConsistently } from './support/audit-rewrite';
import { auditLeaf, mth } from './support/rfc9162';
import { EXAMPLE_POLICY, startTestService, type TestService } from './support/test-service';

// Anchors: every checkpoint committed to a Git branch (a local bare repository here, with the real
// git CLI) and POSTed to a webhook, in order, once each, through an outage, with an alert to
// security when one waits longer than audit.anchorAlertAfter.

const SECRET = 'anchor-secret';

type AuditEvent = { seq: number; prevHash: string; hash: string } & Record<string, unknown>;
const leafOf = auditLeaf;

describe('checkpoint anchors', () => {
  jest.setTimeout(90_000);
  let sut: TestService;
  let scratch: string;
  let repo: string;
  let webhook: Server;
  const posted: { body: string; signature: string | undefined }[] = [];
  let auditor: string;

  const git = (...args: string[]) => execFileSync('git', ['--git-dir', repo, ...args], { encoding: 'utf8' });
  /** The branch's commits, oldest first: tree sizes from their subjects, and each file's text. */
  const anchored = () => {
    let log: string;
    try {
      log = git('log', '--reverse', '--format=%s', 'refs/heads/audit-checkpoints');
    } catch {
      return [];
    }
    return log
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((subject) => {
        const treeSize = Number(/checkpoint (\d+) of/.exec(subject)![1]);
        return { treeSize, note: git('show', `refs/heads/audit-checkpoints:log/${treeSize}.checkpoint`) };
      });
  };
  const checkpoints = async () =>
    (await sut.http.get('/v1/audit/checkpoints?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.checkpoints as {
      treeSize: number;
      note: string;
    }[];
  const until = async (what: string, condition: () => Promise<boolean> | boolean, ms = 30_000) => {
    for (const started = Date.now(); !(await condition()); await new Promise((resolve) => setTimeout(resolve, 200))) {
      if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    }
  };
  const breakGlass = async (incident: string) => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'prod-cluster', incident, reason: 'Making the audit log grow for anchors', durationSeconds: 600 })
      .expect(201);
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(process.env.BREAKGLASS_TEST_ROOT ?? tmpdir(), 'anchors-'));
    repo = join(scratch, 'anchor.git');
    execFileSync('git', ['init', '-q', '--bare', repo]);
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        posted.push({ body, signature: req.headers['x-breakglass-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const policy = `${readFileSync(EXAMPLE_POLICY, 'utf8')}
audit:
  checkpoint: { interval: 1s }
  anchorAlertAfter: 3s
  anchors:
    - { name: git-log, type: git, repo: '${repo}', branch: audit-checkpoints, path: log }
    - { type: webhook, url: 'http://127.0.0.1:${(webhook.address() as AddressInfo).port}/checkpoints', secret: ${SECRET} }
`;
    sut = await startTestService({ policyYaml: policy });
    auditor = await sut.token('auditor-1', ['compliance']);
  });
  afterAll(async () => {
    await sut?.close();
    webhook?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('commits each checkpoint to the branch and posts it signed to the webhook', async () => {
    await breakGlass('INC-1');
    await until('a first anchored checkpoint', () => anchored().length > 0 && posted.length > 0);
    const made = new Map((await checkpoints()).map((c) => [c.treeSize, c.note]));
    for (const commit of anchored()) expect(commit.note).toBe(made.get(commit.treeSize));
    const first = posted[0];
    expect(first.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(first.body).digest('hex')}`);
    const payload = JSON.parse(first.body);
    expect(payload).toMatchObject({ type: 'breakglass.checkpoint', note: made.get(payload.treeSize) });
  });

  it('anchors every checkpoint made during a Git outage once it is back, in order and once each, and alerts security meanwhile', async () => {
    const before = anchored().length;
    renameSync(repo, `${repo}.away`);
    try {
      const madeBefore = (await checkpoints()).length;
      await breakGlass('INC-2');
      await until('checkpoints during the outage', async () => (await checkpoints()).length > madeBefore);
      await breakGlass('INC-3');
      await until('a second checkpoint during the outage', async () => (await checkpoints()).length > madeBefore + 1);
      await until(
        'the overdue alert',
        async () => Number((await sut.dataSource.query(`SELECT count(*) AS n FROM audit_events WHERE action = 'audit.anchor_overdue'`))[0].n) > 0,
      );
      const [alert] = await sut.dataSource.query(`SELECT data_canonical::jsonb AS data FROM audit_events WHERE action = 'audit.anchor_overdue'`);
      expect(alert.data).toMatchObject({ anchor: 'git-log', lastError: expect.stringMatching(/anchor\.git/) });
      const notices = await sut.dataSource.query(`SELECT channel FROM notifications WHERE notice = 'anchor_overdue'`);
      expect(notices.map((n: { channel: string }) => n.channel)).toEqual(['audit-log']); // the policy's notify.security
      // One alert per outage, however many checkpoints wait.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(Number((await sut.dataSource.query(`SELECT count(*) AS n FROM audit_events WHERE action = 'audit.anchor_overdue'`))[0].n)).toBe(1);
      expect(anchored()).toHaveLength(0); // the repository is away
      const { anchors: during } = (await sut.http.get('/v1/audit/anchors').set('Authorization', `Bearer ${auditor}`).expect(200)).body;
      expect(during[0]).toMatchObject({
        name: 'git-log',
        type: 'git',
        pending: expect.any(Number),
        pendingSince: expect.any(String),
        lastError: expect.stringMatching(/anchor\.git/),
      });
      expect(during[0].pending).toBeGreaterThan(1);
      expect(during[1]).toMatchObject({ type: 'webhook', pending: 0, lastError: null });
    } finally {
      renameSync(`${repo}.away`, repo);
    }
    const all = await checkpoints();
    await until('the backlog anchored', () => anchored().at(-1)?.treeSize === all.at(-1)!.treeSize, 60_000);

    const anchorStatus = async () => (await sut.http.get('/v1/audit/anchors').set('Authorization', `Bearer ${auditor}`).expect(200)).body.anchors[0];
    await until('no backlog', async () => (await anchorStatus()).pending === 0);
    const after = await anchorStatus();
    expect(after).toMatchObject({ name: 'git-log', pending: 0, pendingSince: null, lastError: null });
    expect(after.deliveredTreeSize).toBeGreaterThanOrEqual(all.at(-1)!.treeSize);
    const commits = anchored();
    const sizes = commits.map((commit) => commit.treeSize);
    expect(sizes.length).toBeGreaterThan(before + 1);
    // Exactly the checkpoints since the anchor was configured, in order, none twice.
    expect(sizes).toEqual(all.map((c) => c.treeSize).filter((size) => size >= sizes[0] && size <= sizes.at(-1)!));
    const made = new Map(all.map((c) => [c.treeSize, c.note]));
    for (const commit of commits) expect(commit.note).toBe(made.get(commit.treeSize));
    const failed = await sut.dataSource.query(`SELECT count(*) AS n FROM audit_anchor_attempts WHERE anchor = 'git-log' AND outcome = 'failed'`);
    expect(Number(failed[0].n)).toBeGreaterThan(0);
    // The webhook, up all along, got every checkpoint once.
    const postedSizes = posted.map((post) => JSON.parse(post.body).treeSize as number);
    expect(new Set(postedSizes).size).toBe(postedSizes.length);
  });

  it("keeps the old root in the Git anchor's history after a consistent rewrite of the database", async () => {
    const [last] = anchored().slice(-1);
    const events = (await sut.http.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.events as AuditEvent[];
    const root = (note: string) => Buffer.from(note.split('\n')[2], 'base64');
    expect(mth(events.slice(0, last.treeSize).map(leafOf))).toEqual(root(last.note));
    // The attacker rewrites event 2 and recomputes every later chain hash (as in transparency.e2e-spec.ts).
    await rewriteHistoryConsistently(sut.database.url, events, 2, 'nobody');
    expect((await sut.http.get('/v1/audit/verify').set('Authorization', `Bearer ${auditor}`).expect(200)).body.valid).toBe(true);

    // Git still holds what was signed; the log as it reads now no longer hashes to it.
    const now = (await sut.http.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${auditor}`).expect(200)).body.events as AuditEvent[];
    expect(git('show', `refs/heads/audit-checkpoints:log/${last.treeSize}.checkpoint`)).toBe(last.note);
    expect(mth(now.slice(0, last.treeSize).map(leafOf))).not.toEqual(root(last.note));
  });
});
