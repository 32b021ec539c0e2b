import { Injectable } from '@nestjs/common';
import { Metrics } from '../health/metrics.service';
import type { SessionEvent } from '../sessions/session-event';
import { Sessions, type BrokerRecord } from '../sessions/sessions.service';

interface Waiting {
  record: BrokerRecord;
  resolve: (event: SessionEvent) => void;
  reject: (error: Error) => void;
}

interface GrantQueue {
  waiting: Waiting[];
  /** The append in flight: the next one starts after it, so records keep their order. */
  running?: Promise<void>;
  /** Records that could not be written (best-effort): a `gap` record says so once writing works again. */
  lost: number;
  lazyTimer?: NodeJS.Timeout;
}

/** How long a lazy record waits for company before it is appended alone. */
const LAZY_MS = 20;

/**
 * Writes the proxy's records into each grant's session chain. Records of one grant that arrive while
 * an append is in flight, from any number of connections, go into the next append together (group
 * commit): strict recording stays one round trip per batch, not per statement.
 */
@Injectable()
export class StatementRecorder {
  private readonly queues = new Map<string, GrantQueue>();

  constructor(
    private readonly sessions: Sessions,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Resolves with the record as chained (its seq), once committed. A `lazy` record (a statement's
   * outcome: nothing waits for it) rides along with the next append, or goes on its own after
   * LAZY_MS: one append per round of statements instead of two.
   */
  record(grantId: string, record: BrokerRecord, lazy = false): Promise<SessionEvent> {
    const queue = this.queues.get(grantId) ?? this.newQueue(grantId);
    return new Promise((resolve, reject) => {
      queue.waiting.push({ record, resolve, reject });
      if (queue.running) return;
      if (!lazy) {
        clearTimeout(queue.lazyTimer);
        queue.running = this.drain(grantId, queue);
      } else {
        queue.lazyTimer ??= setTimeout(() => {
          queue.lazyTimer = undefined;
          if (!queue.running && queue.waiting.length) queue.running = this.drain(grantId, queue);
        }, LAZY_MS);
      }
    });
  }

  /** A record the caller gave up on (best-effort): counted, and marked by a gap record later. */
  lost(grantId: string, count = 1): void {
    (this.queues.get(grantId) ?? this.newQueue(grantId)).lost += count;
    this.metrics.proxyRecordsLost.inc(count);
  }

  private newQueue(grantId: string): GrantQueue {
    const queue: GrantQueue = { waiting: [], lost: 0 };
    this.queues.set(grantId, queue);
    return queue;
  }

  private async drain(grantId: string, queue: GrantQueue): Promise<void> {
    clearTimeout(queue.lazyTimer);
    queue.lazyTimer = undefined;
    // One turn of the event loop lets the other connections' statements of this moment join in.
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.waiting.length) {
      const batch = queue.waiting.splice(0);
      const lost = queue.lost;
      const gap: BrokerRecord[] = lost
        ? [
            {
              type: 'gap',
              command: null,
              cwd: null,
              user: null,
              host: null,
              startedAt: new Date().toISOString(),
              finishedAt: null,
              exitCode: null,
              detail: { lost, reason: 'records of the recording proxy could not be written (the broker database was unavailable)' },
            },
          ]
        : [];
      try {
        const events = await this.sessions.record(grantId, [...gap, ...batch.map((waiting) => waiting.record)]);
        queue.lost -= lost;
        batch.forEach((waiting, i) => waiting.resolve(events[gap.length + i]));
      } catch (error) {
        batch.forEach((waiting) => waiting.reject(error as Error));
      }
    }
    queue.running = undefined;
    if (!queue.lost && !queue.lazyTimer) this.queues.delete(grantId);
  }
}
