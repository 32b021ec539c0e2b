import { Logger } from '@nestjs/common';

export interface DueWork {
  /** Handles everything due now; claims rows with FOR UPDATE SKIP LOCKED so instances share work. */
  processDue(): Promise<void>;
  /** Milliseconds until the next item falls due by the database clock, or null when none. */
  millisUntilNext(): Promise<number | null>;
}

/**
 * Sleeps until the next due time rather than polling on a cron, so work runs within
 * milliseconds of being due. The sleep is capped (`maxSleepMs`) so items created by another
 * instance, or left by a crashed one, are picked up within that cap; `wake()` cuts it short.
 */
export class DueWorkLoop {
  private readonly logger: Logger;
  private stopped = true;
  private running?: Promise<void>;
  /** While it sleeps: ends the sleep within `ms` (0: now). */
  private wakeUp?: (ms: number) => void;
  /** When the loop will look next (epoch ms), while it sleeps. */
  private nextRunAt = 0;
  /** wake() came while the work ran: it may have missed what the wake was for, so it runs again (after coalesceMs). */
  private wokenWhileWorking = false;

  /**
   * @param coalesceMs a wake runs the work this long after it rather than at once, so the wakes of
   *   commits that come close together share one run (one batch) instead of one run each.
   */
  constructor(
    name: string,
    private readonly work: DueWork,
    private readonly maxSleepMs = 1000,
    private readonly coalesceMs = 0,
  ) {
    this.logger = new Logger(name);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.(0);
    await this.running;
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp(this.coalesceMs);
    else this.wokenWhileWorking = true;
  }

  /** Wakes the loop only if `dueAt` comes before its next planned look (saves work for far-off items). */
  wakeIfDueBefore(dueAt: Date): void {
    if (dueAt.getTime() < this.nextRunAt) this.wakeUp?.(0);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let sleepMs = this.maxSleepMs;
      let failed = false;
      this.wokenWhileWorking = false;
      try {
        await this.work.processDue();
        const next = await this.work.millisUntilNext();
        if (next !== null) sleepMs = Math.min(Math.max(next, 0), this.maxSleepMs);
      } catch (error) {
        failed = true;
        if (!this.stopped) this.logger.warn(`will retry: ${(error as Error).message}`);
      }
      if (this.stopped) return;
      // After a failure the loop waits its sleep whatever woke it: no tight retry loop while the database is down.
      if (this.wokenWhileWorking && !failed) {
        if (!this.coalesceMs) continue;
        sleepMs = Math.min(sleepMs, this.coalesceMs);
      }
      this.nextRunAt = Date.now() + sleepMs;
      await new Promise<void>((resolve) => {
        let timer = setTimeout(resolve, sleepMs);
        this.wakeUp = (ms) => {
          if (ms > 0 && this.nextRunAt - Date.now() <= ms) return; // due sooner anyway
          clearTimeout(timer);
          this.nextRunAt = Date.now() + ms;
          timer = setTimeout(resolve, ms);
        };
      });
      this.wakeUp = undefined;
      this.nextRunAt = 0;
    }
  }
}
