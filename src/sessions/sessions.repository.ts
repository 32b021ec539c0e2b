import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { GRANT_FACTS_COLUMN, withGrantDates } from '../notifications/grant-facts.sql';
import type { GrantFacts } from '../notifications/notice';
import type { Gap, SessionEvent } from './session-event';

export interface SessionHead {
  grantId: string;
  lastSeq: number;
  hash: string;
  count: number;
  gaps: Gap[];
  sealedHash: string | null;
  sealedAt: Date | null;
}

export interface LockedHead extends SessionHead {
  grantStatus: string;
  endedAt: Date | null;
  requester: string;
  now: Date;
}

export interface ReviewRecord {
  id: string;
  grantId: string;
  reviewer: string;
  outcome: 'approved' | 'findings' | 'violation';
  notes: string;
  chainValid: boolean;
  chainHead: string;
  eventsReviewed: number;
  integrityAcknowledged: boolean;
  at: Date;
}

const EVENT_COLUMNS = `grant_id AS "grant", seq, type, command, cwd, "user", host, started_at AS "startedAt", finished_at AS "finishedAt",
  exit_code AS "exitCode", received_at AS "receivedAt", late, prev_hash AS "prevHash", hash`;
const HEAD_COLUMNS = `h.grant_id AS "grantId", h.last_seq AS "lastSeq", h.hash, h.count, h.gaps, h.sealed_hash AS "sealedHash", h.sealed_at AS "sealedAt"`;

/** Appends the events passed as $1..$14, one array per column (one statement for a whole batch). */
const INSERT_EVENTS = `INSERT INTO session_events (grant_id, seq, type, command, cwd, "user", host, started_at, finished_at, exit_code, received_at, late, prev_hash, hash)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::timestamptz[], $9::timestamptz[], $10::int[], $11::timestamptz[], $12::boolean[], $13::text[], $14::text[])`;

function eventColumns(events: SessionEvent[]): unknown[] {
  const column = <K extends keyof SessionEvent>(key: K) => events.map((event) => event[key]);
  return [column('grant'), column('seq'), column('type'), column('command'), column('cwd'), column('user'), column('host'),
    column('startedAt'), column('finishedAt'), column('exitCode'), column('receivedAt'), column('late'), column('prevHash'), column('hash')];
}

interface EventRow extends Omit<SessionEvent, 'startedAt' | 'finishedAt' | 'receivedAt'> {
  startedAt: Date | null;
  finishedAt: Date | null;
  receivedAt: Date;
}

@Injectable()
export class SessionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async open(tx: EntityManager, grantId: string): Promise<void> {
    await tx.query(`INSERT INTO session_heads (grant_id) VALUES ($1)`, [grantId]);
  }

  /** Locks one grant's chain head (other grants' sessions are not blocked) and reads the clock. */
  async lockHead(tx: EntityManager, grantId: string): Promise<LockedHead | undefined> {
    const [row] = await tx.query(
      `SELECT ${HEAD_COLUMNS}, g.status AS "grantStatus", g.ended_at AS "endedAt", g.requester,
              date_trunc('milliseconds', clock_timestamp()) AS now
         FROM session_heads h JOIN grants g ON g.id = h.grant_id
        WHERE h.grant_id = $1 FOR UPDATE OF h`,
      [grantId],
    );
    return row;
  }

  async existing(tx: EntityManager, grantId: string, seqs: number[]): Promise<SessionEvent[]> {
    const rows: EventRow[] = await tx.query(`SELECT ${EVENT_COLUMNS} FROM session_events WHERE grant_id = $1 AND seq = ANY($2::int[])`, [grantId, seqs]);
    return rows.map(toEvent);
  }

  /** One statement per batch: column arrays through unnest keep it a single round trip. */
  async append(tx: EntityManager, events: SessionEvent[], head: Pick<SessionHead, 'grantId' | 'lastSeq' | 'hash' | 'gaps'>, sealed: boolean): Promise<void> {
    await tx.query(
      `WITH appended AS (
         ${INSERT_EVENTS}
         RETURNING 1)
       UPDATE session_heads
          SET last_seq = $16, hash = $17, count = count + (SELECT count(*) FROM appended), gaps = $18::jsonb,
              sealed_hash = CASE WHEN $19 THEN $17 ELSE sealed_hash END, sealed_at = CASE WHEN $19 THEN now() ELSE sealed_at END
        WHERE grant_id = $15`,
      [
        ...eventColumns(events),
        head.grantId, head.lastSeq, head.hash, JSON.stringify(head.gaps), sealed,
      ],
    );
  }

  /**
   * The fast path: one atomic statement that appends only if the head is still `expected` and the
   * grant is active (optimistic concurrency; no explicit transaction, no lock held across round
   * trips). Answers false when another writer moved the head or the grant ended.
   */
  async appendIfHead(events: SessionEvent[], expected: Pick<SessionHead, 'grantId' | 'lastSeq' | 'hash'>, next: Pick<SessionHead, 'lastSeq' | 'hash' | 'gaps'>): Promise<boolean> {
    // A named statement: parsed and planned once per connection, not once per batch.
    const { rows: [row] } = await this.pool().query({
      name: 'session_append_if_head',
      text: `WITH moved AS (
         UPDATE session_heads h
            SET last_seq = $17, hash = $18, count = h.count + $20, gaps = $19::jsonb
           FROM grants g
          WHERE h.grant_id = $15 AND h.last_seq = $16 AND h.hash = $21 AND g.id = h.grant_id AND g.status = 'active'
         RETURNING 1),
       appended AS (
         ${INSERT_EVENTS}
          WHERE EXISTS (SELECT 1 FROM moved)
         RETURNING 1)
       SELECT (SELECT count(*) FROM moved)::int AS moved`,
      values: [
        ...eventColumns(events),
        expected.grantId, expected.lastSeq, next.lastSeq, next.hash, JSON.stringify(next.gaps), events.length, expected.hash,
      ],
    });
    return row.moved === 1;
  }

  /** TypeORM's own pg pool (for named statements, which TypeORM's query() cannot send). */
  private pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  async seal(tx: EntityManager, grantId: string): Promise<SessionHead> {
    const [[row]] = await tx.query(
      `UPDATE session_heads h SET sealed_hash = hash, sealed_at = now() WHERE grant_id = $1 RETURNING ${HEAD_COLUMNS}`,
      [grantId],
    );
    return row;
  }

  async head(grantId: string): Promise<SessionHead | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${HEAD_COLUMNS} FROM session_heads h WHERE h.grant_id = $1`, [grantId]);
    return row;
  }

  async page(grantId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM session_events WHERE grant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [grantId, afterSeq, limit],
    );
    return rows.map(toEvent);
  }

  /** Every event of a grant in seq order, in keyset batches (constant memory). */
  async *all(grantId: string, batchSize = 5000): AsyncGenerator<SessionEvent> {
    let afterSeq = 0;
    for (;;) {
      const batch = await this.page(grantId, afterSeq, batchSize);
      yield* batch;
      if (batch.length < batchSize) return;
      afterSeq = batch[batch.length - 1].seq;
    }
  }

  async grantFacts(tx: EntityManager, grantId: string): Promise<GrantFacts | undefined> {
    const [row] = await tx.query(`SELECT ${GRANT_FACTS_COLUMN} FROM grants g WHERE g.id = $1`, [grantId]);
    return row ? withGrantDates(row).grant : undefined;
  }

  async insertReview(tx: EntityManager, review: Omit<ReviewRecord, 'id' | 'at'>): Promise<ReviewRecord> {
    const [row] = await tx.query(
      `INSERT INTO session_reviews (grant_id, reviewer, outcome, notes, chain_valid, chain_head, events_reviewed, integrity_acknowledged)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING id, grant_id AS "grantId", reviewer, outcome, notes, chain_valid AS "chainValid", chain_head AS "chainHead",
                 events_reviewed AS "eventsReviewed", integrity_acknowledged AS "integrityAcknowledged", at`,
      [review.grantId, review.reviewer, review.outcome, review.notes, review.chainValid, review.chainHead, review.eventsReviewed, review.integrityAcknowledged],
    );
    return row;
  }

  reviews(grantId: string): Promise<ReviewRecord[]> {
    return this.dataSource.query(
      `SELECT id, grant_id AS "grantId", reviewer, outcome, notes, chain_valid AS "chainValid", chain_head AS "chainHead",
              events_reviewed AS "eventsReviewed", integrity_acknowledged AS "integrityAcknowledged", at
         FROM session_reviews WHERE grant_id = $1 ORDER BY at`,
      [grantId],
    );
  }
}

function toEvent(row: EventRow): SessionEvent {
  return {
    ...row,
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    receivedAt: row.receivedAt.toISOString(),
  };
}
