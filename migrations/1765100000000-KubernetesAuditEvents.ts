import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KubernetesAuditEvents1765100000000 implements MigrationInterface {
  name = 'KubernetesAuditEvents1765100000000';

  async up(db: QueryRunner): Promise<void> {
    // P2.3: every counted audit event of a breakglass identity the webhook took in, by its cluster's
    // auditID, so a batch kube-apiserver sends again records nothing twice. `grant_id` is where it
    // went (null: unattributed, audited as k8s.unattributed).
    await db.query(`
      CREATE TABLE kubernetes_audit_events (
        cluster      text        NOT NULL,
        audit_id     uuid        NOT NULL,
        grant_id     text        REFERENCES grants (id),
        received_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster, audit_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE kubernetes_audit_events`);
  }
}
