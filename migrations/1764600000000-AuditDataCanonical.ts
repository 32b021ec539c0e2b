import canonicalize from 'canonicalize';
import type { MigrationInterface, QueryRunner } from 'typeorm';

const BACKFILL_BATCH = 5000;

/**
 * Stores each audit event's `data` as the exact RFC 8785 text that was hashed (`data_canonical`)
 * instead of jsonb. PostgreSQL cannot produce RFC 8785 text from jsonb; with this column it can
 * recompute every hash itself, which is what lets verification meet its rate. One stored form
 * only: what the service shows and exports is what verification checked (docs/decisions.md).
 */
export class AuditDataCanonical1764600000000 implements MigrationInterface {
  name = 'AuditDataCanonical1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE audit_events ADD COLUMN data_canonical text`);
    // Existing rows: canon(data) of the stored jsonb is exactly what verification hashed until now.
    await db.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
    for (let afterSeq = 0; ;) {
      const rows: { seq: string; data: unknown }[] = await db.query(`SELECT seq, data FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT ${BACKFILL_BATCH}`, [
        afterSeq,
      ]);
      if (!rows.length) break;
      await db.query(
        `UPDATE audit_events SET data_canonical = filled.text
           FROM unnest($1::bigint[], $2::text[]) AS filled(seq, text) WHERE audit_events.seq = filled.seq`,
        [rows.map((row) => row.seq), rows.map((row) => canonicalText(row.data))],
      );
      afterSeq = Number(rows[rows.length - 1].seq);
    }
    await db.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    await db.query(`ALTER TABLE audit_events ALTER COLUMN data_canonical SET NOT NULL`);
    await db.query(`ALTER TABLE audit_events DROP COLUMN data`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE audit_events ADD COLUMN data jsonb`);
    await db.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
    await db.query(`UPDATE audit_events SET data = data_canonical::jsonb`);
    await db.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    await db.query(`ALTER TABLE audit_events ALTER COLUMN data SET NOT NULL`);
    await db.query(`ALTER TABLE audit_events DROP COLUMN data_canonical`);
  }
}

/** RFC 8785, as the chain hashed it when this migration was written (a migration never imports live code). */
function canonicalText(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}
