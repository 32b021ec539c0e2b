import { ApiProperty, PickType } from '@nestjs/swagger';
import { ChainVerdict } from '../audit/audit.views';
import {
  AnyValue,
  Bool,
  FreeObject,
  FreeObjects,
  Int,
  ListOf,
  Nested,
  NullableInt,
  NullableNum,
  NullableText,
  NullableTimestamp,
  OneOf,
  Text,
  Texts,
  Timestamp,
} from '../common/api-schema';
import { GrantView } from '../grants/grant-views';
import { CLOCK_KINDS, CLOCK_STATES, MissingRequirementView, type ClockKind, type ClockState } from '../sla/sla.views';

/** GET /v1/grants/:id/evidence (docs/formats.md, "Evidence bundle"). */
export class SignedBundle {
  @FreeObject({
    description:
      'The evidence bundle (format breakglass-evidence/1): grant, credentials, session, reviews, PRs, forge facts per PR, clocks, notifications, audit events',
  })
  bundle: Record<string, unknown>;
  @Text({
    description:
      'Compact EdDSA JWS over the RFC 8785 canonical JSON of `bundle`; `bundle.signingKey` is the public JWK, whose kid is in /.well-known/breakglass-keys.json for good',
  })
  jws: string;
}

export class ReportPeriod {
  @Timestamp()
  from: string;
  @Timestamp()
  to: string;
}

export class Distribution {
  @NullableInt()
  p50: number | null;
  @NullableInt()
  p90: number | null;
  @NullableInt()
  max: number | null;
}

/** The clocks whose outcome is judged: on time, late, overdue (waived and not-yet-due ones are not). */
class JudgedClocks {
  @Int()
  onTime: number;
  @Int()
  late: number;
  @Int()
  overdue: number;
  @NullableNum({ description: 'onTime / (onTime + late + overdue), null when none was judged' })
  onTimeRate: number | null;
}

/** One week's outcome of one clock kind (weeks start on Monday, 00:00 UTC, by the clock's start). */
export class WeeklyRate extends JudgedClocks {
  @Timestamp()
  weekStart: string;
}

export class DurationBucket {
  @Text({ description: 'e.g. "15m–1h"' })
  label: string;
  @NullableInt({ description: 'Upper bound (exclusive) in seconds; null for the last bucket' })
  belowSeconds: number | null;
  @Int()
  count: number;
}

export class ClockOutcomes extends JudgedClocks {
  @Int()
  total: number;
  @Int()
  waived: number;
  @Int()
  pending: number;
  @ListOf(() => WeeklyRate, { description: 'The same figures per week, oldest first' })
  byWeek: WeeklyRate[];
}

export class ControlCompliance {
  @Text()
  control: string;
  @Int({ description: 'Retro PRs verified against retroPr.require whose pr.verified carries this control' })
  verified: number;
  @Int()
  compliant: number;
  @NullableNum({ description: 'compliant / verified (null when none)' })
  compliantRate: number | null;
}

export class VerifiedPullRequest {
  @Int()
  seq: number;
  @Timestamp()
  at: string;
  @Text()
  grant: string;
  @Text({ description: '`repo#number`' })
  pr: string;
  @Bool()
  compliant: boolean;
  @ListOf(() => MissingRequirementView)
  missing: MissingRequirementView[];
}

/** Retro PRs the forge was asked about (pr.verified) on targets with retroPr.require. */
export class ForgeOutcomes {
  @Int()
  verified: number;
  @Int({ description: 'Met every requirement' })
  compliant: number;
  @NullableNum()
  compliantRate: number | null;
  @ListOf(() => ControlCompliance, { description: 'The share of compliant retro PRs per control' })
  byControl: ControlCompliance[];
  @ListOf(() => VerifiedPullRequest)
  pullRequests: VerifiedPullRequest[];
}

export class RetroPrOutcomes extends ClockOutcomes {
  @Nested(() => ForgeOutcomes, { description: 'What the forge showed about merged retro PRs (retroPr.require)' })
  forge: ForgeOutcomes;
  @Nested(() => Distribution, { description: 'From break-glass to the PR that satisfied the clock' })
  timeToPrSeconds: Distribution;
  @ListOf(() => DurationBucket, { description: 'How many PRs came within each span after break-glass' })
  timeToPrBuckets: DurationBucket[];
}

/** One grant of the period, with its clocks' outcome: the population to sample from. */
export class ReportGrant extends PickType(GrantView, ['id', 'target', 'environment', 'requester', 'incident', 'status', 'activatedAt', 'flags'] as const) {
  @NullableText({ description: 'State of the retro-PR clock' })
  retroPr: ClockState | null;
  @NullableInt()
  timeToPrSeconds: number | null;
  @NullableText({ description: 'State of the review clock' })
  review: ClockState | null;
}

export class CountedTotal {
  @Int()
  total: number;
}

export class GrantCounts extends CountedTotal {
  @FreeObjects({ description: '{ target, environment, count, flagged } per target' })
  byTarget: { target: string; environment: string; count: number; flagged: number }[];
}

export class DenialCounts extends CountedTotal {
  @FreeObjects({ description: '{ code, count } per denial code' })
  byReason: { code: string; count: number }[];
}

export class Breach {
  @Text()
  grant: string;
  @OneOf(CLOCK_KINDS)
  kind: ClockKind;
  @Timestamp()
  dueAt: string;
  @NullableTimestamp()
  resolvedAt: string | null;
  @OneOf(CLOCK_STATES)
  state: ClockState;
  @Int({ description: 'From the due time to resolution (or now)' })
  breachSeconds: number;
}

export class Violation {
  @Text()
  grant: string;
  @Text()
  reviewer: string;
  @Text()
  notes: string;
  @Timestamp()
  at: string;
}

export class Waiver {
  @Text()
  grant: string;
  @OneOf(CLOCK_KINDS)
  kind: ClockKind;
  @NullableText()
  by: string | null;
  @NullableText()
  reason: string | null;
  @NullableTimestamp()
  at: string | null;
}

export class ReconciledChange {
  @Text()
  grant: string;
  @Text()
  repo: string;
  @Int()
  number: number;
  @Text()
  commit: string;
  @Timestamp()
  reconciledAt: string;
  @Int()
  secondsFromBreakGlass: number;
}

class DriftRecorded {
  @Int({ description: 'The audit event' })
  seq: number;
  @Timestamp()
  at: string;
  @Text()
  source: string;
  @AnyValue({ description: 'The reconciler object { kind, namespace, name }' })
  object: unknown;
  @AnyValue({ description: 'The drifted resources' })
  resources: unknown;
}

export class AttributedDrift extends DriftRecorded {
  @NullableText()
  grant: string | null;
}

export class UnattributedDrift extends DriftRecorded {
  @AnyValue({ description: 'Targets whose scope it is in' })
  targets: unknown;
}

export class GitopsSummary {
  @ListOf(() => ReconciledChange, { description: 'Retro PRs whose merge was reconciled' })
  reconciled: ReconciledChange[];
  @Nested(() => Distribution)
  timeToReconciledSeconds: Distribution;
  @ListOf(() => AttributedDrift)
  driftAttributed: AttributedDrift[];
  @ListOf(() => UnattributedDrift)
  driftUnattributed: UnattributedDrift[];
}

/** A drill run of the period (docs/drills.md): what was tested, and where it failed. */
export class ReportDrillRun {
  @Int()
  id: number;
  @Text()
  drill: string;
  @Text({ description: 'schedule, catch_up or manual' })
  trigger: string;
  @Texts()
  targets: string[];
  @Text({ description: 'running, passed or failed' })
  status: string;
  @Timestamp()
  startedAt: string;
  @NullableTimestamp()
  finishedAt: string | null;
  @NullableText()
  failedStep: string | null;
  @NullableText()
  error: string | null;
  @Texts()
  grants: string[];
}

/** Per policy target: its last passed drill before the period's end (null: never drilled successfully). */
export class ReportTargetDrill {
  @Text()
  target: string;
  @NullableText()
  drill: string | null;
  @NullableInt()
  run: number | null;
  @NullableTimestamp()
  lastPassedAt: string | null;
}

export class DrillSummary {
  @Int()
  total: number;
  @Int()
  passed: number;
  @Int()
  failed: number;
  @ListOf(() => ReportDrillRun, { description: 'Drill runs started in the period, oldest first' })
  runs: ReportDrillRun[];
  @ListOf(() => ReportTargetDrill)
  lastPassedByTarget: ReportTargetDrill[];
}

/** GET /v1/reports/compliance (JSON). */
export class ComplianceReportView {
  @Nested(() => ReportPeriod)
  period: ReportPeriod;
  @Timestamp()
  generatedAt: string;
  @Nested(() => GrantCounts)
  grants: GrantCounts;
  @Nested(() => DenialCounts)
  denials: DenialCounts;
  @Nested(() => RetroPrOutcomes)
  retroPr: RetroPrOutcomes;
  @ListOf(() => ReportGrant, { description: 'Every grant of the period, oldest first' })
  perGrant: ReportGrant[];
  @ListOf(() => Breach)
  breaches: Breach[];
  @Nested(() => ClockOutcomes)
  reviews: ClockOutcomes;
  @ListOf(() => Violation, { description: 'Reviews that found a violation' })
  violations: Violation[];
  @ListOf(() => Waiver)
  waived: Waiver[];
  @Nested(() => GitopsSummary)
  gitops: GitopsSummary;
  @Nested(() => DrillSummary, { description: 'Break-glass drills: the tested emergency path (drill grants are not counted as grants)' })
  drills: DrillSummary;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'Audit events per control id in the period' })
  controls: Record<string, number>;
  @Nested(() => ChainVerdict)
  auditChain: ChainVerdict;
}
