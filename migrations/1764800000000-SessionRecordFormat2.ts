import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SessionRecordFormat21764800000000 implements MigrationInterface {
  name = 'SessionRecordFormat21764800000000';

  async up(db: QueryRunner): Promise<void> {
    // Session record format 2 (docs/formats.md): one more hashed key, `detail`, kept as the RFC 8785
    // text that was hashed (NULL: detail null). Stored records keep format 1 and their 11 hashed keys:
    // a column added with a constant default rewrites no row and fires no trigger.
    await db.query(`ALTER TABLE session_events ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2))`);
    await db.query(`ALTER TABLE session_events ALTER COLUMN format SET DEFAULT 2`);
    await db.query(`ALTER TABLE session_events ADD COLUMN detail text`);
    // The broker's own recorders (the PostgreSQL proxy) write into the same chain as the CLI, so a
    // record's chain seq is no longer always the client's counter: the client's seq is kept beside
    // it for idempotent re-sends (format-1 records: seq is the client's).
    await db.query(`ALTER TABLE session_events ADD COLUMN client_seq integer CHECK (client_seq > 0)`);
    await db.query(`CREATE UNIQUE INDEX session_events_client_seq_idx ON session_events (grant_id, client_seq) WHERE client_seq IS NOT NULL`);
    await db.query(`ALTER TABLE session_heads ADD COLUMN client_last_seq integer NOT NULL DEFAULT 0`);
    await db.query(`UPDATE session_heads SET client_last_seq = last_seq`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE session_heads DROP COLUMN client_last_seq`);
    await db.query(`DROP INDEX session_events_client_seq_idx`);
    for (const column of ['client_seq', 'detail', 'format']) await db.query(`ALTER TABLE session_events DROP COLUMN ${column}`);
  }
}
