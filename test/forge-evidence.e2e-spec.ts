import { FakeForgeApi, type ForgePullRequest } from './support/forge-api';
import { githubDelivery, githubPullRequestEvent, gitlabMergeRequestEvent } from './support/forges';
import { freePort } from './support/ports';
import { startChildService, type ChildService } from './support/service-child';
import { runCli } from './support/service-process';
import { SmtpSink } from './support/smtp-sink';
import { testCertificate } from './support/test-certificate';
import { until } from './support/until';

// Retro-PR evidence from the forge (docs/forge-evidence.md): on a merged linked PR the service asks
// GitHub (@octokit/rest) or GitLab (@gitbeaker/rest) — here a local HTTPS stand-in answering in their
// documented response shapes; the service runs as its own process trusting its certificate — and
// records pr.verified; with retroPr.require only a PR meeting every requirement satisfies the clock.

const GITHUB_SECRET = 'github-webhook-secret-0123456789';
const GITLAB_TOKEN = 'gitlab-webhook-token-0123456789';
const REQUIRE = '{ approvals: 1, signedCommits: true, protectedBranch: true, checks: [policy-gate] }';

const POLICY = `
notify: { security: [security-mail], compliance: [compliance-mail] }
channels:
  security-mail: { type: email, to: [security@example.com] }
  compliance-mail: { type: email, to: [compliance@example.com] }
targets:
  - name: payments
    environment: production
    credential: { type: jwt, audience: payments }
    repo: acme/infra
    controls: ['PCI-DSS-4.0:6.5.1']
    retroPr: { window: 1h, require: ${REQUIRE} }
  - name: ledger
    environment: production
    credential: { type: jwt, audience: ledger }
    repo: acme/ledger
    retroPr: { window: 1h, require: ${REQUIRE} }
  - name: reporting
    environment: production
    credential: { type: jwt, audience: reporting }
    retroPr: { window: 1h, satisfiedBy: merged }
`;

let sha = 0;
const nextSha = () => (++sha).toString(16).padStart(40, '0');

/** A PR that meets every requirement; `change` breaks one. */
function compliantPr(change: Partial<ForgePullRequest> = {}): ForgePullRequest {
  return {
    author: 'oncall-1',
    merged: true,
    baseBranch: 'main',
    headSha: nextSha(),
    mergeCommitSha: nextSha(),
    reviews: [
      { login: 'oncall-1', state: 'APPROVED' },
      { login: 'reviewer-2', state: 'APPROVED' },
    ],
    signature: { verified: true, reason: 'valid', signer: 'web-flow' },
    checks: [
      { name: 'unit-tests', conclusion: 'success' },
      { name: 'policy-gate', conclusion: 'success' },
    ],
    ...change,
  };
}

describe('retro-PR evidence from the forge', () => {
  jest.setTimeout(90_000);
  let sut: ChildService;
  let forge: FakeForgeApi;
  let smtp: SmtpSink;
  let engineer: string;
  let compliance: string;
  let prNumber = 100;

  const breakGlass = async (target: string) =>
    (
      await sut.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target, incident: 'INC-4242', reason: 'Ledger writes failing; hotfix the lock timeout', durationSeconds: 600 })
        .expect(201)
    ).body;
  const mergeOnGitHub = async (grantId: string, repo: string, number: number, mergeCommitSha: string) => {
    const event = githubPullRequestEvent({ action: 'closed', merged: true, mergeCommitSha, repo, number, title: `Retro: ${grantId}` });
    const delivery = githubDelivery(GITHUB_SECRET, 'pull_request', event);
    return (await sut.http.post('/v1/webhooks/github').set(delivery.headers).send(delivery.body).expect(200)).body;
  };
  const detail = async (grantId: string) => (await sut.http.get(`/v1/grants/${grantId}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
  const verified = (grantId: string, pr: string) =>
    until(
      `${pr} verified`,
      async () => (await detail(grantId)).forge.find((f: { pr: string; status: string }) => f.pr === pr && f.status === 'verified'),
      20_000,
    );
  const clock = async (grantId: string) =>
    (await sut.http.get(`/v1/sla?grant=${grantId}&kind=retro_pr`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.clocks[0];
  const auditOf = async (grantId: string, action: string) =>
    (await sut.http.get(`/v1/audit?grant=${grantId}&action=${action}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body.events;
  const outbox = (grantId: string, notice: string) =>
    sut.query<{ channel: string; status: string }>(`SELECT channel, status FROM notifications WHERE grant_id = $1 AND notice = $2 ORDER BY channel`, [
      grantId,
      notice,
    ]);

  beforeAll(async () => {
    smtp = new SmtpSink(await freePort());
    await smtp.start();
    forge = new FakeForgeApi(testCertificate());
    const urls = await forge.start();
    forge.protectedBranches.add('acme/infra:main');
    forge.protectedBranches.add('acme/ledger:main');
    sut = await startChildService({
      policyYaml: POLICY,
      env: {
        GITHUB_API_URL: urls.github,
        GITHUB_TOKEN: 'ghp_test_token_0123456789',
        GITLAB_API_URL: urls.gitlab,
        GITLAB_TOKEN: 'glpat-test-token-0123',
        GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
        GITLAB_WEBHOOK_TOKEN: GITLAB_TOKEN,
        BREAKGLASS_RETRY_BASE_MS: '300',
        SMTP_URL: smtp.url,
        SMTP_FROM: 'breakglass <breakglass@example.com>',
      },
    });
    engineer = await sut.token('oncall-1', ['engineer'], 'oncall-1@example.com');
    compliance = await sut.token('comp-1', ['compliance']);
  });
  afterAll(async () => {
    await sut?.close();
    await forge?.stop();
    await smtp?.stop();
  });

  it('a merged PR approved by another user, signed, into a protected branch, with policy-gate passing → pr.verified with those facts, clock satisfied', async () => {
    const grant = await breakGlass('payments');
    const number = ++prNumber;
    const pr = compliantPr();
    forge.pullRequests.set(`acme/infra#${number}`, pr);
    const answer = await mergeOnGitHub(grant.id, 'acme/infra', number, pr.mergeCommitSha);
    // The link alone does not satisfy a clock with requirements: the verification does.
    expect(answer.linked).toEqual([expect.objectContaining({ grant: grant.id, state: 'merged', clock: null })]);

    const verification = await verified(grant.id, `acme/infra#${number}`);
    expect(verification).toMatchObject({ provider: 'github', compliant: true, missing: [], attempts: 1, lastError: null });
    expect(verification.facts).toMatchObject({
      merged: true,
      author: 'oncall-1',
      mergedBy: 'merger',
      baseBranch: 'main',
      mergeCommitSha: pr.mergeCommitSha,
      approvals: [{ by: 'reviewer-2', at: '2026-12-02T10:00:00Z' }],
      ignoredApprovals: [{ by: 'oncall-1', why: 'requester', at: '2026-12-02T10:00:00Z' }],
      signature: { verified: true, reason: 'valid', signer: 'web-flow' },
      protectedBranch: true,
      requiredChecks: ['policy-gate'],
      checks: [
        { name: 'unit-tests', conclusion: 'success' },
        { name: 'policy-gate', conclusion: 'success' },
      ],
    });
    // The forge was asked with the token, at the documented endpoints.
    const asked = forge.requests.filter((r) => r.path.includes(`/acme/infra/`)).map((r) => r.path);
    expect(asked).toEqual(
      expect.arrayContaining([
        `/github/repos/acme/infra/pulls/${number}`,
        `/github/repos/acme/infra/pulls/${number}/reviews`,
        `/github/repos/acme/infra/commits/${pr.mergeCommitSha}`,
        '/github/repos/acme/infra/branches/main',
        `/github/repos/acme/infra/commits/${pr.headSha}/check-runs`,
      ]),
    );
    expect(forge.requests.find((r) => r.path.startsWith('/github/'))?.authorization).toBe('token ghp_test_token_0123456789');

    const [event] = await auditOf(grant.id, 'pr.verified');
    expect(event).toMatchObject({
      actor: 'system:github',
      controls: expect.arrayContaining(['SOC2:CC8.1', 'NIST-800-53:CM-3', 'ISO27001-2022:A.8.32', 'PCI-DSS-4.0:6.5.1']),
      data: {
        repo: 'acme/infra',
        number,
        compliant: true,
        missing: [],
        requirements: { approvals: 1, signedCommits: true, protectedBranch: true, checks: ['policy-gate'] },
      },
    });
    expect(await clock(grant.id)).toMatchObject({ state: 'satisfied', resolvedBy: 'system:github', noncompliance: null });
    expect(await outbox(grant.id, 'pr_noncompliant')).toEqual([]);

    // The evidence bundle has a `forge` section per PR.
    const bundle = (await sut.http.get(`/v1/grants/${grant.id}/evidence`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    expect(bundle.bundle.forge).toEqual([expect.objectContaining({ pr: `acme/infra#${number}`, status: 'verified', compliant: true })]);
  });

  it.each([
    [
      'approvals',
      { reviews: [{ login: 'oncall-1', state: 'APPROVED' as const }] },
      /^0 of 1 approval by someone other than the requester; not counted: oncall-1 \(requester\)$/,
    ],
    ['signedCommits', { signature: null }, /^merge commit [0-9a-f]{12} signature not verified \(unsigned\)$/],
    ['protectedBranch', { baseBranch: 'hotfix' }, /^base branch hotfix is not protected$/],
    [
      'checks',
      {
        checks: [
          { name: 'unit-tests', conclusion: 'success' as const },
          { name: 'policy-gate', conclusion: 'failure' as const },
        ],
      },
      /^policy-gate concluded failure$/,
    ],
  ])('a merged PR missing %s → clock not satisfied, pr_noncompliant naming exactly that, one notice', async (requirement, change, detailPattern) => {
    const grant = await breakGlass('payments');
    const number = ++prNumber;
    const pr = compliantPr(change);
    forge.pullRequests.set(`acme/infra#${number}`, pr);
    await mergeOnGitHub(grant.id, 'acme/infra', number, pr.mergeCommitSha);

    const verification = await verified(grant.id, `acme/infra#${number}`);
    expect(verification.compliant).toBe(false);
    expect(verification.missing).toEqual([{ requirement, detail: expect.stringMatching(detailPattern) }]);
    const open = await clock(grant.id);
    expect(open).toMatchObject({
      state: 'pr_noncompliant',
      resolvedAt: null,
      noncompliance: { pr: `acme/infra#${number}`, missing: verification.missing, url: `https://github.com/acme/infra/pull/${number}` },
    });
    const [marked] = await auditOf(grant.id, 'sla.pr_noncompliant');
    expect(marked.data).toMatchObject({ state: 'pr_noncompliant', previousState: 'running', missing: verification.missing });

    // The requester and compliance are told once.
    await until('notices delivered', async () => {
      const rows = await outbox(grant.id, 'pr_noncompliant');
      return rows.length === 2 && rows.every((row) => row.status === 'delivered');
    });
    expect((await outbox(grant.id, 'pr_noncompliant')).map((row) => row.channel)).toEqual(['compliance-mail', 'requester']);
    const mails = smtp.received.filter((mail) => mail.subject.includes(grant.id) && mail.subject.includes('does not meet the policy'));
    expect(mails.map((mail) => mail.to).sort()).toEqual([['compliance@example.com'], ['oncall-1@example.com']]);
    expect(mails[0].raw).toContain(requirement);

    // A re-delivery of the merge (a new delivery id) tells no one again.
    await mergeOnGitHub(grant.id, 'acme/infra', number, pr.mergeCommitSha);
    expect(await outbox(grant.id, 'pr_noncompliant')).toHaveLength(2);

    if (requirement === 'approvals') {
      // A later compliant PR satisfies the clock.
      const fix = ++prNumber;
      const good = compliantPr();
      forge.pullRequests.set(`acme/infra#${fix}`, good);
      await mergeOnGitHub(grant.id, 'acme/infra', fix, good.mergeCommitSha);
      await verified(grant.id, `acme/infra#${fix}`);
      expect(await clock(grant.id)).toMatchObject({ state: 'satisfied', noncompliance: { pr: `acme/infra#${number}` } });
    }
  });

  it('forge down at merge time → the webhook answers at once, verification pending and retried, then recorded', async () => {
    const grant = await breakGlass('payments');
    const number = ++prNumber;
    const pr = compliantPr();
    forge.pullRequests.set(`acme/infra#${number}`, pr);
    forge.mode = 'down';
    try {
      await mergeOnGitHub(grant.id, 'acme/infra', number, pr.mergeCommitSha);
      // The answer came while the forge could not have answered: nothing was verified yet.
      const pending = await until('a failed attempt', async () =>
        (await detail(grant.id)).forge.find((f: { status: string; attempts: number }) => f.status === 'pending' && f.attempts >= 2),
      );
      expect(pending).toMatchObject({ pr: `acme/infra#${number}`, lastError: expect.stringMatching(/^HTTP 503/), nextAttemptAt: expect.any(String) });
      // The requester sees it in the CLI too.
      const status = await runCli(['status', grant.id], { BREAKGLASS_URL: sut.url, BREAKGLASS_TOKEN: engineer });
      expect(status.stdout).toMatch(new RegExp(`Forge +acme/infra#${number} verification pending \\(attempt \\d+: HTTP 503`));
      expect((await clock(grant.id)).state).toBe('running');
      expect(await auditOf(grant.id, 'pr.verified')).toEqual([]);
    } finally {
      forge.mode = 'up';
    }
    const verification = await verified(grant.id, `acme/infra#${number}`);
    expect(verification.attempts).toBeGreaterThanOrEqual(3);
    expect(verification.lastError).toBeNull();
    expect((await auditOf(grant.id, 'pr.verified'))[0].data).toMatchObject({ compliant: true, attempts: verification.attempts });
    expect((await clock(grant.id)).state).toBe('satisfied');
  });

  it('verifies GitLab merge requests through the GitLab API (compliant satisfies; unsigned does not)', async () => {
    for (const [signature, expected] of [
      [{ verified: true, reason: 'verified', signer: 'reviewer-2' }, 'satisfied'],
      [null, 'pr_noncompliant'],
    ] as const) {
      const grant = await breakGlass('ledger');
      const iid = ++prNumber;
      const mr = compliantPr({ signature });
      forge.pullRequests.set(`acme/ledger#${iid}`, mr);
      const event = gitlabMergeRequestEvent({
        project: 'acme/ledger',
        iid,
        title: `Retro ${grant.id}`,
        state: 'merged',
        action: 'merge',
        mergeCommitSha: mr.mergeCommitSha,
      });
      await sut.http
        .post('/v1/webhooks/gitlab')
        .set('X-Gitlab-Token', GITLAB_TOKEN)
        .set('X-Gitlab-Event', 'Merge Request Hook')
        .set('X-Gitlab-Event-UUID', `uuid-${iid}`)
        .send(event)
        .expect(200);
      const verification = await verified(grant.id, `acme/ledger#${iid}`);
      expect(verification.provider).toBe('gitlab');
      expect(verification.facts).toMatchObject({
        approvals: [{ by: 'reviewer-2', at: null }],
        ignoredApprovals: [{ by: 'oncall-1', why: 'requester' }],
        protectedBranch: true,
        signature: signature ? { verified: true, reason: 'verified', signer: 'reviewer-2@example.com' } : { verified: false, reason: 'unsigned', signer: null },
        checks: expect.arrayContaining([{ name: 'policy-gate', conclusion: 'success' }]),
      });
      expect((await clock(grant.id)).state).toBe(expected);
      if (!signature) expect(verification.missing).toEqual([{ requirement: 'signedCommits', detail: expect.stringContaining('unsigned') }]);
    }
    expect(forge.requests.find((r) => r.path.startsWith('/gitlab/'))?.privateToken).toBe('glpat-test-token-0123');
  });

  it('asks the forge about a hand-linked PR: merged there, it is recorded as merged and verified', async () => {
    const grant = await breakGlass('payments');
    const number = ++prNumber;
    const pr = compliantPr();
    forge.pullRequests.set(`acme/infra#${number}`, pr);
    const url = `https://github.com/acme/infra/pull/${number}`;
    const linked = (await sut.http.post(`/v1/grants/${grant.id}/pull-requests`).set('Authorization', `Bearer ${engineer}`).send({ url }).expect(200)).body;
    expect(linked.linked[0]).toMatchObject({ state: 'open', clock: null });
    await verified(grant.id, `acme/infra#${number}`);
    const links = (await sut.http.get(`/v1/grants/${grant.id}/pull-requests`).set('Authorization', `Bearer ${engineer}`).expect(200)).body.pullRequests;
    expect(links).toEqual([expect.objectContaining({ state: 'merged', merged: true, mergeCommitSha: pr.mergeCommitSha })]);
    const merges = (await auditOf(grant.id, 'pr.linked')).map((e: { actor: string; data: { state: string } }) => [e.actor, e.data.state]);
    expect(merges).toEqual([
      ['oncall-1', 'open'],
      ['system:forge', 'merged'],
    ]);
    expect((await clock(grant.id)).state).toBe('satisfied');

    // Not merged at the forge: nothing more until a merge arrives.
    const later = await breakGlass('payments');
    const open = ++prNumber;
    forge.pullRequests.set(`acme/infra#${open}`, compliantPr({ merged: false }));
    await sut.http
      .post(`/v1/grants/${later.id}/pull-requests`)
      .set('Authorization', `Bearer ${engineer}`)
      .send({ url: `https://github.com/acme/infra/pull/${open}` })
      .expect(200);
    await until('asked', async () => (await detail(later.id)).forge.find((f: { status: string }) => f.status === 'not_merged'));
    expect(await auditOf(later.id, 'pr.verified')).toEqual([]);
    expect((await clock(later.id)).state).toBe('running');
  });

  it('records the forge facts as evidence only on a target without requirements; the merge satisfies its clock', async () => {
    const grant = await breakGlass('reporting');
    const number = ++prNumber;
    const pr = compliantPr({ signature: null });
    forge.pullRequests.set(`acme/reporting#${number}`, pr);
    expect((await mergeOnGitHub(grant.id, 'acme/reporting', number, pr.mergeCommitSha)).linked[0].clock).toBe('satisfied');
    const verification = await verified(grant.id, `acme/reporting#${number}`);
    expect(verification).toMatchObject({ compliant: null, missing: null });
    expect((await auditOf(grant.id, 'pr.verified'))[0].data).toMatchObject({ compliant: null, signature: { verified: false, reason: 'unsigned' } });
  });

  it('reports the share of retro PRs that met every requirement, per control', async () => {
    const events = (await sut.http.get('/v1/audit?action=pr.verified&limit=500').set('Authorization', `Bearer ${compliance}`).expect(200)).body.events as {
      controls: string[];
      data: { compliant: boolean | null };
    }[];
    const judged = events.filter((e) => e.data.compliant !== null);
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const report = (await sut.http.get(`/v1/reports/compliance?from=${from}&to=${to}`).set('Authorization', `Bearer ${compliance}`).expect(200)).body;
    const forgeOutcome = report.retroPr.forge;
    expect(forgeOutcome.verified).toBe(judged.length);
    expect(forgeOutcome.compliant).toBe(judged.filter((e) => e.data.compliant).length);
    expect(judged.length).toBeGreaterThanOrEqual(8);
    // Recomputed per control from the audit events themselves.
    const pci = judged.filter((e) => e.controls.includes('PCI-DSS-4.0:6.5.1'));
    expect(forgeOutcome.byControl).toContainEqual({
      control: 'PCI-DSS-4.0:6.5.1',
      verified: pci.length,
      compliant: pci.filter((e) => e.data.compliant).length,
      compliantRate: Math.round((pci.filter((e) => e.data.compliant).length / pci.length) * 1000) / 1000,
    });
    expect(forgeOutcome.pullRequests.filter((p: { compliant: boolean }) => !p.compliant).length).toBe(judged.filter((e) => !e.data.compliant).length);
    const markdown = (await sut.http.get(`/v1/reports/compliance?from=${from}&to=${to}&format=md`).set('Authorization', `Bearer ${compliance}`).expect(200))
      .text;
    expect(markdown).toContain(`Retro PRs verified at the forge: ${forgeOutcome.compliant} of ${forgeOutcome.verified} met every requirement`);
  });
});
