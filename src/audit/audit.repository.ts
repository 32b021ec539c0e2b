import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
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

/** The only code that reads or writes the audit tables. */
@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Locks the chain head until the caller's transaction ends, and reads the clock while holding
   * it, so seq, prevHash and time all advance together.
   */
  async lockHead(tx: EntityManager): Promise<{ seq: number; hash: string; now: Date }> {
    const [head] = await tx.query(
      `SELECT seq, hash, date_trunc('milliseconds', clock_timestamp()) AS now
         FROM audit_chain_head FOR UPDATE`,
    );
    return { seq: Number(head.seq), hash: head.hash, now: head.now };
  }

  /** `dataCanonical`: the RFC 8785 text of `data` that was hashed, which is how `data` is stored. */
  async insert(tx: EntityManager, events: { event: AuditEvent; dataCanonical: string }[]): Promise<void> {
    const params: unknown[] = [];
    const rows = events.map(({ event, dataCanonical }) => {
      const values = [event.seq, event.at, event.actor, event.action, event.grant, event.target, dataCanonical, event.controls, event.prevHash, event.hash];
      const placeholders = values.map((value) => {
        params.push(value);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    const last = events[events.length - 1].event;
    params.push(last.seq, last.hash);
    // One statement (one round trip) while the chain head is locked: every grant waits on that lock.
    await tx.query(
      `WITH appended AS (INSERT INTO audit_events (${INSERT_COLUMNS}) VALUES ${rows.join(', ')} RETURNING 1)
       UPDATE audit_chain_head SET seq = $${params.length - 1}, hash = $${params.length}`,
      params,
    );
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
  readonly arrayRowQuery: ArrayRowQuery = async (text, values) =>
    (await (this.dataSource.driver as PostgresDriver).master.query({ text, values, rowMode: 'array' })).rows;

  async head(): Promise<{ seq: number; hash: string }> {
    const [head] = await this.dataSource.query('SELECT seq, hash FROM audit_chain_head');
    return { seq: Number(head.seq), hash: head.hash };
  }
}
