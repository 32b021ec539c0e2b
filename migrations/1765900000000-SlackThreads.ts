import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SlackThreads1765900000000 implements MigrationInterface {
  name = 'SlackThreads1765900000000';

  async up(db: QueryRunner): Promise<void> {
    // Chat channels (P2.6) join the outbox's channel types.
    await db.query(`ALTER TABLE notifications DROP CONSTRAINT notifications_channel_type_check`);
    await db.query(
      `ALTER TABLE notifications ADD CONSTRAINT notifications_channel_type_check CHECK (channel_type IN ('email', 'pagerduty', 'webhook', 'log', 'slack', 'teams'))`,
    );
    // The first message of a grant in a Slack channel (normally glass-broken): later notices of the
    // grant are posted in its thread (thread_ts).
    await db.query(`
      CREATE TABLE slack_threads (
        grant_id      text        NOT NULL,
        channel       text        NOT NULL,
        slack_channel text        NOT NULL,
        ts            text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (grant_id, channel)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE slack_threads');
    await db.query(`ALTER TABLE notifications DROP CONSTRAINT notifications_channel_type_check`);
    await db.query(
      `ALTER TABLE notifications ADD CONSTRAINT notifications_channel_type_check CHECK (channel_type IN ('email', 'pagerduty', 'webhook', 'log'))`,
    );
  }
}
