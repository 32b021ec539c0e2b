import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IncidentEvidence1765800000000 implements MigrationInterface {
  name = 'IncidentEvidence1765800000000';

  async up(db: QueryRunner): Promise<void> {
    // What PagerDuty said about the grant's incident at request time (targets with incident.pagerduty).
    await db.query(`ALTER TABLE grants ADD COLUMN incident_evidence jsonb`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE grants DROP COLUMN incident_evidence`);
  }
}
