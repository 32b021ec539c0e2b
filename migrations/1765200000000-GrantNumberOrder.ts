import type { MigrationInterface, QueryRunner } from 'typeorm';

export class GrantNumberOrder1765200000000 implements MigrationInterface {
  name = 'GrantNumberOrder1765200000000';

  async up(db: QueryRunner): Promise<void> {
    // Grant lists page newest first by the grant's number (BG-<year>-<number>), not by the id as
    // text: past 999999 the number has seven digits and 'BG-2026-1000000' < 'BG-2026-999999'.
    await db.query(`CREATE INDEX grants_number_idx ON grants ((split_part(id, '-', 3)::bigint) DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX grants_number_idx`);
  }
}
