import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { pgPoolOf } from '../database/data-source';
import type { AuditEvent } from './audit-event';
import { EVENT_COLUMNS as COLUMNS, INSERT_COLUMNS, toEvent, type AuditRow } from './audit.sql';
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

export interface PendingRow extends PendingEntry {
  id: number;
  createdAt: Date;
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
   * The integrator's claim for one batch: an advisory lock (one integrator at a time across
   * instances; released with the transaction, so a dead one's claim ends with its connection) and
   * the chain head, locked, with the last event's time and the clock.
   */
  async claimHead(tx: EntityManager): Promise<{ seq: number; hash: string; lastAt: Date | null; now: Date } | null> {
    const [claim] = await tx.query(`SELECT pg_try_advisory_xact_lock(hashtextextended('breakglass:audit-integrator', 0)) AS claimed`);
    if (!claim.claimed) return null;
    const [head] = await tx.query(
      `SELECT h.seq, h.hash, (SELECT at FROM audit_events e WHERE e.seq = h.seq) AS "lastAt", date_trunc('milliseconds', clock_timestamp()) AS now
         FROM audit_chain_head h FOR UPDATE`,
    );
    return { seq: Number(head.seq), hash: head.hash, lastAt: head.lastAt, now: head.now };
  }

  /** Committed unsequenced entries, oldest first (those of transactions still open are not visible). */
  async pendingBatch(tx: EntityManager, limit: number): Promise<PendingRow[]> {
    const rows = await tx.query(
      `SELECT id, created_at AS "createdAt", actor, action, grant_id AS "grant", target, data_canonical AS "dataCanonical", array_to_string(controls, ',') AS controls
         FROM audit_pending ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map((row: Omit<PendingRow, 'id' | 'controls'> & { id: string; controls: string }) => ({
      ...row,
      id: Number(row.id),
      controls: row.controls ? row.controls.split(',') : [],
    }));
  }

  /** Writes the sequenced events, moves the head, and removes their entries (the trigger checks each has its event). */
  async sequence(tx: EntityManager, events: { event: AuditEvent; dataCanonical: string; entryId: number }[]): Promise<void> {
    const column = (pick: (e: (typeof events)[number]) => unknown) => events.map(pick);
    await tx.query(
      `INSERT INTO audit_events (${INSERT_COLUMNS}, entry_id)
       SELECT seq, at, actor, action, grant_id, target, data_canonical, string_to_array(controls, ','), prev_hash, hash, entry_id
         FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])
           AS e(seq, at, actor, action, grant_id, target, data_canonical, controls, prev_hash, hash, entry_id)`,
      [
        column((e) => e.event.seq),
        column((e) => e.event.at),
        column((e) => e.event.actor),
        column((e) => e.event.action),
        column((e) => e.event.grant),
        column((e) => e.event.target),
        column((e) => e.dataCanonical),
        column((e) => e.event.controls.join(',')),
        column((e) => e.event.prevHash),
        column((e) => e.event.hash),
        column((e) => e.entryId),
      ],
    );
    const last = events[events.length - 1].event;
    await tx.query(`DELETE FROM audit_pending WHERE id = ANY($1::bigint[])`, [column((e) => e.entryId)]);
    await tx.query(`UPDATE audit_chain_head SET seq = $1, hash = $2`, [last.seq, last.hash]);
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
