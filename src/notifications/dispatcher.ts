import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DueWorkLoop } from '../common/due-work-loop';
import { ServiceConfig } from '../config/config.providers';
import type { ChannelPolicy } from '../config/policy';
import { Metrics } from '../health/metrics.service';
import type { Channel, DeliveryOutcome } from './channels/channel';
import { EmailChannel } from './channels/email.channel';
import { LogChannel } from './channels/log.channel';
import { PagerDutyChannel } from './channels/pagerduty.channel';
import { SlackChannel } from './channels/slack.channel';
import { TeamsChannel } from './channels/teams.channel';
import { WebhookChannel } from './channels/webhook.channel';
import { NotificationsRepository, type OutboxRow } from './notifications.repository';
import { Notifications } from './notifications.service';

const BATCH = 50;
export const MAX_ATTEMPTS = 10;
const MAX_BACKOFF_MS = 10 * 60_000;
/** A commit's wake-up waits this long for others': under load one claim carries many grants' notices. */
const COALESCE_WAKES_MS = 5;

/**
 * Delivers outbox rows after their transaction commits. Rows are claimed FOR UPDATE SKIP LOCKED
 * and stay locked while being delivered, so two instances never send the same row; a process
 * killed mid-delivery leaves the row pending, and it is delivered after restart.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('notifications.dispatcher');
  private readonly channels: Record<ChannelPolicy['type'], Channel>;
  private readonly loop = new DueWorkLoop(
    'notifications.dispatcher',
    {
      processDue: () => this.deliverDue(),
      millisUntilNext: () => this.repository.millisUntilNext(),
    },
    1000,
    COALESCE_WAKES_MS,
  );

  constructor(
    private readonly repository: NotificationsRepository,
    private readonly notifications: Notifications,
    private readonly dataSource: DataSource,
    private readonly config: ServiceConfig,
    private readonly metrics: Metrics,
    email: EmailChannel,
    pagerDuty: PagerDutyChannel,
    webhook: WebhookChannel,
    log: LogChannel,
    slack: SlackChannel,
    teams: TeamsChannel,
  ) {
    this.channels = { email, pagerduty: pagerDuty, webhook, log, slack, teams } as Record<ChannelPolicy['type'], Channel>;
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  /** Work arrived (a commit made it visible): look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  async deliverDue(): Promise<void> {
    for (;;) {
      const handled = await this.dataSource.transaction(async (tx) => {
        const due = await this.repository.claimDue(tx, BATCH);
        const outcomes = await Promise.all(due.map((row) => this.attempt(row)));
        const attempts = due.map((row, index) => {
          const { outcome, durationMs } = outcomes[index];
          const attempt = row.attempts + 1;
          const retryInMs = outcome.outcome === 'failed' && attempt < MAX_ATTEMPTS ? (outcome.retryAfterMs ?? this.backoff(attempt)) : null;
          return { row, attempt: { attempt, outcome: outcome.outcome, error: outcome.error ?? null, response: outcome.response, durationMs }, retryInMs };
        });
        await this.repository.recordAttempts(tx, attempts);
        for (const { row, attempt, retryInMs } of attempts) {
          this.metrics.notificationAttempts.inc({ channel: row.channel, outcome: attempt.outcome });
          if (attempt.outcome !== 'delivered') {
            this.logger.warn(
              `${row.notice} via ${row.channel} (${row.grantId}) attempt ${attempt.attempt}: ${attempt.outcome}: ${attempt.error}${retryInMs !== null ? `; retry in ${retryInMs} ms` : ''}`,
            );
          }
        }
        return due.length;
      });
      if (handled < BATCH) return;
    }
  }

  private async attempt(row: OutboxRow): Promise<{ outcome: DeliveryOutcome; durationMs: number }> {
    const started = Date.now();
    const resolved = this.notifications.resolve(row.channel, { requesterEmail: row.message.to?.[0] ?? null });
    let outcome: DeliveryOutcome;
    if (!resolved) outcome = { outcome: 'undeliverable', error: `channel ${row.channel} is no longer in the policy` };
    else {
      try {
        outcome = await this.channels[resolved.policy.type].deliver(row.message, resolved.policy, row.id, {
          notificationId: row.id,
          grantId: row.grantId,
          channel: row.channel,
          notice: row.notice,
          createdAt: row.createdAt,
        });
      } catch (error) {
        outcome = { outcome: 'failed', error: (error as Error).message };
      }
    }
    return { outcome, durationMs: Date.now() - started };
  }

  /** Exponential: base, 2×base, 4×base … capped, with ±20 % jitter so retries do not stampede. */
  private backoff(attempt: number): number {
    const exponential = Math.min(this.config.env.BREAKGLASS_RETRY_BASE_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    return Math.round(exponential * (0.8 + Math.random() * 0.4));
  }
}
