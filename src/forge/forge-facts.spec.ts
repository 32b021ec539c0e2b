import { missingRequirements, requesterIdentities, sortApprovals, type ForgeFacts } from './forge-facts';

const facts = (change: Partial<ForgeFacts> = {}): ForgeFacts => ({
  provider: 'github',
  repo: 'acme/infra',
  number: 7,
  merged: true,
  mergedAt: '2026-12-02T10:00:00Z',
  mergedBy: 'merger',
  author: 'oncall-1',
  baseBranch: 'main',
  headSha: 'a'.repeat(40),
  mergeCommitSha: 'c'.repeat(40),
  approvals: [{ by: 'reviewer-2', at: null }],
  ignoredApprovals: [],
  signature: { verified: true, reason: 'valid', signer: 'web-flow' },
  protectedBranch: true,
  requiredChecks: [],
  checks: [{ name: 'policy-gate', conclusion: 'success' }],
  ...change,
});
const ALL = { approvals: 1, signedCommits: true, protectedBranch: true, checks: ['policy-gate'] };

describe('retro-PR requirements', () => {
  it("leaves out the requester's own approval (by subject or e-mail local part) and the author's", () => {
    const identities = requesterIdentities('alice@example.com', 'alice.smith@corp.example');
    expect(identities).toEqual(['alice@example.com', 'alice', 'alice.smith']);
    const sorted = sortApprovals(
      [
        { by: 'Alice', at: null },
        { by: 'alice.smith', at: null },
        { by: 'bob', at: '2026-12-02T10:00:00Z' },
        { by: 'carol', at: null },
      ],
      identities,
      'carol',
    );
    expect(sorted).toEqual({
      approvals: [{ by: 'bob', at: '2026-12-02T10:00:00Z' }],
      ignoredApprovals: [
        { by: 'Alice', at: null, why: 'requester' },
        { by: 'alice.smith', at: null, why: 'requester' },
        { by: 'carol', at: null, why: 'author' },
      ],
    });
  });

  it('names every requirement a PR misses, and nothing for one that meets them all', () => {
    expect(missingRequirements(facts(), ALL)).toEqual([]);
    expect(missingRequirements(facts(), { approvals: 0, signedCommits: false, protectedBranch: false, checks: [] })).toEqual([]);
    expect(
      missingRequirements(
        facts({
          approvals: [],
          ignoredApprovals: [{ by: 'oncall-1', at: null, why: 'requester' }],
          signature: { verified: false, reason: 'unknown_key', signer: null },
          protectedBranch: false,
          checks: [{ name: 'policy-gate', conclusion: 'in_progress' }],
        }),
        { ...ALL, approvals: 2, checks: ['policy-gate', 'sast'] },
      ),
    ).toEqual([
      { requirement: 'approvals', detail: '0 of 2 approvals by someone other than the requester; not counted: oncall-1 (requester)' },
      { requirement: 'signedCommits', detail: 'merge commit cccccccccccc signature not verified (unknown_key)' },
      { requirement: 'protectedBranch', detail: 'base branch main is not protected' },
      { requirement: 'checks', detail: 'policy-gate concluded in_progress' },
      { requirement: 'checks', detail: 'sast did not run on aaaaaaaaaaaa' },
    ]);
    // neutral and skipped checks pass, as the forge's own merge gates treat them.
    expect(missingRequirements(facts({ checks: [{ name: 'policy-gate', conclusion: 'neutral' }] }), ALL)).toEqual([]);
    expect(missingRequirements(facts({ merged: false }), ALL)).toEqual([{ requirement: 'merged', detail: 'acme/infra#7 is not merged' }]);
  });
});
