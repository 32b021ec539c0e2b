import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { DataSource } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy } from '../config/config.providers';
import type { DrillPolicy } from '../config/policy';
import { Grants } from '../grants/grants.service';
import { DrillRunner } from './drill-runner';
import { DRILL_TIME_ZONE, latestFireAtOrBefore, missedFireTime, nextFireAfter } from './drill-schedule';
import { DrillError } from './drills.errors';
import { DrillsRepository, type DrillRunRecord, type DrillTrigger } from './drills.repository';
import { drillRunView, type DrillOverview, type DrillRunView } from './drills.views';

/** A run still marked running this long after its timeout was left by a stopped instance. */
const ABANDONED_AFTER_TIMEOUT_SECONDS = 60;

/**
 * The policy's drills, scheduled with @nestjs/schedule on every instance. Each tick claims its fire
 * time in drill_runs, so one instance runs it; at start, a fire time missed while every instance
 * was down runs once (docs/drills.md). An admin can run a drill at once.
 */
@Injectable()
export class Drills implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('drills');
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly runner: DrillRunner,
    private readonly repository: DrillsRepository,
    private readonly grants: Grants,
    private readonly auditLog: AuditLog,
    private readonly scheduler: SchedulerRegistry,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.policy.drills.length) return;
    await this.closeAbandoned();
    for (const drill of this.policy.drills) {
      const registeredAt = await this.repository.register(drill.name, drill.schedule);
      const jobStartedAt = new Date();
      const job = CronJob.from({ cronTime: drill.schedule, timeZone: DRILL_TIME_ZONE, onTick: () => this.track(this.onTick(drill)), start: true });
      this.scheduler.addCronJob(`drill:${drill.name}`, job);
      const lastScheduledFor = await this.repository.lastScheduledFor(drill.name);
      const missed = missedFireTime(drill.schedule, { registeredAt, lastScheduledFor, jobStartedAt });
      if (missed) this.track(this.claimAndRun(drill, 'catch_up', missed, 'system:drill'));
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const drill of this.policy.drills) {
      const name = `drill:${drill.name}`;
      if (this.scheduler.doesExist('cron', name)) {
        await this.scheduler.getCronJob(name).stop();
        this.scheduler.deleteCronJob(name);
      }
    }
    // A run in progress stops at its next step and revokes its grants.
    await Promise.allSettled([...this.inFlight]);
  }

  /** POST /v1/drills/:name/run: the drill now, answered when it has finished. */
  async runNow(name: string, requestedBy: string): Promise<DrillRunView> {
    const drill = this.policy.drills.find((d) => d.name === name);
    if (!drill) {
      const known = this.policy.drills.map((d) => d.name);
      throw new DrillError('drill_unknown', `No drill named "${name}" in the policy${known.length ? ` (${known.join(', ')})` : ''}`, { drills: known });
    }
    const run = await this.claimAndRun(drill, 'manual', null, requestedBy);
    if (!run) throw new DrillError('drill_running', `Drill ${name} is already running; wait for it to finish (breakglass drill list)`);
    return drillRunView(run);
  }

  async overview(filter: { drill?: string; beforeId?: number }, limit: number): Promise<DrillOverview> {
    const [runs, lastPerTarget] = await Promise.all([this.repository.list(filter, limit), this.repository.lastPerTarget()]);
    const now = new Date();
    return {
      drills: this.policy.drills.map((drill) => ({
        name: drill.name,
        targets: drill.targets,
        schedule: drill.schedule,
        timeZone: DRILL_TIME_ZONE,
        notify: drill.notify,
        timeoutSeconds: drill.timeoutSeconds,
        nextRunAt: nextFireAfter(drill.schedule, now).toISOString(),
      })),
      targets: lastPerTarget.map((row) => ({
        target: row.target,
        last: drillRunView(row.last),
        lastPassed: row.lastPassed ? drillRunView(row.lastPassed) : null,
      })),
      runs: runs.map(drillRunView),
      next: runs.length === limit ? String(runs[runs.length - 1].id) : null,
    };
  }

  private async onTick(drill: DrillPolicy): Promise<void> {
    if (this.stopping) return;
    await this.closeAbandoned();
    const fireTime = latestFireAtOrBefore(drill.schedule, new Date(), new Date(Date.now() - 60_000));
    if (fireTime) await this.claimAndRun(drill, 'schedule', fireTime, 'system:drill');
  }

  /**
   * Claims the run (this fire time, or a manual run) together with its drill.started event, then
   * runs it; undefined when another instance has it or a run of the drill is still going.
   */
  private async claimAndRun(drill: DrillPolicy, trigger: DrillTrigger, scheduledFor: Date | null, requestedBy: string): Promise<DrillRunRecord | undefined> {
    const run = await this.dataSource.transaction(async (tx) => {
      const claimed = await this.repository.claim(tx, { drill: drill.name, trigger, scheduledFor, requestedBy, targets: drill.targets });
      if (!claimed) return undefined;
      await this.auditLog.append(tx, {
        actor: requestedBy,
        action: 'drill.started',
        target: drill.targets.length === 1 ? drill.targets[0] : null,
        alsoConcerns: drill.targets.length > 1 ? drill.targets : undefined,
        data: {
          drill: drill.name,
          run: claimed.id,
          trigger,
          scheduledFor,
          targets: drill.targets,
          schedule: drill.schedule,
          timeoutSeconds: drill.timeoutSeconds,
        },
      });
      return claimed;
    });
    if (!run) {
      if (trigger === 'schedule')
        this.logger.log(`drill ${drill.name}: fire time ${scheduledFor?.toISOString()} taken by another instance or a run still going`);
      return undefined;
    }
    const finished = await this.runner.run(drill, run, () => this.stopping);
    this.logger.log(`drill ${drill.name} run ${run.id}: ${finished.status}${finished.failedStep ? ` at ${finished.failedStep}: ${finished.error}` : ''}`);
    return finished;
  }

  /** Closes runs whose instance stopped mid-drill: their grants revoked, the run failed (security told). */
  private async closeAbandoned(): Promise<void> {
    const runs = await this.repository.abandoned(
      this.policy.drills.map((d) => ({ drill: d.name, seconds: d.timeoutSeconds + ABANDONED_AFTER_TIMEOUT_SECONDS })),
    );
    for (const run of runs) {
      const left = await this.repository.activeGrantsOf(run.id);
      for (const { id } of left) {
        await this.grants.revokeForDrill(id, `drill ${run.drill} run ${run.id} was abandoned: revoking its grant`).catch(() => undefined);
      }
      await this.runner.finish({ name: run.drill }, run, {
        status: 'failed',
        steps: run.steps,
        grants: [...new Set([...run.grants, ...left.map((g) => g.id)])],
        failedStep: 'abandoned',
        failedTarget: null,
        error: 'the instance running the drill stopped before it finished',
      });
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: Error) => this.logger.error(`drill: ${error.message}`)).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}
