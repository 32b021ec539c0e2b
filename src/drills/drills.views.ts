import { FreeObject, Int, ListOf, NullableNested, NullableText, NullableTexts, NullableTimestamp, OneOf, Text, Texts, Timestamp } from '../common/api-schema';
import { DRILL_STATUSES, DRILL_TRIGGERS, type DrillRunRecord, type DrillStatus, type DrillTrigger } from './drills.repository';

export class DrillStepView {
  @Text({ description: 'The target, or `*` for the steps over the whole drill (notifications)' })
  target: string;
  @OneOf(['policy', 'credential', 'login', 'recorded', 'revoke', 'dead', 'notifications', 'evidence', 'cleanup', 'internal'])
  step: string;
  @OneOf(['passed', 'failed'])
  outcome: 'passed' | 'failed';
  @Timestamp()
  startedAt: string;
  @Int()
  ms: number;
  @FreeObject({ description: 'What the step established (never a secret)' })
  detail: Record<string, unknown>;
  @NullableText()
  error: string | null;
}

export class DrillRunView {
  @Int()
  id: number;
  @Text()
  drill: string;
  @OneOf(DRILL_TRIGGERS)
  trigger: DrillTrigger;
  @NullableTimestamp({ description: 'The cron fire time this run answers (null for a manual run)' })
  scheduledFor: string | null;
  @Text()
  requestedBy: string;
  @Texts()
  targets: string[];
  @OneOf(DRILL_STATUSES)
  status: DrillStatus;
  @Timestamp()
  startedAt: string;
  @NullableTimestamp()
  finishedAt: string | null;
  @NullableText({ description: 'The step that failed (or `abandoned`: the instance running it stopped)' })
  failedStep: string | null;
  @NullableText()
  failedTarget: string | null;
  @NullableText()
  error: string | null;
  @ListOf(() => DrillStepView)
  steps: DrillStepView[];
  @Texts({ description: 'The grants the drill made (each has an evidence bundle)' })
  grants: string[];
}

export class DrillDefinition {
  @Text()
  name: string;
  @Texts()
  targets: string[];
  @Text({ description: 'Cron, evaluated in timeZone' })
  schedule: string;
  @Text()
  timeZone: string;
  @NullableTexts({ description: 'Channels of the [DRILL] notices (null: each target’s notifyOnUse)' })
  notify: string[] | null;
  @Int()
  timeoutSeconds: number;
  @Timestamp()
  nextRunAt: string;
}

export class TargetDrillState {
  @Text()
  target: string;
  @NullableNested(() => DrillRunView, { description: 'The latest finished run that included the target' })
  last: DrillRunView | null;
  @NullableNested(() => DrillRunView, { description: 'The latest passed run that included the target' })
  lastPassed: DrillRunView | null;
}

export class DrillOverview {
  @ListOf(() => DrillDefinition)
  drills: DrillDefinition[];
  @ListOf(() => TargetDrillState)
  targets: TargetDrillState[];
  @ListOf(() => DrillRunView, { description: 'Runs, newest first' })
  runs: DrillRunView[];
  @NullableText({ description: 'Pass as `after` for the next page of runs' })
  next: string | null;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

/** Rows read with to_json carry their times as strings; both read the same. */
export function drillRunView(run: DrillRunRecord): DrillRunView {
  return {
    id: Number(run.id),
    drill: run.drill,
    trigger: run.trigger,
    scheduledFor: iso(run.scheduledFor),
    requestedBy: run.requestedBy,
    targets: run.targets,
    status: run.status,
    startedAt: iso(run.startedAt)!,
    finishedAt: iso(run.finishedAt),
    failedStep: run.failedStep,
    failedTarget: run.failedTarget,
    error: run.error,
    steps: run.steps,
    grants: run.grants,
  };
}
