import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SessionEventFields } from '../sessions/session-event';
import type { SessionEventBody } from '../sessions/sessions.dto';
import { type ApiClient } from './api-client';
import { spoolDir } from './local-state';

/** What the recorder sends: the session event fields the client owns (docs/api.md, "Session records"). */
export type RecordedEvent = Omit<SessionEventFields, 'grant' | 'receivedAt' | 'type'> & { type: SessionEventBody['type'] };

interface SpoolState {
  nextSeq: number;
  ackedSeq: number;
}

const BATCH = 200;

/**
 * Events are written here first (one JSON line each), then posted; the broker being down never
 * blocks the engineer. `ackedSeq` moves only when the broker answered, and re-sending an event the
 * broker already has is harmless (seq is idempotent), so a crash anywhere loses and duplicates nothing.
 */
export class Spool {
  private readonly file: string;
  private readonly stateFile: string;

  constructor(
    readonly grantId: string,
    dir = spoolDir(),
  ) {
    this.file = path.join(dir, `${grantId}.jsonl`);
    this.stateFile = path.join(dir, `${grantId}.state.json`);
  }

  static grantsWithSpools(dir = spoolDir()): string[] {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.jsonl'))
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

  /** Posts what the broker has not acknowledged; answers how many were sent, or throws. */
  async flush(client: ApiClient): Promise<number> {
    const pending = this.pending();
    for (let start = 0; start < pending.length; start += BATCH) {
      const batch = pending.slice(start, start + BATCH);
      await client.post(`v1/grants/${encodeURIComponent(this.grantId)}/events`, { events: batch });
      this.locked(() => {
        const state = this.state();
        state.ackedSeq = Math.max(state.ackedSeq, batch[batch.length - 1].seq);
        writeFileSync(this.stateFile, JSON.stringify(state));
      });
    }
    return pending.length;
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
