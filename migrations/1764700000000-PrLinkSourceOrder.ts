import type { MigrationInterface, QueryRunner } from 'typeorm';

export class PrLinkSourceOrder1764700000000 implements MigrationInterface {
  name = 'PrLinkSourceOrder1764700000000';

  async up(db: QueryRunner): Promise<void> {
    // The forge's own `updated_at` of the last state applied: a signed body replayed under a fresh
    // delivery id (the id is not signed) must not move a link back to an older state.
    await db.query(`ALTER TABLE pr_links ADD COLUMN source_updated_at timestamptz`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE pr_links DROP COLUMN source_updated_at`);
  }
}
