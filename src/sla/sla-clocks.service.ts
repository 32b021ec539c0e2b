import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditEntry } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import { DomainEventBus } from '../common/domain-events';
import { DueWorkLoop } from '../common/due-work-loop';
import { LoadedPolicy } from '../config/config.providers';
import { formatDuration } from '../config/duration';
import { findTarget, REQUESTER_CHANNEL, type TargetPolicy } from '../config/policy';
import { afterCommit } from '../database/after-commit';
import type { NoticeKind } from '../notifications/notice';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { Notifications } from '../notifications/notifications.service';
import { closingAudience, dedupKeyOf, stepNoticeKind } from './escalation-notices';
import { SlaClocksRepository, type ClockFilter, type ClockKind, type ClockRecord, type DueStep, type StepWithDelivery } from './sla-clocks.repository';
import { SlaError } from './sla.errors';
import { OPEN_CLOCK_STATES, type ClockPage, type ClockState, type ClockView, type EscalationStepView, type NoncomplianceView } from './sla.views';

const BATCH = 100;

export interface StartedClocks {
  retroPrDueAt: Date;
  reviewDueAt: Date;
}

/** Extra facts for a grant's retro-PR reminders and breach notices. */
declare module '../common/domain-events' {
  interface Contributions {
    /** Facts other domains add to a grant's retro-PR notices (GitOps: the drift the PR should cover). */
    'retro-pr.facts': { request: { grantId: string }; part: Record<string, string | number | boolean | null> };
  }
}

/**
 * The retroactive-PR and review clocks: started with the grant, escalated step by step (each step
 * once, within a second of its time, across restarts and instances), satisfied or waived.
 */
@Injectable()
export class SlaClocks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly scheduler = new DueWorkLoop('sla.scheduler', {
    processDue: () => this.processDue(),
    millisUntilNext: () => this.repository.millisUntilNext(),
  });

  constructor(
    private readonly repository: SlaClocksRepository,
    private readonly notifications: Notifications,
    private readonly outbox: NotificationsRepository,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly events: DomainEventBus,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduler.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.scheduler.stop();
  }

  async startFor(tx: EntityManager, grant: { id: string; requester: string; activatedAt: Date }, target: TargetPolicy): Promise<StartedClocks> {
    const after = (seconds: number) => new Date(grant.activatedAt.getTime() + seconds * 1000);
    const retroPrDueAt = after(target.retroPr.windowSeconds);
    const reviewDueAt = after(target.review.windowSeconds);
    const common = { grantId: grant.id, requester: grant.requester, startedAt: grant.activatedAt, steps: target.escalation };
    await this.repository.start(tx, common, [
      { kind: 'retro_pr', dueAt: retroPrDueAt },
      { kind: 'review', dueAt: reviewDueAt },
    ]);
    const earliest = Math.min(retroPrDueAt.getTime(), reviewDueAt.getTime()) + Math.min(0, ...target.escalation.map((step) => step.afterSeconds * 1000));
    afterCommit(tx, () => this.scheduler.wakeIfDueBefore(new Date(earliest)));
    return { retroPrDueAt, reviewDueAt };
  }

  overdueRetroPrGrants(requester: string): Promise<string[]> {
    return this.repository.overdueRetroPrGrants(requester);
  }

  /** Breaches first (a step at `0s` follows its breach), then every due escalation step. */
  async processDue(): Promise<void> {
    for (let breached = BATCH; breached === BATCH;) {
      breached = await this.dataSource.transaction(async (tx) => {
        const clocks = await this.repository.claimBreached(tx, BATCH);
        if (!clocks.length) return 0;
        await this.repository.markBreached(
          tx,
          clocks.map((c) => c.id),
        );
        await this.auditLog.append(tx, ...clocks.map((clock) => this.clockEvent('sla.breached', 'system:sla', clock, { dueAt: clock.dueAt })));
        return clocks.length;
      });
    }
    for (let fired = BATCH; fired === BATCH;) {
      fired = await this.dataSource.transaction(async (tx) => {
        const steps = await this.repository.claimDueSteps(tx, BATCH);
        if (!steps.length) return 0;
        await this.repository.markStepsFired(tx, steps);
        for (const step of steps) await this.notifyStep(tx, step);
        await this.auditLog.append(
          tx,
          ...steps.map((step) => ({
            actor: 'system:sla',
            action: 'sla.escalated' as const,
            grant: step.grant.id,
            target: step.grant.target,
            data: {
              clock: step.clockId,
              kind: step.kind,
              step: step.step,
              after: formatDuration(step.afterSeconds),
              fireAt: step.fireAt,
              dueAt: step.dueAt,
              notify: step.notify,
            },
          })),
        );
        return steps.length;
      });
    }
  }

  private async notifyStep(tx: EntityManager, step: DueStep): Promise<number> {
    const kind = stepNoticeKind(step.kind, step.afterSeconds);
    const extraFacts = step.kind === 'retro_pr' ? Object.assign({}, ...(await this.events.collect(tx, 'retro-pr.facts', { grantId: step.grant.id }))) : {};
    return this.notifications.notify(tx, {
      kind,
      grant: step.grant,
      channels: step.notify,
      key: `${step.clockId}:step:${step.step}`,
      clockId: step.clockId,
      facts: {
        clock: step.kind,
        dueAt: step.dueAt.toISOString(),
        step: step.step,
        repo: findTarget(this.policy, step.grant.target)?.retroPr.repo ?? null,
        ...extraFacts,
      },
      pagerduty: { action: 'trigger', dedupKey: dedupKeyOf(step.grant.id, step.kind) },
    });
  }

  /**
   * Satisfies the grant's clock of `kind` inside the caller's transaction. After its due time it is
   * `satisfied_late`: PagerDuty incidents opened for it are resolved and those told are told again.
   */
  async satisfy(tx: EntityManager, grantId: string, kind: ClockKind, by: string, note: string): Promise<ClockRecord['state'] | null> {
    const clock = await this.repository.lockByGrant(tx, grantId, kind);
    if (!clock || !isOpen(clock.state)) return null;
    const late = clock.state === 'breached' || clock.pastDue;
    const state = late ? 'satisfied_late' : 'satisfied';
    await this.repository.resolve(tx, clock.id, { state, by, note });
    await this.auditLog.append(tx, this.clockEvent(late ? 'sla.satisfied_late' : 'sla.satisfied', by, clock, { dueAt: clock.dueAt, note }));
    if (late) await this.closeEscalation(tx, clock, 'sla_satisfied_late', { by, note });
    return state;
  }

  /**
   * A merged PR missed `retroPr.require`: the open retro-PR clock keeps escalating and shows what is
   * missing (`pr_noncompliant` while within time). Null when the clock is not open.
   */
  async markNoncompliant(tx: EntityManager, grantId: string, by: string, noncompliance: NoncomplianceView): Promise<ClockState | null> {
    const clock = await this.repository.lockByGrant(tx, grantId, 'retro_pr');
    if (!clock || !isOpen(clock.state)) return null;
    const state = await this.repository.markNoncompliant(tx, clock.id, noncompliance);
    await this.auditLog.append(
      tx,
      this.clockEvent('sla.pr_noncompliant', by, clock, {
        dueAt: clock.dueAt,
        state,
        previousState: clock.state,
        pr: noncompliance.pr,
        missing: noncompliance.missing,
      }),
    );
    // Once per PR (the key): a second verification of the same PR tells no one again.
    await this.notifications.notify(tx, {
      kind: 'pr_noncompliant',
      grant: clock.grant,
      channels: [REQUESTER_CHANNEL, ...this.policy.notify.compliance],
      key: `${clock.id}:pr_noncompliant:${noncompliance.pr}`,
      clockId: clock.id,
      facts: { pr: noncompliance.pr, url: noncompliance.url, missing: describeMissing(noncompliance.missing), dueAt: clock.dueAt.toISOString() },
    });
    return state;
  }

  async waive(actor: string, clockId: string, reason: string): Promise<ClockView> {
    await this.dataSource.transaction(async (tx) => {
      const clock = await this.repository.lock(tx, clockId);
      if (!clock) throw new SlaError('clock_not_found', `No SLA clock ${clockId}`);
      if (!isOpen(clock.state)) throw new SlaError('clock_not_open', `The clock is already ${clock.state}`);
      await this.repository.resolve(tx, clock.id, { state: 'waived', by: actor, note: reason });
      await this.auditLog.append(tx, this.clockEvent('sla.waived', actor, clock, { reason, dueAt: clock.dueAt, previousState: clock.state }));
      await this.closeEscalation(tx, clock, 'sla_waived', { by: actor, note: reason });
    });
    return (await this.list({ id: clockId }, 1)).clocks[0];
  }

  /** Resolves the clock's PagerDuty incidents and tells the channels that were told (or compliance). */
  private async closeEscalation(
    tx: EntityManager,
    clock: ClockRecord & { grant: DueStep['grant'] },
    kind: NoticeKind,
    why: { by: string; note: string },
  ): Promise<void> {
    const facts = { clock: clock.kind, kind: clock.kind, dueAt: clock.dueAt.toISOString(), by: why.by, note: why.note };
    const paged = await this.outbox.pagedChannels(tx, clock.id);
    if (paged.length) {
      await this.notifications.notify(tx, {
        kind,
        grant: clock.grant,
        channels: paged,
        key: `${clock.id}:resolve`,
        clockId: clock.id,
        facts,
        pagerduty: { action: 'resolve', dedupKey: dedupKeyOf(clock.grantId, clock.kind) },
      });
    }
    const audience = closingAudience(await this.outbox.toldChannels(tx, clock.id), this.policy.notify.compliance);
    await this.notifications.notify(tx, { kind, grant: clock.grant, channels: audience, key: `${clock.id}:${kind}`, clockId: clock.id, facts });
  }

  async list(filter: ClockFilter, limit: number): Promise<ClockPage> {
    const clocks = await this.repository.list(filter, limit);
    const steps = await this.repository.stepsOf(clocks.map((c) => c.id));
    return {
      clocks: clocks.map((clock) =>
        clockView(
          clock,
          steps.filter((s) => s.clockId === clock.id),
        ),
      ),
      next: clocks.length === limit ? clocks[clocks.length - 1].id : null,
    };
  }

  private clockEvent(action: AuditEntry['action'], actor: string, clock: ClockRecord, data: Record<string, unknown>): AuditEntry {
    return {
      actor,
      action,
      grant: clock.grantId,
      target: clock.target,
      data: { clock: clock.id, kind: clock.kind, ...data },
    };
  }
}

function clockView(clock: ClockRecord, steps: StepWithDelivery[]): ClockView {
  return {
    id: clock.id,
    grant: clock.grantId,
    kind: clock.kind,
    state: clock.state,
    requester: clock.requester,
    target: clock.target,
    startedAt: clock.startedAt.toISOString(),
    dueAt: clock.dueAt.toISOString(),
    breachedAt: clock.breachedAt?.toISOString() ?? null,
    resolvedAt: clock.resolvedAt?.toISOString() ?? null,
    resolvedBy: clock.resolvedBy,
    resolution: clock.resolution,
    noncompliance: clock.noncompliance,
    steps: steps.map((s) => ({
      step: s.step,
      after: formatDuration(s.afterSeconds),
      fireAt: s.fireAt.toISOString(),
      notify: s.notify,
      state: stepState(s),
      firedAt: s.firedAt?.toISOString() ?? null,
      deliveries: s.deliveries,
      delivered: s.delivered,
      lastError: s.failing ? s.lastError : null,
    })),
  };
}

/** One line for notices: `approvals: 0 of 1 …; checks: policy-gate concluded failure`. */
function describeMissing(missing: NoncomplianceView['missing']): string {
  return missing.map((m) => `${m.requirement}: ${m.detail}`).join('; ');
}

function isOpen(state: ClockState): boolean {
  return (OPEN_CLOCK_STATES as readonly ClockState[]).includes(state);
}

/** A step counts as fired only once its notifications were delivered: a failing channel must not look done. */
function stepState(step: StepWithDelivery): EscalationStepView['state'] {
  if (step.state !== 'fired') return step.state;
  if (step.failing) return 'failing';
  return step.delivered < step.deliveries ? 'delivering' : 'fired';
}
