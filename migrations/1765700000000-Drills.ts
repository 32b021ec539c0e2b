import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Drills1765700000000 implements MigrationInterface {
  name = 'Drills1765700000000';

  async up(db: QueryRunner): Promise<void> {
    // When each drill of the policy was first seen with its schedule: fire times before that were
    // never missed, so a restart does not run them (a changed schedule starts afresh).
    await db.query(`
      CREATE TABLE drill_schedules (
        drill         text        PRIMARY KEY,
        schedule      text        NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per run. A scheduled fire time is claimed once across instances (unique with the
    // drill), and at most one run of a drill is going at a time (partial unique index): whoever
    // inserts the row runs the drill.
    await db.query(`
      CREATE TABLE drill_runs (
        id            bigserial   PRIMARY KEY,
        drill         text        NOT NULL,
        trigger       text        NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual')),
        scheduled_for timestamptz,
        requested_by  text        NOT NULL,
        targets       text[]      NOT NULL,
        status        text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'passed', 'failed')),
        started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at   timestamptz,
        failed_step   text,
        failed_target text,
        error         text,
        steps         jsonb       NOT NULL DEFAULT '[]',
        grants        text[]      NOT NULL DEFAULT '{}'
      )`);
    await db.query(`CREATE UNIQUE INDEX drill_runs_fire_time_idx ON drill_runs (drill, scheduled_for)`);
    await db.query(`CREATE UNIQUE INDEX drill_runs_one_running_idx ON drill_runs (drill) WHERE status = 'running'`);
    await db.query(`CREATE INDEX drill_runs_started_idx ON drill_runs (started_at)`);
    // A drill's grant is a real grant, told apart so that SLA figures, the report's grant counts and
    // the real notification audiences leave it out; its notices go to the drill's audience.
    await db.query(`ALTER TABLE grants ADD COLUMN drill_run bigint REFERENCES drill_runs (id), ADD COLUMN drill_name text, ADD COLUMN drill_notify text[]`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE grants DROP COLUMN drill_notify, DROP COLUMN drill_name, DROP COLUMN drill_run`);
    await db.query('DROP TABLE drill_runs');
    await db.query('DROP TABLE drill_schedules');
  }
}
