import { Bool, Int, ListOf, NullableNested, NullableText, NullableTimestamp, OneOf, Text, Texts, Timestamp } from '../common/api-schema';

// What the SLA and pull-request endpoints answer.

export const CLOCK_KINDS = ['retro_pr', 'review'] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];
/** `pr_noncompliant`: within its time, and the latest merged PR missed a `retroPr.require` requirement. */
export const CLOCK_STATES = ['running', 'pr_noncompliant', 'satisfied', 'satisfied_late', 'breached', 'waived'] as const;
/** States of a clock not yet satisfied or waived: still escalating. */
export const OPEN_CLOCK_STATES = ['running', 'pr_noncompliant', 'breached'] as const;
export type ClockState = (typeof CLOCK_STATES)[number];
/**
 * `fired`: every notification of the step was delivered; `delivering`: sent for delivery, none failed
 * yet; `failing`: at least one delivery failed (retrying or given up; see `lastError`).
 */
export const STEP_STATES = ['pending', 'delivering', 'fired', 'failing', 'cancelled'] as const;
export const PR_STATES = ['open', 'closed', 'merged'] as const;

export class EscalationStepView {
  @Int()
  step: number;
  @Text({ description: 'The step’s delay after the due time, as written in the policy (e.g. 4h)' })
  after: string;
  @Timestamp()
  fireAt: string;
  @Texts({ description: 'Channel names' })
  notify: string[];
  @OneOf(STEP_STATES, { description: 'fired only once every notification of the step was delivered' })
  state: (typeof STEP_STATES)[number];
  @NullableTimestamp({ description: 'When the step was due and its notifications were sent for delivery' })
  firedAt: string | null;
  @Int({ description: 'Notifications the step sent (one per channel)' })
  deliveries: number;
  @Int()
  delivered: number;
  @NullableText({ description: 'The last delivery error of a failing step' })
  lastError: string | null;
}

export class MissingRequirementView {
  @OneOf(['approvals', 'signedCommits', 'protectedBranch', 'checks', 'merged'])
  requirement: 'approvals' | 'signedCommits' | 'protectedBranch' | 'checks' | 'merged';
  @Text({ description: 'What the forge showed, e.g. `policy-gate concluded failure`' })
  detail: string;
}

/** What the latest merged PR verified for a retro-PR clock missed (kept after a breach). */
export class NoncomplianceView {
  @Text({ description: '`repo#number`' })
  pr: string;
  @Text()
  url: string;
  @ListOf(() => MissingRequirementView)
  missing: MissingRequirementView[];
  @Timestamp()
  at: string;
}

export class ClockView {
  @Text()
  id: string;
  @Text()
  grant: string;
  @OneOf(CLOCK_KINDS)
  kind: ClockKind;
  @OneOf(CLOCK_STATES)
  state: ClockState;
  @Text()
  requester: string;
  @Text()
  target: string;
  @Timestamp()
  startedAt: string;
  @Timestamp()
  dueAt: string;
  @NullableTimestamp()
  breachedAt: string | null;
  @NullableTimestamp()
  resolvedAt: string | null;
  @NullableText()
  resolvedBy: string | null;
  @NullableText()
  resolution: string | null;
  @NullableNested(() => NoncomplianceView, { description: 'retro_pr with retroPr.require: what the latest merged PR missed; null when none missed anything' })
  noncompliance: NoncomplianceView | null;
  @ListOf(() => EscalationStepView)
  steps: EscalationStepView[];
}

export class ClockPage {
  @ListOf(() => ClockView)
  clocks: ClockView[];
  @NullableText({ description: 'Pass as `after` for the next page' })
  next: string | null;
}

/** A pull request linked to a grant (by a webhook or by hand). */
export class PrLink {
  @Text()
  grantId: string;
  @OneOf(['github', 'gitlab', 'manual'])
  provider: 'github' | 'gitlab' | 'manual';
  @Text()
  repo: string;
  @Int()
  number: number;
  @Text()
  url: string;
  @NullableText()
  title: string | null;
  @OneOf(PR_STATES)
  state: (typeof PR_STATES)[number];
  @Bool()
  merged: boolean;
  @Bool({ description: 'The PR is in the target’s retroPr.repo (a PR elsewhere links, flagged)' })
  repoMatches: boolean;
  @Text()
  linkedBy: string;
  @NullableText({ description: 'The webhook delivery that linked or updated it' })
  deliveryId: string | null;
  @NullableText({ description: 'The merge commit once merged (GitHub and GitLab `merge_commit_sha`)' })
  mergeCommitSha: string | null;
  @NullableTimestamp({ description: 'The forge’s `updated_at` of the state applied last (null for manual links)' })
  sourceUpdatedAt: Date | null;
  @Timestamp({ optional: true })
  linkedAt?: Date;
}

export class PullRequestLinks {
  @ListOf(() => PrLink)
  pullRequests: PrLink[];
}

export class LinkOutcome {
  @Text()
  grant: string;
  @Text()
  repo: string;
  @Int()
  number: number;
  @OneOf(PR_STATES)
  state: PrLink['state'];
  @Bool()
  repoMatches: boolean;
  @NullableText({ description: 'What became of the retro_pr clock: satisfied, satisfied_late, or null if unchanged' })
  clock: string | null;
  @Bool({ optional: true, description: 'The event describes an older state than the one already applied (a replay or a late delivery): ignored' })
  stale?: boolean;
}

export class LinkAnswer {
  @ListOf(() => LinkOutcome)
  linked: LinkOutcome[];
}

/** The answer to a GitHub or GitLab delivery. */
export class ForgeDeliveryAnswer extends LinkAnswer {
  @Bool({ description: 'This delivery id was seen before: nothing done' })
  duplicate: boolean;
}
