import type { AuditEvent } from './audit-event';

// The audit tables' SQL: the repository's reads, and chain verification (range-verify.ts). Events
// are written by the function breakglass_sequence_audit (migration AuditSequenceFunction).

// `at` is formatted by PostgreSQL exactly as Date#toISOString() would (the hashed form).
const HASHED_AT = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// `controls` comes comma-joined (control IDs cannot contain commas): splitting is much cheaper than
// parsing a PostgreSQL array literal.
export const EVENT_COLUMNS = `seq, ${HASHED_AT} AS at, actor, action, grant_id, target, data_canonical,
  array_to_string(controls, ',') AS controls, prev_hash, hash`;

/**
 * canon(e_n) of a stored row, assembled by PostgreSQL: the same text as auditEventHash's template
 * (audit-event.ts). `data` is the stored RFC 8785 text; the other keys are fixed, and to_json's
 * string escaping (quote, backslash, \b \f \n \r \t, other controls as lowercase \u00xx, nothing
 * else) is RFC 8785's. The audit e2e tests append adversarial strings and check both agree.
 */
export const CANONICAL_EVENT = `'{"action":' || to_json(action) || ',"actor":' || to_json(actor) || ',"at":"' || ${HASHED_AT}
  || '","controls":' || array_to_json(controls) || ',"data":' || data_canonical
  || ',"grant":' || coalesce(to_json(grant_id)::text, 'null') || ',"seq":' || seq
  || ',"target":' || coalesce(to_json(target)::text, 'null') || '}'`;

/**
 * Checks the events with $1 <= seq <= $2 in one pass inside PostgreSQL: per row, its seq follows
 * the previous one, its prevHash is the previous row's hash, and its hash is
 * SHA-256(prevHash + "\n" + canon(e)). Returns the first seq that fails (a missing seq counts as
 * itself), the last seq present, and the hashes at the range's two ends for joining ranges.
 */
export const VERIFY_RANGE = `
  SELECT min(invalid_seq) AS first_invalid_seq, max(seq) AS last_seq,
         (SELECT prev_hash FROM audit_events WHERE seq = $1) AS first_prev_hash,
         (SELECT hash FROM audit_events WHERE seq = $2) AS last_hash
    FROM (SELECT seq,
                 CASE WHEN seq <> coalesce(lag(seq) OVER w + 1, $1) THEN coalesce(lag(seq) OVER w + 1, $1)
                      WHEN prev_hash <> coalesce(lag(hash) OVER w, prev_hash)
                        OR encode(sha256(convert_to(prev_hash || E'\\n' || ${CANONICAL_EVENT}, 'UTF8')), 'hex') <> hash THEN seq
                 END AS invalid_seq
            FROM audit_events WHERE seq BETWEEN $1 AND $2
          WINDOW w AS (ORDER BY seq)) AS checked`;

export const HASH_AT_SEQ = `SELECT hash FROM audit_events WHERE seq = $1`;

export interface AuditRow {
  seq: string;
  at: string;
  actor: string;
  action: string;
  grant_id: string | null;
  target: string | null;
  data_canonical: string;
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
    data: JSON.parse(row.data_canonical),
    controls: row.controls ? row.controls.split(',') : [],
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
