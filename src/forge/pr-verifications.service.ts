import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GrantReader } from '../access/grant-reader';
import { AuditLog } from '../audit/audit-log.service';
import { DueWorkLoop } from '../common/due-work-loop';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { afterCommit } from '../database/after-commit';
import { PullRequests, type Forge } from '../sla/pull-requests.service';
import { SlaClocks } from '../sla/sla-clocks.service';
import { ForgeClients, type RawForgeFacts } from './forge-clients';
import { missingRequirements, requesterIdentities, sortApprovals } from './forge-facts';
import { forgeVerificationView, type ForgeVerificationView } from './forge.views';
import { PrVerificationsRepository, type PrKey, type VerificationRecord } from './pr-verifications.repository';

const BATCH = 10;
/** Longer than a forge answer takes (each request times out at 10 s, a verification makes ~6). */
const LEASE_MS = 120_000;
const MAX_RETRY_MS = 600_000;

/**
 * Asks the forge about merged retro PRs and records `pr.verified`; with `retroPr.require`, satisfies
 * the retro-PR clock or marks it `pr_noncompliant`. Runs after the webhook answered: the forge being
 * slow or down never delays a delivery, it is retried with backoff (docs/forge-evidence.md).
 */
@Injectable()
export class PrVerifications implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('forge');
  private readonly loop = new DueWorkLoop('forge.verifier', {
    processDue: () => this.processDue(),
    millisUntilNext: () => this.repository.millisUntilNext(),
  });

  constructor(
    private readonly repository: PrVerificationsRepository,
    private readonly clients: ForgeClients,
    private readonly pullRequests: PullRequests,
    private readonly clocks: SlaClocks,
    private readonly grants: GrantReader,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * In the transaction that linked or merged the PR. A target with `retroPr.require` is always
   * verified; otherwise only when the forge is configured (the facts are then evidence only).
   */
  async request(tx: EntityManager, pr: PrKey & { target: string; forge: Forge | null }): Promise<void> {
    if (!pr.forge) return;
    const required = !!findTarget(this.policy, pr.target)?.retroPr.require;
    if (!required && !this.clients.of(pr.forge).configured) return;
    await this.repository.request(tx, pr, pr.forge);
    afterCommit(tx, () => this.loop.wake());
  }

  async forGrant(grantId: string): Promise<ForgeVerificationView[]> {
    return (await this.repository.forGrant(grantId)).map(forgeVerificationView);
  }

  async processDue(): Promise<void> {
    for (let claimed = BATCH; claimed === BATCH;) {
      const due = await this.repository.claimDue(BATCH, LEASE_MS);
      claimed = due.length;
      await Promise.all(due.map((verification) => this.verify(verification)));
    }
  }

  private async verify(verification: VerificationRecord): Promise<void> {
    let raw: RawForgeFacts;
    try {
      raw = await this.clients.of(verification.provider).pullRequestFacts(verification.repo, verification.number);
    } catch (error) {
      const message = forgeError(error);
      const retryInMs = Math.min(this.config.env.BREAKGLASS_RETRY_BASE_MS * 2 ** (verification.attempts - 1), MAX_RETRY_MS);
      this.logger.warn(`${verification.provider} ${verification.repo}#${verification.number}: ${message}; retrying in ${Math.round(retryInMs / 1000)}s`);
      await this.repository.failed(verification, message, retryInMs);
      return;
    }
    await this.dataSource.transaction((tx) => this.record(tx, verification, raw));
  }

  /** The forge's answer, with its audit event and the clock's new state, in one transaction. */
  private async record(tx: EntityManager, claimed: VerificationRecord, raw: RawForgeFacts): Promise<void> {
    const current = await this.repository.lock(tx, claimed);
    // Another instance took the lease over (this one was slow), or it was recorded already.
    if (!current || current.status !== 'pending' || current.attempts !== claimed.attempts) return;
    const grant = await this.grants.requesterOf(tx, claimed.grantId);
    const link = await this.pullRequests.find(tx, claimed.grantId, claimed.repo, claimed.number);
    if (!grant || !link) return;
    const facts = { ...raw, ...sortApprovals(raw.approvals, requesterIdentities(grant.requester, grant.requesterEmail), raw.author) };
    if (!facts.merged) {
      // A hand-linked PR not merged yet: its merge webhook (or another link) asks again.
      await this.repository.finish(tx, claimed, { status: 'not_merged', facts, missing: null, compliant: null });
      return;
    }
    if (link.state !== 'merged') {
      await this.pullRequests.recordForgeMerge(tx, link, { mergeCommitSha: facts.mergeCommitSha, mergedAt: facts.mergedAt ? new Date(facts.mergedAt) : null });
    }
    const requirements = findTarget(this.policy, grant.target)?.retroPr.require ?? null;
    const missing = requirements ? missingRequirements(facts, requirements) : [];
    const compliant = requirements ? missing.length === 0 : null;
    await this.repository.finish(tx, claimed, { status: 'verified', facts, missing: requirements ? missing : null, compliant });
    const pr = `${claimed.repo}#${claimed.number}`;
    await this.auditLog.append(tx, {
      actor: `system:${claimed.provider}`,
      action: 'pr.verified',
      grant: claimed.grantId,
      target: grant.target,
      data: { ...facts, url: link.url, attempts: claimed.attempts, requirements, missing: requirements ? missing : null, compliant },
    });
    if (!requirements) return;
    if (compliant) {
      await this.clocks.satisfy(
        tx,
        claimed.grantId,
        'retro_pr',
        `system:${claimed.provider}`,
        `${claimed.provider} ${pr} merged and verified against retroPr.require`,
      );
    } else {
      await this.clocks.markNoncompliant(tx, claimed.grantId, `system:${claimed.provider}`, { pr, url: link.url, missing, at: new Date().toISOString() });
    }
  }
}

/** What went wrong, for the grant view and the log: the forge's HTTP status and message, or the network error. */
function forgeError(error: unknown): string {
  const failure = error as { status?: number; message?: string; cause?: { response?: { status?: number }; code?: string; message?: string } };
  const status = failure.status ?? failure.cause?.response?.status;
  const detail = failure.cause?.code ?? failure.cause?.message;
  const message = (failure.message ?? String(error)).slice(0, 300);
  return status ? `HTTP ${status}: ${message}` : `${message}${detail && !message.includes(detail) ? ` (${detail})` : ''}`;
}
