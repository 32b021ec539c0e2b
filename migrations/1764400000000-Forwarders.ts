import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Forwarders1764400000000 implements MigrationInterface {
  name = 'Forwarders1764400000000';

  async up(db: QueryRunner): Promise<void> {
    // Where each SIEM forwarder is in the audit chain: advanced only after the receiver accepted.
    await db.query(`
      CREATE TABLE forwarder_cursors (
        name             text        PRIMARY KEY,
        last_seq         bigint      NOT NULL DEFAULT 0,
        failures         integer     NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        last_error       text,
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE forwarder_cursors');
  }
}
