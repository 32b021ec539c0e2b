import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditLog1764000000000 implements MigrationInterface {
  name = 'AuditLog1764000000000';

  async up(db: QueryRunner): Promise<void> {
    // Shared by every append-only table (audit log now, session log later).
    await db.query(`
      CREATE FUNCTION breakglass_reject_modification() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);

    await db.query(`
      CREATE TABLE audit_events (
        seq       bigint      PRIMARY KEY CHECK (seq > 0),
        at        timestamptz NOT NULL,
        actor     text        NOT NULL,
        action    text        NOT NULL,
        grant_id  text,
        target    text,
        data      jsonb       NOT NULL,
        controls  text[]      NOT NULL,
        prev_hash char(64)    NOT NULL,
        hash      char(64)    NOT NULL
      )`);
    await db.query(`CREATE INDEX audit_events_grant_idx ON audit_events (grant_id, seq) WHERE grant_id IS NOT NULL`);
    await db.query(`CREATE INDEX audit_events_action_idx ON audit_events (action, seq)`);
    await db.query(`CREATE INDEX audit_events_at_idx ON audit_events (at)`);
    await db.query(`CREATE INDEX audit_events_controls_idx ON audit_events USING gin (controls)`);
    await db.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION breakglass_reject_modification()`);
    await db.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION breakglass_reject_modification()`);

    // One row: the chain's head. Appenders lock it, which serialises seq and prevHash without gaps;
    // verification also compares it with the last event, so deleting the tail is detected.
    await db.query(`
      CREATE TABLE audit_chain_head (
        id   boolean  PRIMARY KEY DEFAULT true CHECK (id),
        seq  bigint   NOT NULL,
        hash char(64) NOT NULL
      )`);
    await db.query(`INSERT INTO audit_chain_head (seq, hash) VALUES (0, repeat('0', 64))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE audit_chain_head');
    await db.query('DROP TABLE audit_events');
    await db.query('DROP FUNCTION breakglass_reject_modification()');
  }
}
