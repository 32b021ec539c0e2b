import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { DomainEventBus } from '../common/domain-events';
import { DueWorkLoop } from '../common/due-work-loop';
import { Metrics } from '../health/metrics.service';
import { ReadinessChecks } from '../health/readiness';
import { AuditRepository } from './audit.repository';

/** Entries sequenced per batch (one statement): big enough to amortise the commit, small enough to keep the lag low. */
const BATCH = 2000;
/** How soon an instance looks again when entries were left waiting (another instance held the claim). */
const RETRY_MS = 20;
/**
 * How often an idle instance looks anyway: for entries whose writer's instance died before its
 * integrator ran (live instances wake their own at commit, and retry every RETRY_MS while another
 * holds the claim), so another instance takes over within a second (P2.5). A look every 20 ms when
 * idle was 50 queries a second per instance.
 */
const IDLE_POLL_MS = 500;
/**
 * A commit's wake-up waits this long for others', so under load one batch carries the entries of
 * many transactions (2026-12-03, bench/README.md: fewer statements per grant, lag p99 <= 50 ms).
 */
const COALESCE_WAKES_MS = 5;
/** The oldest unsequenced entry older than this makes /readyz say the sequencer is behind. */
const DEGRADED_AFTER_SECONDS = 5;

declare module '../common/domain-events' {
  interface CommittedEvents {
    /** A transaction added unsequenced audit entries (the integrator wakes up). */
    'audit.pending': true;
  }
}

/**
 * The audit log's sequencer (docs/decisions.md, "Audit appends without a global lock"): callers'
 * transactions add entries unsequenced; this integrator, on whichever instance holds the advisory
 * lock for a batch, gives committed entries their seq, at, prevHash and hash exactly as the Part 1
 * formula says, in batches, in the order they became visible (commit order, batch by batch). `at`
 * never goes backwards along seq. A batch is one transaction: killed mid-batch, nothing of it stays,
 * and the next integrator (any instance, within IDLE_POLL_MS) takes the same entries.
 */
@Injectable()
export class AuditIntegrator implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly loop = new DueWorkLoop(
    'audit-integrator',
    { processDue: () => this.integrate(), millisUntilNext: () => this.untilNext() },
    IDLE_POLL_MS,
    COALESCE_WAKES_MS,
  );
  private readonly lag: Histogram;
  private behind = 'ok';
  /** Entries were left waiting at the last look (another instance holds the claim, or they came in since). */
  private waiting = false;

  constructor(
    private readonly repository: AuditRepository,
    private readonly events: DomainEventBus,
    metrics: Metrics,
    readiness: ReadinessChecks,
  ) {
    this.lag = new Histogram({
      name: 'breakglass_audit_sequencing_lag_seconds',
      help: 'Time from the commit of an audit entry (unsequenced; its insert where the server does not track commit times) to its sequencing into the chain, by this instance',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [metrics.registry],
    });
    metrics.observe('breakglass_audit_unsequenced', 'Audit entries committed but not yet sequenced', [], async () => [
      { value: (await repository.backlog()).count },
    ]);
    metrics.observe('breakglass_audit_unsequenced_oldest_seconds', 'Age of the oldest unsequenced audit entry', [], async () => [
      { value: (await repository.backlog()).oldestAgeSeconds },
    ]);
    readiness.add('auditSequencer', () => this.behind);
    this.events.onCommitted('audit.pending', () => this.loop.wake());
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  wake(): void {
    this.loop.wake();
  }

  /**
   * Sequences batches until nothing committed is left, or another instance holds the claim. A batch
   * is one statement (its own transaction); idle, that is the whole look: no head lock taken.
   */
  private async integrate(): Promise<void> {
    for (;;) {
      const batch = await this.repository.sequenceBatch(BATCH);
      for (const lag of batch.lagsSeconds) this.lag.observe(lag);
      if (batch.sequenced) this.events.publishCommitted('audit.appended');
      this.behind =
        batch.oldestAgeSeconds > DEGRADED_AFTER_SECONDS
          ? `degraded: ${batch.remaining} audit entries wait to be sequenced, the oldest for ${batch.oldestAgeSeconds.toFixed(1)} s`
          : 'ok';
      this.waiting = batch.remaining > 0;
      if (!this.waiting || !batch.claimed) return;
    }
  }

  /** Entries left waiting: look again after RETRY_MS (the claim may be another instance's); none: sleep until woken or IDLE_POLL_MS. */
  private async untilNext(): Promise<number | null> {
    return this.waiting ? RETRY_MS : null;
  }
}
