import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { endedGrantMessage, type EndedGrant } from '../access/ended-grant';
import type { SessionEventFields } from '../sessions/session-event';
import type { SessionEventBody } from '../sessions/sessions.dto';
import { ApiError, type ApiClient } from './api-client';
import { spoolDir } from './local-state';

/** What the recorder sends: the session event fields the client owns (docs/api.md, "Session records"). */
export type RecordedEvent = Omit<SessionEventFields, 'grant' | 'receivedAt' | 'type'> & { type: SessionEventBody['type'] };

interface SpoolState {
  nextSeq: number;
  ackedSeq: number;
}

const BATCH = 200;
/** Events the broker refused for good because the grant had ended: kept, never sent again. */
const AFTER_END_SUFFIX = '.after-end.jsonl';

/** What one flush did: sent, and what the broker can no longer take because the grant ended. */
export interface FlushOutcome {
  sent: number;
  /** Events stamped after the grant ended, moved to `afterEndFile` (kept for the record, never retried). */
  setAside: number;
  afterEndFile: string;
  /** The broker's word on the end ("… was revoked by sec-1 at …: reason — request a new grant"), when it said so. */
  ended: string | null;
}

/**
 * Events are written here first (one JSON line each), then posted; the broker being down never
 * blocks the engineer. `ackedSeq` moves only when the broker answered, and re-sending an event the
 * broker already has is harmless (seq is idempotent), so a crash anywhere loses and duplicates nothing.
 */
export class Spool {
  private readonly file: string;
  private readonly stateFile: string;
  readonly afterEndFile: string;

  constructor(
    readonly grantId: string,
    dir = spoolDir(),
  ) {
    this.file = path.join(dir, `${grantId}.jsonl`);
    this.stateFile = path.join(dir, `${grantId}.state.json`);
    this.afterEndFile = path.join(dir, `${grantId}${AFTER_END_SUFFIX}`);
  }

  static grantsWithSpools(dir = spoolDir()): string[] {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.jsonl') && !name.endsWith(AFTER_END_SUFFIX))
      .map((name) => name.slice(0, -'.jsonl'.length));
  }

  /** Appends events with the next seqs (a directory lock keeps parallel recorders apart). */
  append(events: Omit<RecordedEvent, 'seq'>[]): RecordedEvent[] {
    return this.locked(() => {
      const state = this.state();
      const numbered = events.map((event) => ({ seq: state.nextSeq++, ...event }));
      appendFileSync(this.file, numbered.map((event) => `${JSON.stringify(event)}\n`).join(''), { mode: 0o600 });
      writeFileSync(this.stateFile, JSON.stringify(state));
      return numbered;
    });
  }

  pending(): RecordedEvent[] {
    if (!existsSync(this.file)) return [];
    const { ackedSeq } = this.state();
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedEvent)
      .filter((event) => event.seq > ackedSeq);
  }

  /**
   * Posts what the broker has not acknowledged, or throws (broker unreachable). Once the grant has
   * ended the broker still takes events stamped before the end (marked late) and refuses the rest for
   * good: those are moved aside, once, instead of blocking the spool forever.
   */
  async flush(client: ApiClient): Promise<FlushOutcome> {
    const outcome: FlushOutcome = { sent: 0, setAside: 0, afterEndFile: this.afterEndFile, ended: null };
    const pending = this.pending();
    try {
      outcome.sent = await this.post(client, pending);
    } catch (error) {
      const end = endOf(error);
      if (!end) throw error;
      const endedAt = Date.parse(end.endedAt);
      outcome.ended = endedGrantMessage(end);
      const stampedAfter = (event: RecordedEvent) => !event.startedAt || Date.parse(event.startedAt) > endedAt;
      const { ackedSeq } = this.state();
      const unsent = pending.filter((event) => event.seq > ackedSeq);
      outcome.sent += await this.post(
        client,
        unsent.filter((event) => !stampedAfter(event)),
      );
      const late = unsent.filter(stampedAfter);
      if (late.length) {
        appendFileSync(this.afterEndFile, late.map((event) => `${JSON.stringify(event)}\n`).join(''), { mode: 0o600 });
        this.acknowledge(Math.max(...late.map((event) => event.seq)));
      }
      outcome.setAside = late.length;
    }
    return outcome;
  }

  /** Posts events in batches, moving ackedSeq after each answer; answers how many were sent. */
  private async post(client: ApiClient, events: RecordedEvent[]): Promise<number> {
    for (let start = 0; start < events.length; start += BATCH) {
      const batch = events.slice(start, start + BATCH);
      await client.post(`v1/grants/${encodeURIComponent(this.grantId)}/events`, { events: batch });
      this.acknowledge(batch[batch.length - 1].seq);
    }
    return events.length;
  }

  /** Moves ackedSeq up to `seq`; events set aside count as handled (they are in the after-end file). */
  private acknowledge(seq: number): void {
    this.locked(() => {
      const state = this.state();
      state.ackedSeq = Math.max(state.ackedSeq, seq);
      writeFileSync(this.stateFile, JSON.stringify(state));
    });
  }

  private state(): SpoolState {
    return existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as SpoolState) : { nextSeq: 1, ackedSeq: 0 };
  }

  private locked<T>(work: () => T): T {
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    try {
      return work();
    } finally {
      rmdirSync(lock);
    }
  }
}

/** The ended grant, when the broker refused a batch because the grant ended (`session_ended`), else null. */
function endOf(error: unknown): (EndedGrant & { endedAt: string }) | null {
  if (!(error instanceof ApiError) || error.code !== 'session_ended') return null;
  const details = error.details as (EndedGrant & { endedAt: string }) | undefined;
  return details && !Number.isNaN(Date.parse(details.endedAt)) ? details : null;
}
