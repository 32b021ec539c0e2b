import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ForgeEvidence1766000000000 implements MigrationInterface {
  name = 'ForgeEvidence1766000000000';

  async up(db: QueryRunner): Promise<void> {
    // `pr_noncompliant`: a retro-PR clock still within its time whose merged PR missed a policy
    // requirement (retroPr.require); it escalates and breaches like `running`. `noncompliance` keeps
    // what the latest such PR missed, also after a breach.
    await db.query(`ALTER TABLE sla_clocks DROP CONSTRAINT sla_clocks_state_check`);
    await db.query(
      `ALTER TABLE sla_clocks ADD CONSTRAINT sla_clocks_state_check CHECK (state IN ('running', 'pr_noncompliant', 'satisfied', 'satisfied_late', 'breached', 'waived'))`,
    );
    await db.query(`ALTER TABLE sla_clocks ADD COLUMN noncompliance jsonb`);
    await db.query(`DROP INDEX sla_clocks_due_idx`);
    await db.query(`CREATE INDEX sla_clocks_due_idx ON sla_clocks (due_at) WHERE state IN ('running', 'pr_noncompliant')`);
    await db.query(`DROP INDEX sla_clocks_open_idx`);
    await db.query(`CREATE INDEX sla_clocks_open_idx ON sla_clocks (requester, kind, due_at) WHERE state IN ('running', 'pr_noncompliant', 'breached')`);

    // One verification per merged PR link: asked of the forge (retried with backoff), then recorded
    // as pr.verified. `not_merged`: a hand-linked PR the forge says is not merged (yet).
    await db.query(`
      CREATE TABLE pr_verifications (
        grant_id        text        NOT NULL,
        repo            text        NOT NULL,
        number          integer     NOT NULL,
        provider        text        NOT NULL CHECK (provider IN ('github', 'gitlab')),
        status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'not_merged')),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        last_error      text,
        facts           jsonb,
        missing         jsonb,
        compliant       boolean,
        requested_at    timestamptz NOT NULL DEFAULT now(),
        verified_at     timestamptz,
        PRIMARY KEY (grant_id, repo, number),
        FOREIGN KEY (grant_id, repo, number) REFERENCES pr_links (grant_id, repo, number)
      )`);
    await db.query(`CREATE INDEX pr_verifications_due_idx ON pr_verifications (next_attempt_at) WHERE status = 'pending'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE pr_verifications');
    await db.query(`UPDATE sla_clocks SET state = 'running' WHERE state = 'pr_noncompliant'`);
    await db.query(`DROP INDEX sla_clocks_open_idx`);
    await db.query(`CREATE INDEX sla_clocks_open_idx ON sla_clocks (requester, kind, due_at) WHERE state IN ('running', 'breached')`);
    await db.query(`DROP INDEX sla_clocks_due_idx`);
    await db.query(`CREATE INDEX sla_clocks_due_idx ON sla_clocks (due_at) WHERE state = 'running'`);
    await db.query(`ALTER TABLE sla_clocks DROP COLUMN noncompliance`);
    await db.query(`ALTER TABLE sla_clocks DROP CONSTRAINT sla_clocks_state_check`);
    await db.query(
      `ALTER TABLE sla_clocks ADD CONSTRAINT sla_clocks_state_check CHECK (state IN ('running', 'satisfied', 'satisfied_late', 'breached', 'waived'))`,
    );
  }
}
