import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EscalationDelivery1765400000000 implements MigrationInterface {
  name = 'EscalationDelivery1765400000000';

  async up(db: QueryRunner): Promise<void> {
    // An escalation step shows whether its notifications were delivered (the SLA board, the grant
    // page): its rows are found by clock.
    await db.query(`CREATE INDEX notifications_clock_idx ON notifications (clock_id) WHERE clock_id IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX notifications_clock_idx`);
  }
}
