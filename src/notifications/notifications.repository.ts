import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ChannelPolicy } from '../config/policy';
import type { NoticeMessage } from './notice';
import type { OutboxState } from './notifications.views';

export interface OutboxRow {
  id: string;
  idempotencyKey: string;
  grantId: string | null;
  clockId: string | null;
  notice: string;
  channel: string;
  channelType: ChannelPolicy['type'];
  message: NoticeMessage;
  status: OutboxState;
  attempts: number;
  createdAt: Date;
  deliveredAt: Date | null;
  lastError: string | null;
}

export interface AttemptRecord {
  attempt: number;
  at: Date;
  outcome: 'delivered' | 'failed' | 'undeliverable';
  error: string | null;
  response: unknown;
  durationMs: number;
}

const COLUMNS = `id, idempotency_key AS "idempotencyKey", grant_id AS "grantId", clock_id AS "clockId", notice, channel,
  channel_type AS "channelType", message, status, attempts, created_at AS "createdAt", delivered_at AS "deliveredAt", last_error AS "lastError"`;

@Injectable()
export class NotificationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes outbox rows; a row whose idempotency key exists already is skipped (fired once). */
  async enqueue(
    tx: EntityManager,
    rows: Pick<OutboxRow, 'idempotencyKey' | 'grantId' | 'clockId' | 'notice' | 'channel' | 'channelType' | 'message'>[],
  ): Promise<number> {
    let written = 0;
    for (const row of rows) {
      const inserted: unknown[] = await tx.query(
        `INSERT INTO notifications (idempotency_key, grant_id, clock_id, notice, channel, channel_type, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
        [row.idempotencyKey, row.grantId, row.clockId, row.notice, row.channel, row.channelType, JSON.stringify(row.message)],
      );
      written += inserted.length;
    }
    return written;
  }

  /** Per channel: rows waiting for delivery, and rows whose delivery failed (retrying or given up). */
  backlogByChannel(): Promise<{ channel: string; backlog: number; failing: number }[]> {
    return this.dataSource.query(
      `SELECT channel, count(*) FILTER (WHERE status = 'pending')::int AS backlog,
              count(*) FILTER (WHERE status IN ('failed', 'undeliverable') OR (status = 'pending' AND attempts > 0))::int AS failing
         FROM notifications WHERE status <> 'delivered' GROUP BY channel`,
    );
  }

  /** Pending rows that are due, locked until the caller's transaction ends; others skip them. */
  claimDue(tx: EntityManager, limit: number): Promise<OutboxRow[]> {
    return tx.query(
      `SELECT ${COLUMNS} FROM notifications
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  /**
   * The attempts of one dispatcher batch and each row's new state, in one statement: a delivery's
   * record costs the outbox no round trip of its own.
   */
  async recordAttempts(tx: EntityManager, attempts: { row: OutboxRow; attempt: Omit<AttemptRecord, 'at'>; retryInMs: number | null }[]): Promise<void> {
    if (!attempts.length) return;
    const rows = attempts.map(({ row, attempt, retryInMs }) => ({
      id: row.id,
      attempt: attempt.attempt,
      outcome: attempt.outcome,
      error: attempt.error,
      response: attempt.response === undefined ? null : attempt.response,
      duration_ms: attempt.durationMs,
      status: attempt.outcome === 'failed' && retryInMs !== null ? 'pending' : attempt.outcome,
      retry_ms: retryInMs ?? 0,
    }));
    await tx.query(
      `WITH attempt AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS a(id uuid, attempt int, outcome text, error text, response jsonb, duration_ms int, status text, retry_ms float8)),
       recorded AS (
         INSERT INTO notification_attempts (notification_id, attempt, outcome, error, response, duration_ms)
         SELECT id, attempt, outcome, error, response, duration_ms FROM attempt)
       UPDATE notifications n
          SET attempts = a.attempt, status = a.status, last_error = a.error,
              delivered_at = CASE WHEN a.status = 'delivered' THEN clock_timestamp() END,
              next_attempt_at = clock_timestamp() + make_interval(secs => a.retry_ms / 1000)
         FROM attempt a WHERE n.id = a.id`,
      [JSON.stringify(rows)],
    );
  }

  /** The Slack message a grant's later notices in this channel are threaded under, or undefined. */
  async slackThread(grantId: string, channel: string): Promise<{ slackChannel: string; ts: string } | undefined> {
    const [row] = await this.dataSource.query(`SELECT slack_channel AS "slackChannel", ts FROM slack_threads WHERE grant_id = $1 AND channel = $2`, [
      grantId,
      channel,
    ]);
    return row;
  }

  /** The first message of the grant in the channel starts its thread (a second, concurrent first keeps the first). */
  async startSlackThread(grantId: string, channel: string, slackChannel: string, ts: string): Promise<void> {
    await this.dataSource.query(`INSERT INTO slack_threads (grant_id, channel, slack_channel, ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      grantId,
      channel,
      slackChannel,
      ts,
    ]);
  }

  /**
   * Whether a notice of the grant to this channel that comes before this one is still waiting (it
   * opens the thread): earlier written, or written together and glass-broken (the usual thread root).
   */
  async earlierPending(context: { grantId: string; channel: string; createdAt: Date; notice: string; notificationId: string }): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM notifications
        WHERE grant_id = $1 AND channel = $2 AND status = 'pending' AND id <> $5
          AND (created_at, CASE WHEN notice = 'glass_broken' THEN 0 ELSE 1 END, id::text) < ($3, CASE WHEN $4 = 'glass_broken' THEN 0 ELSE 1 END, $5::text)
        LIMIT 1`,
      [context.grantId, context.channel, context.createdAt, context.notice, context.notificationId],
    );
    return rows.length > 0;
  }

  async millisUntilNext(): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (min(next_attempt_at) - clock_timestamp())) * 1000 AS ms FROM notifications WHERE status = 'pending'`,
    );
    return row.ms === null ? null : Math.ceil(Number(row.ms));
  }

  forGrant(grantId: string): Promise<OutboxRow[]> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM notifications WHERE grant_id = $1 ORDER BY created_at, channel`, [grantId]);
  }

  /** Every attempt of every notification of a grant, keyed by notification id. */
  async attemptsForGrant(grantId: string): Promise<Map<string, AttemptRecord[]>> {
    const rows: (AttemptRecord & { notificationId: string })[] = await this.dataSource.query(
      `SELECT a.notification_id AS "notificationId", a.attempt, a.at, a.outcome, a.error, a.response, a.duration_ms AS "durationMs"
         FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id
        WHERE n.grant_id = $1 ORDER BY a.notification_id, a.attempt`,
      [grantId],
    );
    const byNotification = new Map<string, AttemptRecord[]>();
    for (const { notificationId, ...attempt } of rows) byNotification.set(notificationId, [...(byNotification.get(notificationId) ?? []), attempt]);
    return byNotification;
  }

  attempts(notificationId: string): Promise<AttemptRecord[]> {
    return this.dataSource.query(
      `SELECT attempt, at, outcome, error, response, duration_ms AS "durationMs" FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt`,
      [notificationId],
    );
  }

  /** PagerDuty channels that were paged for a clock (to resolve the same incidents later). */
  async pagedChannels(tx: EntityManager, clockId: string): Promise<string[]> {
    const rows: { channel: string }[] = await tx.query(
      `SELECT DISTINCT channel FROM notifications WHERE clock_id = $1 AND channel_type = 'pagerduty' AND message->'pagerduty'->>'action' = 'trigger'`,
      [clockId],
    );
    return rows.map((row) => row.channel);
  }

  /** Non-PagerDuty channels that were told about a clock's escalation. */
  async toldChannels(tx: EntityManager, clockId: string): Promise<string[]> {
    const rows: { channel: string }[] = await tx.query(`SELECT DISTINCT channel FROM notifications WHERE clock_id = $1 AND channel_type <> 'pagerduty'`, [
      clockId,
    ]);
    return rows.map((row) => row.channel);
  }
}
