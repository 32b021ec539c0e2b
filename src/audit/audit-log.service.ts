import { availableParallelism } from 'node:os';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainEventBus } from '../common/domain-events';
import { unstorableTextProblem } from '../common/storable-text';
import { requireTimeRange } from '../common/time-range';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { Metrics } from '../health/metrics.service';
import { type AuditEntry, type AuditEvent, type JsonValue } from './audit-event';
import { AuditIntegrator } from './audit-integrator';
import { AuditError } from './audit.errors';
import { AuditRepository, type AuditFilter } from './audit.repository';
import type { AuditPage } from './audit.views';
import { canonicalJson, type ChainVerdict } from './chain';
import { controlsFor } from './control-catalogue';
import { joinRangeVerdicts, splitIntoRanges, verifyRanges } from './range-verify';

const VERIFY_RANGE_SIZE = 50_000;
// The hashing runs in PostgreSQL, one backend per concurrent range: one per core (bench/README.md).
export const VERIFY_CONNECTIONS = Math.min(availableParallelism(), 4);

declare module '../common/domain-events' {
  interface CommittedEvents {
    /** Audit events were sequenced into the chain (the SIEM forwarders and the tree follower wake up). */
    'audit.appended': true;
  }
}

/**
 * The global hash-chained audit log. Other domains call `append` inside their own transaction,
 * so a state change and its audit entry commit together or not at all (fail closed).
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly repository: AuditRepository,
    private readonly metrics: Metrics,
    private readonly policy: LoadedPolicy,
    private readonly events: DomainEventBus,
    private readonly integrator: AuditIntegrator,
  ) {}

  /**
   * Adds entries to the log inside the caller's transaction, unsequenced: they commit with the
   * state change or not at all (fail closed), and the integrator gives them their seq, time and
   * hashes within milliseconds (audit-integrator.ts). Returns the entries' ids (`seqOfEntry`).
   */
  async append(tx: EntityManager, ...entries: AuditEntry[]): Promise<number[]> {
    if (!entries.length) return [];
    const pending = entries.map((entry) => {
      for (const [name, text] of [
        ['actor', entry.actor],
        ['target', entry.target],
        ['grant', entry.grant],
      ] as const) {
        const problem = text ? unstorableTextProblem(text) : undefined;
        if (problem) throw new AuditError('unhashable_audit_data', `Audit ${name} for ${entry.action} ${problem}`);
      }
      return {
        actor: entry.actor,
        action: entry.action,
        grant: entry.grant ?? null,
        target: entry.target ?? null,
        dataCanonical: canonicalJson(toHashableObject(entry.data ?? {}, entry.action)),
        controls: controlsFor(entry.action, this.targetControls(entry)),
      };
    });
    const ids = await this.repository.insertPending(tx, pending);
    for (const entry of pending) this.metrics.auditEvents.inc({ action: entry.action });
    this.events.publishAfterCommit(tx, 'audit.pending');
    return ids;
  }

  /**
   * Read-your-writes: waits until every entry committed before the call is sequenced, so a list,
   * export or verdict read afterwards includes what the caller (or anyone) just did. A 503
   * `audit_sequencing_behind` when the integrator cannot catch up within `timeoutMs`.
   */
  async settled(timeoutMs = 5000): Promise<void> {
    const { newestId } = await this.repository.backlog();
    if (newestId === null) return;
    this.integrator.wake();
    const deadline = Date.now() + timeoutMs;
    for (let pause = 2; !(await this.repository.sequencedThrough(newestId)); pause = Math.min(pause * 2, 50)) {
      if (Date.now() > deadline)
        throw new AuditError('audit_sequencing_behind', `Audit entries committed before this request are not sequenced yet (after ${timeoutMs} ms); try again`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** The seq an entry from `append` got; waits for it to be sequenced. */
  async seqOfEntry(entryId: number): Promise<number> {
    await this.settled();
    const seq = await this.repository.seqOfEntry(entryId);
    if (seq === null) throw new AuditError('audit_sequencing_behind', `Audit entry ${entryId} has no seq yet`);
    return seq;
  }

  /** Events after `afterSeq`, in seq order (forwarders read from their cursor). */
  after(afterSeq: number, limit: number): Promise<AuditEvent[]> {
    return this.repository.page({ afterSeq }, limit);
  }

  async list(filter: AuditFilter, limit: number): Promise<AuditPage> {
    requireTimeRange(filter);
    await this.settled();
    const events = await this.repository.page(filter, limit);
    return { events, next: events.length === limit ? events[events.length - 1].seq : null };
  }

  /** Every audit event about one grant, in seq order. */
  async forGrant(grantId: string): Promise<AuditEvent[]> {
    await this.settled();
    const events: AuditEvent[] = [];
    for (;;) {
      const page = await this.repository.page({ grant: grantId, afterSeq: events.at(-1)?.seq }, 1000);
      events.push(...page);
      if (page.length < 1000) return events;
    }
  }

  async stream(filter: Omit<AuditFilter, 'afterSeq'>, emit: (event: AuditEvent) => void | Promise<void>): Promise<number> {
    await this.settled();
    return this.repository.stream(filter, emit);
  }

  async head(): Promise<{ seq: number; hash: string }> {
    await this.settled();
    return this.repository.head();
  }

  /**
   * Recomputes every hash from the stored fields; pinpoints the first altered or missing seq.
   * The chain is checked by seq ranges, several at a time (range-verify.ts).
   */
  async verify(parallelism: { connections?: number; rangeSize?: number } = {}): Promise<ChainVerdict> {
    await this.settled();
    const head = await this.repository.headForVerification();
    const ranges = splitIntoRanges(head.seq, parallelism.rangeSize ?? VERIFY_RANGE_SIZE);
    const verdicts = await verifyRanges(this.repository.arrayRowQuery, ranges, parallelism.connections ?? VERIFY_CONNECTIONS);
    return joinRangeVerdicts(verdicts, head, head.eventsBeyondHead);
  }

  /** The policy's `controls` of the targets an entry concerns (a target no longer in the policy adds none). */
  private targetControls(entry: AuditEntry): string[] {
    const names = [entry.target, ...(entry.alsoConcerns ?? [])].filter((name): name is string => !!name);
    return [...new Set(names)].flatMap((name) => findTarget(this.policy, name)?.controls ?? []);
  }
}

/**
 * The hash covers what the database stores, so only values that survive a jsonb round trip
 * unchanged may go in: safe integers (no floats), strings PostgreSQL can hold, booleans, null.
 * `undefined` becomes null (absent values are null, never missing keys); dates become ISO strings.
 */
function toHashableObject(data: Record<string, unknown>, action: string): { [key: string]: JsonValue } {
  const storable = (text: string, at: string): string => {
    const problem = unstorableTextProblem(text);
    if (problem) throw unhashable(at, problem);
    return text;
  };
  const convert = (value: unknown, at: string): JsonValue => {
    if (value === undefined || value === null) return null;
    if (value instanceof Date) return value.toISOString();
    switch (typeof value) {
      case 'string':
        return storable(value, at);
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isSafeInteger(value)) throw unhashable(at, `${value} is not a safe integer`);
        return value;
      case 'object':
        if (Array.isArray(value)) return value.map((item, index) => convert(item, `${at}[${index}]`));
        return Object.fromEntries(Object.entries(value as object).map(([key, item]) => [storable(key, `${at} (a key)`), convert(item, `${at}.${key}`)]));
      default:
        throw unhashable(at, `has unsupported type ${typeof value}`);
    }
  };
  const unhashable = (at: string, problem: string) => new AuditError('unhashable_audit_data', `Audit data for ${action} at ${at} ${problem}`);
  return convert(data, 'data') as { [key: string]: JsonValue };
}
