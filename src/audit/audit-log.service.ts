import { availableParallelism } from 'node:os';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainEventBus } from '../common/domain-events';
import { unstorableTextProblem } from '../common/storable-text';
import { requireTimeRange } from '../common/time-range';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { Metrics } from '../health/metrics.service';
import { auditEventHash, type AuditEntry, type AuditEvent, type JsonValue } from './audit-event';
import { AuditError } from './audit.errors';
import { AuditRepository, type AuditFilter } from './audit.repository';
import type { AuditPage } from './audit.views';
import { canonicalJson, type ChainVerdict } from './chain';
import { controlsFor } from './control-catalogue';
import { joinRangeVerdicts, splitIntoRanges, verifyRanges } from './range-verify';

const VERIFY_RANGE_SIZE = 50_000;
// The hashing runs in PostgreSQL, one backend per concurrent range: one per core (bench/README.md).
export const VERIFY_CONNECTIONS = Math.min(availableParallelism(), 4);

/**
 * The global hash-chained audit log. Other domains call `append` inside their own transaction,
 * so a state change and its audit event commit together or not at all (fail closed).
 */
declare module '../common/domain-events' {
  interface CommittedEvents {
    /** A transaction appended audit events (the SIEM forwarders wake up). */
    'audit.appended': true;
  }
}

@Injectable()
export class AuditLog {
  constructor(
    private readonly repository: AuditRepository,
    private readonly metrics: Metrics,
    private readonly policy: LoadedPolicy,
    private readonly events: DomainEventBus,
  ) {}

  async append(tx: EntityManager, ...entries: AuditEntry[]): Promise<AuditEvent[]> {
    if (!entries.length) return [];
    const head = await this.repository.lockHead(tx);
    let { seq, hash: prevHash } = head;
    const at = head.now.toISOString();
    const stored = entries.map((entry) => {
      for (const [name, text] of [
        ['actor', entry.actor],
        ['target', entry.target],
        ['grant', entry.grant],
      ] as const) {
        const problem = text ? unstorableTextProblem(text) : undefined;
        if (problem) throw new AuditError('unhashable_audit_data', `Audit ${name} for ${entry.action} ${problem}`);
      }
      const fields = {
        seq: ++seq,
        at,
        actor: entry.actor,
        action: entry.action,
        grant: entry.grant ?? null,
        target: entry.target ?? null,
        data: toHashableObject(entry.data ?? {}, entry.action),
        controls: controlsFor(entry.action, this.targetControls(entry)),
      };
      const dataCanonical = canonicalJson(fields.data);
      const hash = auditEventHash(prevHash, fields, dataCanonical);
      const event: AuditEvent = { ...fields, prevHash, hash };
      prevHash = hash;
      return { event, dataCanonical };
    });
    await this.repository.insert(tx, stored);
    const events = stored.map(({ event }) => event);
    for (const event of events) this.metrics.auditEvents.inc({ action: event.action });
    this.events.publishAfterCommit(tx, 'audit.appended');
    return events;
  }

  /** Events after `afterSeq`, in seq order (forwarders read from their cursor). */
  after(afterSeq: number, limit: number): Promise<AuditEvent[]> {
    return this.repository.page({ afterSeq }, limit);
  }

  async list(filter: AuditFilter, limit: number): Promise<AuditPage> {
    requireTimeRange(filter);
    const events = await this.repository.page(filter, limit);
    return { events, next: events.length === limit ? events[events.length - 1].seq : null };
  }

  /** Every audit event about one grant, in seq order. */
  async forGrant(grantId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    for (;;) {
      const page = await this.repository.page({ grant: grantId, afterSeq: events.at(-1)?.seq }, 1000);
      events.push(...page);
      if (page.length < 1000) return events;
    }
  }

  stream(filter: Omit<AuditFilter, 'afterSeq'>, emit: (event: AuditEvent) => void | Promise<void>): Promise<number> {
    return this.repository.stream(filter, emit);
  }

  head(): Promise<{ seq: number; hash: string }> {
    return this.repository.head();
  }

  /**
   * Recomputes every hash from the stored fields; pinpoints the first altered or missing seq.
   * The chain is checked by seq ranges, several at a time (range-verify.ts).
   */
  async verify(parallelism: { connections?: number; rangeSize?: number } = {}): Promise<ChainVerdict> {
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
