import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { pgPoolOf } from '../database/data-source';
import type { AuditEvent } from './audit-event';
import { EVENT_COLUMNS as COLUMNS, toEvent, type AuditRow } from './audit.sql';
import type { ArrayRowQuery } from './range-verify';

export interface AuditFilter {
  afterSeq?: number;
  from?: string;
  to?: string;
  grant?: string;
  control?: string;
  action?: string;
}

/** An audit entry as a caller's transaction stores it, before it has a seq. */
export interface PendingEntry {
  actor: string;
  action: string;
  grant: string | null;
  target: string | null;
  dataCanonical: string;
  controls: string[];
}

/** The only code that reads or writes the audit tables. */
@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds entries unsequenced, inside the caller's transaction (they commit with its state change or
   * not at all). Nothing here locks anything shared: writers do not queue on the chain head.
   */
  async insertPending(tx: EntityManager, entries: PendingEntry[]): Promise<number[]> {
    const column = <K extends keyof PendingEntry>(key: K) => entries.map((entry) => entry[key]);
    const rows: { id: string }[] = await tx.query(
      `INSERT INTO audit_pending (actor, action, grant_id, target, data_canonical, controls)
       SELECT actor, action, grant_id, target, data_canonical, string_to_array(controls, ',')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(actor, action, grant_id, target, data_canonical, controls)
       RETURNING id`,
      [column('actor'), column('action'), column('grant'), column('target'), column('dataCanonical'), entries.map((entry) => entry.controls.join(','))],
    );
    return rows.map((row) => Number(row.id));
  }

  /**
   * One batch of the integrator, in one statement and a transaction of its own (the function of
   * migration AuditSequenceFunction; docs/decisions.md): the claim, up to `limit` committed entries
   * sequenced with the Part 1 formula, and what is left waiting. Not claimed: another instance holds it.
   */
  async sequenceBatch(limit: number): Promise<{ claimed: boolean; sequenced: number; lagsSeconds: number[]; remaining: number; oldestAgeSeconds: number }> {
    const {
      rows: [row],
    } = await pgPoolOf(this.dataSource).query<{ claimed: boolean; sequenced: number; lags: number[]; remaining: number; oldest_age: number }>({
      name: 'audit_sequence_batch',
      text: 'SELECT claimed, sequenced, lags, remaining, oldest_age FROM breakglass_sequence_audit($1)',
      values: [limit],
    });
    return { claimed: row.claimed, sequenced: row.sequenced, lagsSeconds: row.lags, remaining: row.remaining, oldestAgeSeconds: row.oldest_age };
  }

  /** The newest unsequenced entry committed so far (null when none), and the age of the oldest. */
  async backlog(): Promise<{ newestId: number | null; count: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query(
      `SELECT max(id) AS newest, count(*)::int AS count, coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS age FROM audit_pending`,
    );
    return { newestId: row.newest === null ? null : Number(row.newest), count: row.count, oldestAgeSeconds: row.age };
  }

  /** Whether every entry up to `id` has been sequenced. */
  async sequencedThrough(id: number): Promise<boolean> {
    const [row] = await this.dataSource.query(`SELECT NOT EXISTS (SELECT 1 FROM audit_pending WHERE id <= $1) AS done`, [id]);
    return row.done;
  }

  /** The seq an entry got, once sequenced. */
  async seqOfEntry(entryId: number): Promise<number | null> {
    const [row] = await this.dataSource.query(`SELECT seq FROM audit_events WHERE entry_id = $1`, [entryId]);
    return row ? Number(row.seq) : null;
  }

  async page(filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const rows: AuditRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM audit_events
        WHERE ($1::bigint IS NULL OR seq > $1)
          AND ($2::timestamptz IS NULL OR at >= $2)
          AND ($3::timestamptz IS NULL OR at < $3)
          AND ($4::text IS NULL OR grant_id = $4)
          AND ($5::text IS NULL OR controls @> ARRAY[$5::text])
          AND ($6::text IS NULL OR action = $6)
        ORDER BY seq
        LIMIT $7`,
      [filter.afterSeq ?? null, filter.from ?? null, filter.to ?? null, filter.grant ?? null, filter.control ?? null, filter.action ?? null, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * Streams matching events in seq order through a server-side cursor (constant memory for any
   * range). `emit` may return a promise to apply backpressure.
   */
  async stream(filter: Omit<AuditFilter, 'afterSeq'>, emit: (event: AuditEvent) => void | Promise<void>, fetchSize = 2000): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let count = 0;
    try {
      await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await runner.query(
        `DECLARE audit_export NO SCROLL CURSOR FOR
         SELECT ${COLUMNS} FROM audit_events
          WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
            AND ($3::text IS NULL OR grant_id = $3) AND ($4::text IS NULL OR controls @> ARRAY[$4::text])
            AND ($5::text IS NULL OR action = $5)
          ORDER BY seq`,
        [filter.from ?? null, filter.to ?? null, filter.grant ?? null, filter.control ?? null, filter.action ?? null],
      );
      for (;;) {
        const rows: AuditRow[] = await runner.query(`FETCH ${fetchSize} FROM audit_export`);
        for (const row of rows) {
          await emit(toEvent(row));
          count++;
        }
        if (rows.length < fetchSize) break;
      }
      await runner.query('COMMIT');
      return count;
    } catch (error) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * The head, and whether any event lies past it, in one snapshot: appends move the head in the
   * same transaction, so an event past it was inserted around the log.
   */
  async headForVerification(): Promise<{ seq: number; hash: string; eventsBeyondHead: boolean }> {
    const [head] = await this.dataSource.query(
      `SELECT h.seq, h.hash, EXISTS (SELECT 1 FROM audit_events e WHERE e.seq > h.seq) AS beyond FROM audit_chain_head h`,
    );
    return { seq: Number(head.seq), hash: head.hash, eventsBeyondHead: head.beyond };
  }

  /** Rows as arrays straight from the pool (concurrent queries take separate connections). */
  readonly arrayRowQuery: ArrayRowQuery = async (text, values) => (await pgPoolOf(this.dataSource).query({ text, values, rowMode: 'array' })).rows;

  async head(): Promise<{ seq: number; hash: string }> {
    const [head] = await this.dataSource.query('SELECT seq, hash FROM audit_chain_head');
    return { seq: Number(head.seq), hash: head.hash };
  }
}
