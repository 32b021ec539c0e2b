import type { AuditEvent } from './audit-event';

// The audit tables' SQL shared by the repository (inside Nest) and the verification worker threads
// (outside it, so they must not load TypeORM).

// `at` is formatted by PostgreSQL exactly as Date#toISOString() would (the hashed form), which saves
// a Date parse and format per row when verifying millions of events.
// `controls` comes comma-joined (control IDs cannot contain commas): splitting is much cheaper than
// parsing a PostgreSQL array literal.
export const EVENT_COLUMNS = `seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, actor, action, grant_id, target, data,
  array_to_string(controls, ',') AS controls, prev_hash, hash`;

/** Events with afterSeq < seq <= lastSeq, in seq order, as arrays in EVENT_COLUMNS order. */
export const EVENTS_IN_RANGE = `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`;

export interface AuditRow {
  seq: string;
  at: string;
  actor: string;
  action: string;
  grant_id: string | null;
  target: string | null;
  data: AuditEvent['data'];
  controls: string;
  prev_hash: string;
  hash: string;
}

export function toEvent(row: AuditRow): AuditEvent {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    grant: row.grant_id,
    target: row.target,
    data: row.data,
    controls: row.controls ? row.controls.split(',') : [],
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
