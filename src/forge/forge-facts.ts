import type { RetroPrRequirements } from '../config/policy';
import type { MissingRequirementView } from '../sla/sla.views';
import type { ForgeApprovalView, ForgeFactsView } from './forge.views';

// What the forge says about a merged retro PR, and which of the policy's requirements it misses.
// Pure, so the rules are unit-tested without a forge.

/** An approval as the forge gave it (API shape: forge.views.ts). */
export type ForgeApproval = ForgeApprovalView;

/** The forge's facts about one merged PR, as recorded in `pr.verified` and the evidence bundle. */
export type ForgeFacts = ForgeFactsView;

/** One requirement a PR misses, e.g. `{ requirement: 'checks', detail: 'policy-gate concluded failure' }`. */
export type MissingRequirement = MissingRequirementView;

/** How a raw approval from the forge is judged: the requester cannot review their own emergency change. */
export function sortApprovals(
  approvals: ForgeApproval[],
  requesterIdentities: string[],
  author: string | null,
): Pick<ForgeFacts, 'approvals' | 'ignoredApprovals'> {
  const requester = new Set(requesterIdentities.map((identity) => identity.toLowerCase()));
  const counted: ForgeApproval[] = [];
  const ignored: ForgeFacts['ignoredApprovals'] = [];
  for (const approval of approvals) {
    const by = approval.by.toLowerCase();
    if (requester.has(by)) ignored.push({ ...approval, why: 'requester' });
    else if (author && by === author.toLowerCase()) ignored.push({ ...approval, why: 'author' });
    else counted.push(approval);
  }
  return { approvals: counted, ignoredApprovals: ignored };
}

/**
 * The forge logins that are the requester: their subject, and the local part of their e-mail
 * (a subject `alice@example.com` is GitHub's `alice` more often than not). docs/forge-evidence.md.
 */
export function requesterIdentities(requester: string, requesterEmail: string | null): string[] {
  const identities = new Set([requester]);
  for (const address of [requester, requesterEmail]) {
    const local = address?.includes('@') ? address.slice(0, address.indexOf('@')) : null;
    if (local) identities.add(local);
  }
  return [...identities];
}

const SUCCESSFUL = new Set(['success', 'neutral', 'skipped']);

/** Every requirement of `require` the PR misses, in the policy's order; empty when it meets them all. */
export function missingRequirements(facts: ForgeFacts, require: RetroPrRequirements): MissingRequirement[] {
  const missing: MissingRequirement[] = [];
  if (!facts.merged) missing.push({ requirement: 'merged', detail: `${facts.repo}#${facts.number} is not merged` });
  if (facts.approvals.length < require.approvals) {
    const ignored = facts.ignoredApprovals.map((a) => `${a.by} (${a.why})`);
    missing.push({
      requirement: 'approvals',
      detail:
        `${facts.approvals.length} of ${require.approvals} approval${require.approvals === 1 ? '' : 's'} by someone other than the requester` +
        (ignored.length ? `; not counted: ${ignored.join(', ')}` : ''),
    });
  }
  if (require.signedCommits && !facts.signature.verified) {
    missing.push({
      requirement: 'signedCommits',
      detail: `merge commit ${facts.mergeCommitSha?.slice(0, 12) ?? '(none)'} signature not verified (${facts.signature.reason})`,
    });
  }
  if (require.protectedBranch && !facts.protectedBranch) {
    missing.push({ requirement: 'protectedBranch', detail: `base branch ${facts.baseBranch} is not protected` });
  }
  for (const name of require.checks) {
    const check = facts.checks.find((c) => c.name === name);
    if (!check) missing.push({ requirement: 'checks', detail: `${name} did not run on ${facts.headSha?.slice(0, 12) ?? 'the head commit'}` });
    else if (!SUCCESSFUL.has(check.conclusion)) missing.push({ requirement: 'checks', detail: `${name} concluded ${check.conclusion}` });
  }
  return missing;
}
