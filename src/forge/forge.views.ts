import {
  Bool,
  Int,
  ListOf,
  Nested,
  NullableBool,
  NullableListOf,
  NullableNested,
  NullableText,
  NullableTimestamp,
  OneOf,
  Text,
  Texts,
  Timestamp,
} from '../common/api-schema';
import { MissingRequirementView } from '../sla/sla.views';
import type { VerificationRecord } from './pr-verifications.repository';

export class ForgeApprovalView {
  @Text({ description: 'The forge login' })
  by: string;
  @NullableTimestamp({ description: 'When (GitLab’s approvals API may not say)' })
  at: string | null;
}

export class IgnoredApprovalView extends ForgeApprovalView {
  @OneOf(['requester', 'author'], { description: 'Why it does not count' })
  why: 'requester' | 'author';
}

export class MergeSignatureView {
  @Bool()
  verified: boolean;
  @Text({ description: 'The forge’s reason (`valid`, `unsigned`, `unknown_key`…; GitLab: its verification_status)' })
  reason: string;
  @NullableText()
  signer: string | null;
}

export class CheckConclusionView {
  @Text()
  name: string;
  @Text({ description: '`success`, `failure`, `neutral`, `skipped`, `cancelled`, or a status while running' })
  conclusion: string;
}

/** Which PR, at which forge. */
export class ForgePullRequestView {
  @OneOf(['github', 'gitlab'])
  provider: 'github' | 'gitlab';
  @Text()
  repo: string;
  @Int()
  number: number;
}

/** The forge’s facts about a merged PR (pr.verified `data`). */
export class ForgeFactsView extends ForgePullRequestView {
  @Bool()
  merged: boolean;
  @NullableTimestamp()
  mergedAt: string | null;
  @NullableText()
  mergedBy: string | null;
  @NullableText()
  author: string | null;
  @Text()
  baseBranch: string;
  @NullableText()
  headSha: string | null;
  @NullableText()
  mergeCommitSha: string | null;
  @ListOf(() => ForgeApprovalView, { description: 'Approvals that count: the latest verdict per reviewer, not the requester’s, not the author’s' })
  approvals: ForgeApprovalView[];
  @ListOf(() => IgnoredApprovalView)
  ignoredApprovals: IgnoredApprovalView[];
  @Nested(() => MergeSignatureView)
  signature: MergeSignatureView;
  @Bool()
  protectedBranch: boolean;
  @Texts({ description: 'Checks the branch protection requires (GitHub)' })
  requiredChecks: string[];
  @ListOf(() => CheckConclusionView, { description: 'Check runs and commit statuses on the head commit, the latest per name' })
  checks: CheckConclusionView[];
}

/** What the forge said about one retro PR of a grant (GET /v1/grants/:id `forge`, the bundle's `forge`). */
export class ForgeVerificationView extends ForgePullRequestView {
  @Text({ description: '`repo#number`' })
  pr: string;
  @OneOf(['pending', 'verified', 'not_merged'], {
    description:
      '`pending`: verification pending (the forge is asked, retried with backoff while it fails); `not_merged`: a hand-linked PR the forge says is not merged yet',
  })
  status: VerificationRecord['status'];
  @Int({ description: 'Times the forge was asked' })
  attempts: number;
  @NullableText({ description: 'Why the last attempt failed (while pending)' })
  lastError: string | null;
  @NullableTimestamp()
  lastAttemptAt: string | null;
  @NullableTimestamp({ description: 'When the forge is asked next (pending only)' })
  nextAttemptAt: string | null;
  @NullableTimestamp()
  verifiedAt: string | null;
  @NullableBool({ description: 'Met every retroPr.require requirement; null when the target requires nothing (facts are evidence only)' })
  compliant: boolean | null;
  @NullableListOf(() => MissingRequirementView, { description: 'What retroPr.require found missing; null when the target requires nothing' })
  missing: MissingRequirementView[] | null;
  @NullableNested(() => ForgeFactsView, { description: 'The forge’s facts as recorded in pr.verified (null before the forge answered)' })
  facts: ForgeFactsView | null;
  @Timestamp()
  requestedAt: string;
}

export function forgeVerificationView(record: VerificationRecord): ForgeVerificationView {
  return {
    pr: `${record.repo}#${record.number}`,
    provider: record.provider,
    repo: record.repo,
    number: record.number,
    status: record.status,
    attempts: record.attempts,
    lastError: record.lastError,
    lastAttemptAt: record.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: record.status === 'pending' ? record.nextAttemptAt.toISOString() : null,
    verifiedAt: record.verifiedAt?.toISOString() ?? null,
    compliant: record.compliant,
    missing: record.missing,
    facts: record.facts,
    requestedAt: record.requestedAt.toISOString(),
  };
}
