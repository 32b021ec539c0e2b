import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ReviewCoverage1765500000000 implements MigrationInterface {
  name = 'ReviewCoverage1765500000000';

  async up(db: QueryRunner): Promise<void> {
    // A review covers the session log up to a seq; one made while the grant was active, or that
    // covers less than the sealed head, is interim. A later review supersedes the current one.
    // Reviews recorded before this migration covered the whole log as it stood: their seq is unknown.
    await db.query(`
      ALTER TABLE session_reviews
        ADD COLUMN covers_seq integer CHECK (covers_seq >= 0),
        ADD COLUMN interim    boolean NOT NULL DEFAULT false,
        ADD COLUMN supersedes uuid REFERENCES session_reviews (id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE session_reviews DROP COLUMN supersedes, DROP COLUMN interim, DROP COLUMN covers_seq`);
  }
}
