import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { requireGrantAccess } from '../access/grant-access';
import { GrantReader } from '../access/grant-reader';
import type { AuditEntry } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { Notifications } from '../notifications/notifications.service';
import { PullRequests, type MergedPullRequest } from '../sla/pull-requests.service';
import { GitopsRepository } from './gitops.repository';
import type { GrantGitops, PauseRecord, RecordOutcome, StoredGitopsEvent } from './gitops.views';
import { describeObject, inScope, type ReconcilerEvent } from './reconciler-event';

/**
 * Reconciler events (Flux, Argo CD) as deployment audit trail; drift attributed to the grants that
 * explain it (or flagged to security); the closed loop from merged retro PR to reconciled change.
 */
@Injectable()
export class Gitops {
  constructor(
    private readonly repository: GitopsRepository,
    private readonly auditLog: AuditLog,
    private readonly notifications: Notifications,
    private readonly pullRequests: PullRequests,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly grants: GrantReader,
  ) {}

  /** A retro PR merged after its commit was already reconciled closes the loop at the merge. */
  async closeLoopAtMerge(tx: EntityManager, merged: MergedPullRequest): Promise<void> {
    const [event] = await this.repository.reconciledAt(tx, [merged.target], merged.mergeCommitSha);
    if (event) await this.closeLoop(tx, { ...event, commit: merged.mergeCommitSha }, [merged]);
  }

  /** The drift a grant's retro PR should cover, as a fact of its retro-PR notices. */
  async retroPrFacts(tx: EntityManager, grantId: string): Promise<Record<string, string>> {
    const drift = await this.repository.driftOf(grantId, tx);
    if (!drift.length) return {};
    const seen = [...new Set(drift.flatMap((event) => (event.resources.length ? event.resources : [event.object]).map(describeObject)))];
    return { drift: `drift seen on ${seen.join(', ')}: your PR should cover it` };
  }

  /**
   * One transaction: the delivery (a re-delivery does nothing), the event with its audit events,
   * drift attributions or the security notice, and the closed loop.
   */
  record(incoming: ReconcilerEvent): Promise<RecordOutcome> {
    return this.dataSource.transaction(async (tx) => {
      const event = await this.classify(tx, incoming);
      // A repeat is not stored, nor is its delivery (Flux sends one per interval); a re-delivery of
      // the event that was stored at this revision is still a duplicate.
      if (!event) {
        if (await this.pullRequests.wasDelivered(tx, incoming.source, incoming.deliveryKey)) return { duplicate: true };
        return { duplicate: false, ignored: true, reason: incoming.reason, alreadyReconciled: incoming.revision! };
      }
      if (!(await this.pullRequests.recordDelivery(tx, incoming.source, incoming.deliveryKey, `${incoming.source}.${incoming.reason}`)))
        return { duplicate: true };
      const targets = this.policy.targets.filter((target) => target.gitops && inScope(target.gitops, event));
      const targetNames = targets.map((target) => target.name);
      const facts = {
        source: event.source,
        object: event.object,
        cluster: event.cluster,
        revision: event.revision,
        commit: event.commit,
        reason: event.reason,
        message: event.message.slice(0, 4000),
        resources: event.resources,
        targets: targetNames,
      };
      const entries: AuditEntry[] = [
        {
          actor: `system:${event.source}`,
          action: event.kind === 'reconciled' ? 'deploy.reconciled' : event.kind === 'failed' ? 'deploy.failed' : 'deploy.drift_detected',
          target: targets.length === 1 ? targets[0].name : null,
          alsoConcerns: targetNames,
          data: facts,
        },
      ];
      const outcome: RecordOutcome = { duplicate: false, kind: event.kind, targets: targetNames };

      let explaining: Awaited<ReturnType<GitopsRepository['grantsInWindow']>> = [];
      if (event.kind === 'drift') {
        explaining = await this.repository.grantsInWindow(
          tx,
          targets.map((target) => ({ name: target.name, graceSeconds: target.gitops!.driftGraceSeconds })),
        );
        outcome.attributedTo = explaining.map((row) => row.grant.id);
        entries.push(
          ...(explaining.length
            ? explaining.map((row) => ({
                actor: `system:${event.source}`,
                action: 'drift.attributed' as const,
                grant: row.grant.id,
                target: row.grant.target,
                data: { ...facts, grantStatus: row.status, grantEndedAt: row.endedAt },
              }))
            : [{ actor: `system:${event.source}`, action: 'drift.unattributed' as const, target: entries[0].target, alsoConcerns: targetNames, data: facts }]),
        );
      }
      const merged = event.kind === 'reconciled' && event.commit && targetNames.length ? await this.pullRequests.mergedAt(tx, targetNames, event.commit) : [];

      const [first] = await this.auditLog.append(tx, ...entries);
      const eventId = await this.repository.insertEvent(tx, event, targetNames, first);
      for (const row of explaining) await this.repository.attribute(tx, eventId, row.grant.id);
      if (event.kind === 'drift' && !explaining.length) await this.notifySecurity(tx, eventId, event, targetNames);
      if (event.kind === 'reconciled') {
        const stored = { id: eventId, commit: event.commit!, source: event.source, object: event.object, revision: event.revision };
        outcome.reconciled = merged.length ? await this.closeLoop(tx, stored, merged) : [];
      }
      return outcome;
    });
  }

  async forGrant(grantId: string): Promise<GrantGitops> {
    await this.auditLog.settled(); // auditSeq of just-received events
    const [drift, reconciled, pause] = await Promise.all([
      this.repository.driftOf(grantId),
      this.repository.reconciliationOf(grantId),
      this.repository.pauseOf(grantId),
    ]);
    return { drift, reconciled, pause };
  }

  /** The pause helper reports that reconciliation of the grant's scope was suspended or resumed. */
  recordPause(caller: Principal, grantId: string, change: 'paused' | 'resumed'): Promise<PauseRecord> {
    return this.dataSource.transaction(async (tx) => {
      const grant = requireGrantAccess(caller, await this.grants.lock(tx, grantId), grantId, 'gitops.pause');
      const target = findTarget(this.policy, grant.target);
      await this.repository.recordPause(tx, grantId, change, caller.subject);
      await this.auditLog.append(tx, {
        actor: caller.subject,
        action: change === 'paused' ? 'gitops.paused' : 'gitops.resumed',
        grant: grantId,
        target: grant.target,
        data: { kustomizations: target?.gitops?.kustomizations ?? [], apps: target?.gitops?.apps ?? [] },
      });
      return (await this.repository.pauseOf(grantId, tx))!;
    });
  }

  /**
   * Flux has no drift event for Kustomizations: it corrects drift on every reconcile and lists what
   * it changed. Changes at the revision it had already applied can only be drift; a success there
   * that changed nothing is a repeat (null). Events of one object are serialised so that two
   * deliveries cannot both see the old revision.
   */
  private async classify(tx: EntityManager, event: ReconcilerEvent): Promise<ReconcilerEvent | null> {
    if (!event.sameRevision || !event.revision) return event;
    await this.repository.lockObject(tx, event);
    const previous = await this.repository.lastReconciledRevision(tx, event);
    if (previous !== event.revision) return event;
    return event.sameRevision === 'drift' ? { ...event, kind: 'drift' } : null;
  }

  private async notifySecurity(tx: EntityManager, eventId: string, event: ReconcilerEvent, targets: string[]): Promise<void> {
    const where = (event.resources.length ? event.resources : [event.object]).map(describeObject).join(', ');
    await this.notifications.notifyAudience(tx, {
      kind: 'drift_unattributed',
      channels: this.policy.notify.security,
      key: `drift:${eventId}`,
      headline: `unattributed drift on ${where}: no break-glass grant explains it`,
      facts: {
        source: event.source,
        object: describeObject(event.object),
        cluster: event.cluster,
        revision: event.revision,
        reason: event.reason,
        targets: targets.join(', ') || '(no target scope)',
      },
      links: [{ path: `/v1/audit?action=drift.unattributed`, text: 'Unattributed drift in the audit log' }],
      pagerdutyDedupKey: `breakglass/drift/${eventId}`,
    });
  }

  /** Records `change.reconciled` for grants not yet reconciled; returns their ids. */
  private async closeLoop(
    tx: EntityManager,
    event: Pick<StoredGitopsEvent, 'id' | 'commit' | 'source' | 'object' | 'revision'> & { commit: string },
    merges: { grantId: string; target: string; repo: string; number: number }[],
  ): Promise<string[]> {
    const open = new Set(
      await this.repository.lockUnreconciled(
        tx,
        merges.map((merge) => merge.grantId),
      ),
    );
    const closing = merges.filter((merge) => open.delete(merge.grantId));
    for (const merge of closing) await this.repository.recordReconciliation(tx, merge.grantId, event.id, merge, event.commit);
    await this.auditLog.append(
      tx,
      ...closing.map((merge) => ({
        actor: `system:${event.source}`,
        action: 'change.reconciled' as const,
        grant: merge.grantId,
        target: merge.target,
        data: {
          repo: merge.repo,
          number: merge.number,
          commit: event.commit,
          revision: event.revision,
          reconciler: event.source,
          object: event.object,
          gitopsEvent: Number(event.id),
        },
      })),
    );
    return closing.map((merge) => merge.grantId);
  }
}
