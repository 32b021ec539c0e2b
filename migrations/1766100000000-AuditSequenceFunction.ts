import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * canon(e_n) of the row `e`, as src/audit/audit.sql.ts's CANONICAL_EVENT assembles it (the Part 1
 * formula: RFC 8785 key order, to_json's escaping, `at` as Date#toISOString). A copy, because a
 * migration never imports live code; the formula itself never changes.
 */
const CANONICAL = `'{"action":' || to_json(e.action) || ',"actor":' || to_json(e.actor)
  || ',"at":"' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  || '","controls":' || array_to_json(e.controls) || ',"data":' || e.data_canonical
  || ',"grant":' || coalesce(to_json(e.grant_id)::text, 'null') || ',"seq":' || e.seq
  || ',"target":' || coalesce(to_json(e.target)::text, 'null') || '}'`;

export class AuditSequenceFunction1766100000000 implements MigrationInterface {
  name = 'AuditSequenceFunction1766100000000';

  async up(db: QueryRunner): Promise<void> {
    // One batch of the integrator (src/audit/audit-integrator.ts) as one statement: the claim (the
    // advisory lock, then the chain head), the committed entries in id order, their seq, one `at`
    // (never earlier than the last event's) and hashes, the events, the entries' removal and the
    // head's move, and what is left waiting. Called in a transaction of its own, it commits or
    // leaves nothing; as a single round trip it does not wait on the machine's scheduler once per
    // step while writers keep the cores busy. `lags`: seconds from each entry's commit (where the
    // server records commit times; else from its insert) to its sequencing.
    await db.query(`
      CREATE FUNCTION breakglass_sequence_audit(batch_size integer)
        RETURNS TABLE (claimed boolean, sequenced integer, lags float8[], remaining integer, oldest_age float8)
        LANGUAGE plpgsql AS $fn$
      DECLARE
        v_seq bigint;
        v_prev text;
        v_at timestamptz;
        v_now timestamptz;
        v_ids bigint[] := '{}';
        v_lags float8[] := '{}';
        v_entry record;
      BEGIN
        claimed := pg_try_advisory_xact_lock(hashtextextended('breakglass:audit-integrator', 0));
        sequenced := 0;
        IF claimed THEN
          SELECT h.seq, h.hash, (SELECT last.at FROM audit_events last WHERE last.seq = h.seq)
            INTO v_seq, v_prev, v_at FROM audit_chain_head h FOR UPDATE;
          v_now := date_trunc('milliseconds', clock_timestamp());
          v_at := greatest(v_now, v_at);
          FOR v_entry IN
            SELECT p.id, p.actor, p.action, p.grant_id, p.target, p.data_canonical, p.controls,
                   COALESCE(CASE WHEN current_setting('track_commit_timestamp')::bool THEN pg_xact_commit_timestamp(p.xmin) END, p.created_at) AS committed_at
              FROM audit_pending p ORDER BY p.id LIMIT batch_size
          LOOP
            v_seq := v_seq + 1;
            INSERT INTO audit_events (seq, at, actor, action, grant_id, target, data_canonical, controls, prev_hash, hash, entry_id)
            SELECT e.seq, e.at, e.actor, e.action, e.grant_id, e.target, e.data_canonical, e.controls, v_prev,
                   encode(sha256(convert_to(v_prev || E'\\n' || ${CANONICAL}, 'UTF8')), 'hex'), v_entry.id
              FROM (SELECT v_seq AS seq, v_at AS at, v_entry.actor AS actor, v_entry.action AS action, v_entry.grant_id AS grant_id,
                           v_entry.target AS target, v_entry.data_canonical AS data_canonical, v_entry.controls AS controls) AS e
            RETURNING hash INTO v_prev;
            v_ids := v_ids || v_entry.id;
            v_lags := v_lags || greatest(0, extract(epoch FROM v_now - v_entry.committed_at))::float8;
          END LOOP;
          sequenced := cardinality(v_ids);
          IF sequenced > 0 THEN
            DELETE FROM audit_pending WHERE id = ANY(v_ids);
            UPDATE audit_chain_head SET seq = v_seq, hash = v_prev;
          END IF;
        END IF;
        lags := v_lags;
        SELECT count(*)::int, coalesce(extract(epoch FROM clock_timestamp() - min(p.created_at)), 0)::float8
          INTO remaining, oldest_age FROM audit_pending p;
        RETURN NEXT;
      END $fn$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP FUNCTION breakglass_sequence_audit(integer)');
  }
}
