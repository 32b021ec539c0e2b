import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditSequencer1765600000000 implements MigrationInterface {
  name = 'AuditSequencer1765600000000';

  async up(db: QueryRunner): Promise<void> {
    // Callers' transactions add their audit entries here, unsequenced, without touching the chain
    // head; the integrator (src/audit/audit-integrator.ts) moves them into audit_events in batches,
    // assigning seq, at, prev_hash and hash. An entry leaves this table only by becoming an event:
    // no update, and a delete only once audit_events holds an event made from it.
    await db.query(`
      CREATE TABLE audit_pending (
        id             bigserial   PRIMARY KEY,
        created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor          text        NOT NULL,
        action         text        NOT NULL,
        grant_id       text,
        target         text,
        data_canonical text        NOT NULL,
        controls       text[]      NOT NULL
      )`);
    await db.query(`ALTER TABLE audit_events ADD COLUMN entry_id bigint`);
    // One event per entry, ever: an entry sequenced twice is refused here.
    await db.query(`CREATE UNIQUE INDEX audit_events_entry_idx ON audit_events (entry_id) WHERE entry_id IS NOT NULL`);
    await db.query(`
      CREATE FUNCTION breakglass_audit_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_events WHERE entry_id = OLD.id) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_pending is append-only: % refused (an entry leaves only by being sequenced)', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER audit_pending_append_only BEFORE UPDATE OR DELETE ON audit_pending
      FOR EACH ROW EXECUTE FUNCTION breakglass_audit_pending_guard()`);
    await db.query(`
      CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
      FOR EACH STATEMENT EXECUTE FUNCTION breakglass_reject_modification()`);
    // A reconciler event points at its audit entry; the seq is known once the entry is sequenced.
    await db.query(`ALTER TABLE gitops_events ADD COLUMN audit_entry bigint, ALTER COLUMN audit_seq DROP NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gitops_events DROP COLUMN audit_entry`);
    await db.query('DROP TABLE audit_pending');
    await db.query('DROP FUNCTION breakglass_audit_pending_guard()');
    await db.query('DROP INDEX audit_events_entry_idx');
    await db.query('ALTER TABLE audit_events DROP COLUMN entry_id');
  }
}
