import * as path from 'node:path';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { DueWorkLoop } from '../common/due-work-loop';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { formatDuration } from '../config/duration';
import type { AnchorPolicy } from '../config/policy';
import { Notifications } from '../notifications/notifications.service';
import { publishToGit, publishToWebhook } from './anchor-publishers';
import { AnchorsRepository, type AnchorDelivery } from './anchors.repository';
import type { AnchorStatusList } from './transparency.views';

const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * Publishes every checkpoint to every `audit.anchors` entry, oldest first and never giving up: an
 * anchor that is down gets the backlog in order once it is back, each attempt recorded. A checkpoint
 * waiting longer than `audit.anchorAlertAfter` tells security (once per anchor and outage).
 */
@Injectable()
export class CheckpointAnchors implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('transparency.anchors');
  private readonly loop = new DueWorkLoop('transparency.anchors', {
    processDue: () => this.processDue(),
    millisUntilNext: () => this.repository.millisUntilNext(this.names()),
  });

  constructor(
    private readonly repository: AnchorsRepository,
    private readonly auditLog: AuditLog,
    private readonly notifications: Notifications,
    private readonly policy: LoadedPolicy,
    private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.policy.audit.anchors.length) return;
    await this.repository.enqueueLatestForNewAnchors(this.names());
    this.loop.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  /** A checkpoint was committed with its deliveries. */
  wake(): void {
    this.loop.wake();
  }

  /** Every policy anchor with its delivery state (GET /v1/audit/anchors). */
  async status(): Promise<AnchorStatusList> {
    const rows = new Map((await this.repository.status(this.names())).map((row) => [row.anchor, row]));
    return {
      anchors: this.policy.audit.anchors.map((anchor) => {
        const { anchor: _name, ...state } = rows.get(anchor.name)!;
        return { name: anchor.name, type: anchor.type, ...state };
      }),
    };
  }

  names(): string[] {
    return this.policy.audit.anchors.map((anchor) => anchor.name);
  }

  private async processDue(): Promise<void> {
    for (const anchor of this.policy.audit.anchors) {
      while (await this.deliverNext(anchor));
    }
    await this.alertOverdue();
  }

  /** Publishes the anchor's oldest pending checkpoint, if due; true when it was delivered (try the next). */
  private deliverNext(anchor: AnchorPolicy): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      const delivery = await this.repository.claimNext(tx, anchor.name);
      if (!delivery) return false;
      const started = Date.now();
      let error: string | null = null;
      try {
        await this.publish(anchor, delivery);
      } catch (failure) {
        error = ((failure as { stderr?: string }).stderr?.trim() || (failure as Error).message).slice(0, 2000);
      }
      const retryInMs = Math.min(BASE_BACKOFF_MS * 2 ** delivery.attempts, MAX_BACKOFF_MS);
      await this.repository.recordAttempt(tx, delivery, { outcome: error ? 'failed' : 'delivered', error, durationMs: Date.now() - started }, retryInMs);
      if (error) this.logger.warn(`checkpoint ${delivery.treeSize} to anchor ${anchor.name}: ${error}; retry in ${retryInMs} ms`);
      return error === null;
    });
  }

  private publish(anchor: AnchorPolicy, delivery: AnchorDelivery): Promise<string> {
    const checkpoint = { origin: this.config.logOrigin, treeSize: delivery.treeSize, rootHash: delivery.rootHash, note: delivery.note };
    return anchor.type === 'git' ? publishToGit(anchor, checkpoint, path.join(this.config.dataDir, 'anchors')) : publishToWebhook(anchor, checkpoint);
  }

  private async alertOverdue(): Promise<void> {
    const after = this.policy.audit.anchorAlertAfterSeconds;
    await this.dataSource.transaction(async (tx) => {
      for (const overdue of await this.repository.claimOverdue(tx, this.names(), after)) {
        const facts = { anchor: overdue.anchor, treeSize: overdue.treeSize, waitingSince: overdue.createdAt.toISOString(), lastError: overdue.lastError };
        await this.notifications.notifyAudience(tx, {
          kind: 'anchor_overdue',
          channels: this.policy.notify.security,
          key: `anchor-overdue:${overdue.anchor}:${overdue.treeSize}`,
          headline: `Checkpoint ${overdue.treeSize} has not reached anchor ${overdue.anchor} for over ${formatDuration(after)}`,
          facts,
          links: [{ path: '/v1/audit/checkpoints', text: 'Checkpoints' }],
          pagerdutyDedupKey: `breakglass/anchor/${overdue.anchor}`,
        });
        await this.auditLog.append(tx, { actor: 'system:transparency', action: 'audit.anchor_overdue', data: facts });
      }
    });
  }
}
