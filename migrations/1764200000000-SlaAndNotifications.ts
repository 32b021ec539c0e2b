import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SlaAndNotifications1764200000000 implements MigrationInterface {
  name = 'SlaAndNotifications1764200000000';

  async up(db: QueryRunner): Promise<void> {
    // Transactional outbox: rows are written in the transaction that causes them and delivered
    // after commit by the dispatcher. `idempotency_key` makes "one notice per step per channel"
    // a database guarantee, whatever instance or retry writes it.
    await db.query(`
      CREATE TABLE notifications (
        id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        created_at       timestamptz NOT NULL DEFAULT now(),
        idempotency_key  text        NOT NULL UNIQUE,
        grant_id         text        REFERENCES grants (id),
        clock_id         uuid,
        notice           text        NOT NULL,
        channel          text        NOT NULL,
        channel_type     text        NOT NULL CHECK (channel_type IN ('email', 'pagerduty', 'webhook', 'log')),
        message          jsonb       NOT NULL,
        status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'undeliverable')),
        attempts         integer     NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        delivered_at     timestamptz,
        last_error       text
      )`);
    await db.query(`CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending'`);
    await db.query(`CREATE INDEX notifications_grant_idx ON notifications (grant_id, created_at)`);
    await db.query(`
      CREATE TABLE notification_attempts (
        notification_id  uuid        NOT NULL REFERENCES notifications (id),
        attempt          integer     NOT NULL,
        at               timestamptz NOT NULL DEFAULT clock_timestamp(),
        outcome          text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'undeliverable')),
        error            text,
        response         jsonb,
        duration_ms      integer     NOT NULL,
        PRIMARY KEY (notification_id, attempt)
      )`);

    // Escalation steps are copied from the policy when the clock starts: what was in force then is
    // what fires, and what the evidence shows.
    await db.query(`
      CREATE TABLE sla_steps (
        clock_id     uuid        NOT NULL REFERENCES sla_clocks (id),
        step         integer     NOT NULL,
        after_seconds integer    NOT NULL,
        fire_at      timestamptz NOT NULL,
        notify       text[]      NOT NULL,
        state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')),
        fired_at     timestamptz,
        PRIMARY KEY (clock_id, step)
      )`);
    await db.query(`CREATE INDEX sla_steps_due_idx ON sla_steps (fire_at) WHERE state = 'pending'`);
    await db.query(`ALTER TABLE sla_clocks ADD COLUMN breached_at timestamptz, ADD COLUMN resolution text, ADD COLUMN resolved_by text`);
    await db.query(`CREATE INDEX sla_clocks_due_idx ON sla_clocks (due_at) WHERE state = 'running'`);

    await db.query(`
      CREATE TABLE pr_links (
        grant_id     text        NOT NULL REFERENCES grants (id),
        provider     text        NOT NULL CHECK (provider IN ('github', 'gitlab', 'manual')),
        repo         text        NOT NULL,
        number       integer     NOT NULL,
        url          text        NOT NULL,
        title        text,
        state        text        NOT NULL,
        merged       boolean     NOT NULL DEFAULT false,
        repo_matches boolean     NOT NULL,
        linked_by    text        NOT NULL,
        delivery_id  text,
        linked_at    timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (grant_id, repo, number)
      )`);
    await db.query(`
      CREATE TABLE webhook_deliveries (
        source       text        NOT NULL,
        delivery_id  text        NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        event        text        NOT NULL,
        PRIMARY KEY (source, delivery_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['webhook_deliveries', 'pr_links', 'sla_steps', 'notification_attempts', 'notifications']) await db.query(`DROP TABLE ${table}`);
    await db.query(`ALTER TABLE sla_clocks DROP COLUMN breached_at, DROP COLUMN resolution, DROP COLUMN resolved_by`);
  }
}
