import { Int, NullableBool, NullableFreeObject, NullableListOf, NullableText, NullableTimestamp, OneOf, Text, Timestamp } from '../common/api-schema';
import { MissingRequirementView } from '../sla/sla.views';
import type { ForgeFacts } from './forge-facts';
import type { VerificationRecord } from './pr-verifications.repository';

/** What the forge said about one retro PR of a grant (GET /v1/grants/:id `forge`, the bundle's `forge`). */
export class ForgeVerificationView {
  @Text({ description: '`repo#number`' })
  pr: string;
  @OneOf(['github', 'gitlab'])
  provider: 'github' | 'gitlab';
  @Text()
  repo: string;
  @Int()
  number: number;
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
  @NullableFreeObject({
    description:
      'The forge’s facts as recorded in pr.verified: approvals (by whom, when; the requester’s and author’s own in ignoredApprovals), signature {verified, reason, signer}, protectedBranch, requiredChecks, checks [{name, conclusion}], merge commit, base branch',
  })
  facts: ForgeFacts | null;
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
