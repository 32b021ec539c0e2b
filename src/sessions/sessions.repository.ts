import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { pgPoolOf } from '../database/data-source';
import { GRANT_FACTS_COLUMN, withGrantDates } from '../notifications/grant-facts.sql';
import type { GrantFacts } from '../notifications/notice';
import type { Gap, SessionEvent } from './session-event';
import type { ReviewRecord } from './sessions.views';

export type { ReviewRecord } from './sessions.views';

export interface SessionHead {
  grantId: string;
  /** The chain's last seq (every record, whoever wrote it). */
  lastSeq: number;
  /** The highest seq a client (the CLI) has sent; gaps are counted in the clients' seqs. */
  clientLastSeq: number;
  hash: string;
  count: number;
  gaps: Gap[];
  sealedHash: string | null;
  sealedAt: Date | null;
}

export interface LockedHead extends SessionHead {
  grantStatus: string;
  endedAt: Date | null;
  endedBy: string | null;
  endReason: string | null;
  requester: string;
  now: Date;
}

const REVIEW_COLUMNS = `id, grant_id AS "grantId", reviewer, outcome, notes, chain_valid AS "chainValid", chain_head AS "chainHead",
  events_reviewed AS "eventsReviewed", integrity_acknowledged AS "integrityAcknowledged", covers_seq AS "coversSeq", interim, supersedes, at`;
const EVENT_COLUMNS = `grant_id AS "grant", seq, type, command, cwd, "user", host, started_at AS "startedAt", finished_at AS "finishedAt",
  exit_code AS "exitCode", received_at AS "receivedAt", late, prev_hash AS "prevHash", hash, format, detail, client_seq AS "clientSeq"`;
const HEAD_COLUMNS = `h.grant_id AS "grantId", h.last_seq AS "lastSeq", h.client_last_seq AS "clientLastSeq", h.hash, h.count, h.gaps,
  h.sealed_hash AS "sealedHash", h.sealed_at AS "sealedAt"`;

// Events travel as JSON (json_to_recordset) rather than an array parameter per column:
// JSON.stringify is native, while pg escapes array literals element by element in JavaScript,
// which showed up in the ingest profile.
const EVENT_RECORD = `e("grant" text, seq int, type text, command text, cwd text, "user" text, host text,
  "startedAt" timestamptz, "finishedAt" timestamptz, "exitCode" int, "receivedAt" timestamptz, late boolean, "prevHash" text, hash text,
  "detailCanonical" text, "clientSeq" int)`;
// Every record written now is format 2 (its detail as the canonical text that was hashed).
const INSERT_EVENT_RECORDS = `INSERT INTO session_events (grant_id, seq, type, command, cwd, "user", host, started_at, finished_at, exit_code, received_at, late,
    prev_hash, hash, format, detail, client_seq)
  SELECT e."grant", e.seq, e.type, e.command, e.cwd, e."user", e.host, e."startedAt", e."finishedAt", e."exitCode", e."receivedAt", e.late,
    e."prevHash", e.hash, 2, e."detailCanonical", e."clientSeq"`;

/**
 * Appends the batches of several grants in one statement, each only if its head is still the
 * expected one and its grant is active; answers the grants whose batches landed.
 */
const APPEND_IF_HEADS = `WITH batch AS (
     SELECT * FROM json_to_recordset($1::json)
         AS b("grant" text, "expectedSeq" int, "expectedHash" text, "lastSeq" int, "clientLastSeq" int, hash text, gaps jsonb, events json)),
   moved AS (
     UPDATE session_heads h
        SET last_seq = b."lastSeq", hash = b.hash, count = h.count + json_array_length(b.events), gaps = b.gaps,
            client_last_seq = b."clientLastSeq"
       FROM batch b, grants g
      WHERE h.grant_id = b."grant" AND h.last_seq = b."expectedSeq" AND h.hash = b."expectedHash"
        AND g.id = h.grant_id AND g.status = 'active'
     RETURNING h.grant_id),
   appended AS (
     ${INSERT_EVENT_RECORDS}
       FROM batch b JOIN moved m ON m.grant_id = b."grant" CROSS JOIN LATERAL json_to_recordset(b.events) AS ${EVENT_RECORD}
     RETURNING 1)
   SELECT grant_id AS "grant" FROM moved`;

/**
 * A format-2 record as appended: what the API shows, with the client's seq, and `detail` only as
 * its hashed text (as stored: the statement's JSON parameter carries it once).
 */
export interface NewRecord extends Omit<SessionEvent, 'detail'> {
  clientSeq: number | null;
  detailCanonical: string | null;
}

/** A stored record with the client's seq (for re-send checks; not part of the API). */
export interface StoredRecord extends SessionEvent {
  clientSeq: number;
}

/** One grant's batch for the grouped fast path: its events and the head move they make. */
export interface HeadMove {
  grant: string;
  expectedSeq: number;
  expectedHash: string;
  lastSeq: number;
  clientLastSeq: number;
  hash: string;
  gaps: Gap[];
  events: NewRecord[];
}

interface EventRow extends Omit<SessionEvent, 'startedAt' | 'finishedAt' | 'receivedAt' | 'detail'> {
  startedAt: Date | null;
  finishedAt: Date | null;
  receivedAt: Date;
  format: 1 | 2;
  detail: string | null;
  clientSeq: number | null;
}

@Injectable()
export class SessionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async open(tx: EntityManager, grantId: string): Promise<void> {
    await tx.query(`INSERT INTO session_heads (grant_id) VALUES ($1)`, [grantId]);
  }

  /** Locks one grant's chain head (other grants' sessions are not blocked) and reads the clock. */
  async lockHead(tx: EntityManager, grantId: string): Promise<LockedHead | undefined> {
    return (await this.lockHeads(tx, [grantId]))[0];
  }

  /** Records a client sent with these seqs of its own (a format-1 record's seq is the client's). */
  async existing(tx: EntityManager, grantId: string, clientSeqs: number[]): Promise<StoredRecord[]> {
    const rows: EventRow[] = await tx.query(
      `SELECT ${EVENT_COLUMNS} FROM session_events
        WHERE grant_id = $1 AND (client_seq = ANY($2::int[]) OR (format = 1 AND seq = ANY($2::int[])))`,
      [grantId, clientSeqs],
    );
    return rows.map((row) => ({ ...toEvent(row), clientSeq: row.clientSeq ?? row.seq }));
  }

  /** One statement per batch (events as one JSON parameter): a single round trip. */
  async append(
    tx: EntityManager,
    events: NewRecord[],
    head: Pick<SessionHead, 'grantId' | 'lastSeq' | 'clientLastSeq' | 'hash' | 'gaps'>,
    sealed: boolean,
  ): Promise<void> {
    await tx.query(
      `WITH appended AS (
         ${INSERT_EVENT_RECORDS} FROM json_to_recordset($1::json) AS ${EVENT_RECORD}
         RETURNING 1)
       UPDATE session_heads
          SET last_seq = $3, hash = $4, count = count + (SELECT count(*) FROM appended), gaps = $5::jsonb, client_last_seq = $7,
              sealed_hash = CASE WHEN $6 THEN $4 ELSE sealed_hash END, sealed_at = CASE WHEN $6 THEN now() ELSE sealed_at END
        WHERE grant_id = $2`,
      [JSON.stringify(events), head.grantId, head.lastSeq, head.hash, JSON.stringify(head.gaps), sealed, head.clientLastSeq],
    );
  }

  /**
   * The fast path: one atomic statement appends the batches of several grants (those that arrived
   * together), each only if its head is still the expected one and its grant is active
   * (optimistic concurrency; no explicit transaction, no lock held across round trips). At most one
   * batch per grant. Returns the grants whose batches were appended; the others moved on (another
   * writer, or the grant ended) and appended nothing.
   */
  async appendIfHeads(moves: HeadMove[]): Promise<Set<string>> {
    // A named statement: parsed and planned once per connection, not once per batch.
    const { rows } = await pgPoolOf(this.dataSource).query<{ grant: string }>({
      name: 'session_append_if_heads',
      text: APPEND_IF_HEADS,
      values: [JSON.stringify(moves)],
    });
    return new Set(rows.map((row) => row.grant));
  }

  /** The same statement in the caller's transaction, for heads it has locked (lockHeads): every move must land. */
  async appendMoves(tx: EntityManager, moves: HeadMove[]): Promise<void> {
    const rows: { grant: string }[] = await tx.query(APPEND_IF_HEADS, [JSON.stringify(moves)]);
    if (rows.length !== moves.length) throw new Error(`session heads moved while locked (${rows.length} of ${moves.length} appended)`);
  }

  /** Locks several grants' heads in grant-id order (so concurrent callers cannot deadlock). */
  async lockHeads(tx: EntityManager, grantIds: string[]): Promise<LockedHead[]> {
    return tx.query(
      `SELECT ${HEAD_COLUMNS}, g.status AS "grantStatus", g.ended_at AS "endedAt", g.ended_by AS "endedBy",
              g.end_reason AS "endReason", g.requester,
              date_trunc('milliseconds', clock_timestamp()) AS now
         FROM session_heads h JOIN grants g ON g.id = h.grant_id
        WHERE h.grant_id = ANY($1::text[]) ORDER BY h.grant_id FOR UPDATE OF h`,
      [grantIds],
    );
  }

  async seal(tx: EntityManager, grantId: string): Promise<SessionHead> {
    const [[row]] = await tx.query(`UPDATE session_heads h SET sealed_hash = hash, sealed_at = now() WHERE grant_id = $1 RETURNING ${HEAD_COLUMNS}`, [grantId]);
    return row;
  }

  async head(grantId: string): Promise<SessionHead | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${HEAD_COLUMNS} FROM session_heads h WHERE h.grant_id = $1`, [grantId]);
    return row;
  }

  async page(grantId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(`SELECT ${EVENT_COLUMNS} FROM session_events WHERE grant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
      grantId,
      afterSeq,
      limit,
    ]);
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
      `INSERT INTO session_reviews (grant_id, reviewer, outcome, notes, chain_valid, chain_head, events_reviewed, integrity_acknowledged, covers_seq, interim, supersedes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       RETURNING ${REVIEW_COLUMNS}`,
      [
        review.grantId,
        review.reviewer,
        review.outcome,
        review.notes,
        review.chainValid,
        review.chainHead,
        review.eventsReviewed,
        review.integrityAcknowledged,
        review.coversSeq,
        review.interim,
        review.supersedes,
      ],
    );
    return row;
  }

  reviews(grantId: string): Promise<ReviewRecord[]> {
    return this.dataSource.query(`SELECT ${REVIEW_COLUMNS} FROM session_reviews WHERE grant_id = $1 ORDER BY at, id`, [grantId]);
  }

  /** The review no later one supersedes: the grant's current verdict (reviews are made one at a time per grant, under its head lock). */
  async currentReviews(grantIds: string[], tx?: EntityManager): Promise<ReviewRecord[]> {
    return (tx ?? this.dataSource).query(
      `SELECT ${REVIEW_COLUMNS} FROM session_reviews r
        WHERE r.grant_id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM session_reviews later WHERE later.supersedes = r.id)`,
      [grantIds],
    );
  }
}

/** The record as the API returns it: exactly its hashed keys (a format-1 record has no `detail`), prevHash, hash, late. */
function toEvent(row: EventRow): SessionEvent {
  const { format, detail, clientSeq: _clientSeq, ...fields } = row;
  const event: SessionEvent = {
    ...fields,
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    receivedAt: row.receivedAt.toISOString(),
  };
  if (format === 2) event.detail = detail === null ? null : JSON.parse(detail);
  return event;
}
