import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget, type TargetPolicy } from '../config/policy';
import { CredentialsRepository } from './credentials.repository';
import { PostgresCredentials, type RoleCleanup } from './providers/postgres-credentials';

const INTERVAL_MS = 60_000;

/**
 * Removes PostgreSQL login roles that should not exist: roles of ended grants whose removal
 * failed (target was down), and roles a crash left behind between role creation and the grant
 * commit. Runs at start and then every minute.
 */
@Injectable()
export class CredentialReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('credentials.reconciler');
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;

  constructor(
    private readonly repository: CredentialsRepository,
    private readonly postgres: PostgresCredentials,
    private readonly policy: LoadedPolicy,
    private readonly auditLog: AuditLog,
    private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.pass = this.reconcile();
    this.timer = setInterval(() => (this.pass = this.reconcile()), INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  async reconcile(): Promise<void> {
    try {
      for (const credential of await this.repository.pendingRemovals()) {
        const target = findTarget(this.policy, credential.target);
        if (target?.credential.type !== 'postgres') continue;
        const cleanup = await this.postgres.remove(target, credential);
        await this.dataSource.transaction(async (tx) => {
          await this.repository.markRevoked(credential.id, { error: null }, tx);
          if (cleanup) await this.auditCleanup(tx, target, credential.username!, cleanup, credential.grantId);
        });
      }
      const live = await this.repository.liveUsernames();
      const seenServers = new Set<string>();
      for (const target of this.policy.targets) {
        if (target.credential.type !== 'postgres' || seenServers.has(target.credential.adminUrl)) continue;
        seenServers.add(target.credential.adminUrl);
        for (const stray of await this.postgres.strayRoles(target, live)) {
          this.logger.warn(`dropping stray login role ${stray.username} on ${target.name}`);
          const cleanup = await this.postgres.remove(target, stray);
          if (cleanup) await this.dataSource.transaction((tx) => this.auditCleanup(tx, target, stray.username, cleanup, null));
        }
      }
    } catch (error) {
      this.logger.warn(`reconciliation incomplete, will retry: ${(error as Error).message}`);
    }
  }

  private auditCleanup(tx: EntityManager, target: TargetPolicy, username: string, cleanup: RoleCleanup, grantId: string | null) {
    return this.auditLog.append(tx, {
      actor: 'system:reconciler',
      action: 'credential.cleanup',
      grant: grantId,
      target: target.name,
      data: { username, stray: grantId === null, ...cleanup },
    });
  }
}
