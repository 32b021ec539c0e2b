import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GRANT_FACTS_COLUMN, withGrantDates } from '../notifications/grant-facts.sql';
import type { GrantFacts } from '../notifications/notice';
import type { PauseRecord, Reconciliation, StoredGitopsEvent } from './gitops.views';
import type { ReconcilerEvent } from './reconciler-event';

export interface GrantInScope {
  grant: GrantFacts;
  status: string;
  endedAt: Date | null;
}

const EVENT_COLUMNS = `e.id, e.source, e.kind, json_build_object('kind', e.object_kind, 'namespace', e.object_ns, 'name', e.object_name) AS object,
  e.cluster, e.revision, e.commit_sha AS commit, e.resources, e.reason, e.message, e.targets, coalesce(e.audit_seq, (SELECT x.seq FROM audit_events x WHERE x.entry_id = e.audit_entry)) AS "auditSeq", e.received_at AS "receivedAt"`;

/** pg gives bigint as a string; audit seqs stay far below 2^53. */
function withNumericSeq(row: StoredGitopsEvent): StoredGitopsEvent {
  return { ...row, id: String(row.id), auditSeq: row.auditSeq === null ? null : Number(row.auditSeq) };
}

/** The only code that reads or writes the GitOps tables. */
@Injectable()
export class GitopsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Serialises the events of one reconciler object in one cluster (until the transaction ends). */
  async lockObject(tx: EntityManager, event: Pick<ReconcilerEvent, 'source' | 'object' | 'cluster'>): Promise<void> {
    const { source, object, cluster } = event;
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [JSON.stringify([source, cluster, object.kind, object.namespace, object.name])]);
  }

  /** The revision this object (in this cluster) was last reconciled at. */
  async lastReconciledRevision(tx: EntityManager, event: Pick<ReconcilerEvent, 'source' | 'object' | 'cluster'>): Promise<string | null> {
    const { source, object, cluster } = event;
    const [row] = await tx.query(
      `SELECT revision FROM gitops_events
        WHERE source = $1 AND object_kind = $2 AND object_ns IS NOT DISTINCT FROM $3 AND object_name = $4 AND cluster IS NOT DISTINCT FROM $5 AND kind = 'reconciled'
        ORDER BY id DESC LIMIT 1`,
      [source, object.kind, object.namespace, object.name, cluster],
    );
    return row?.revision ?? null;
  }

  /** `auditEntry`: the event's audit entry (its seq is known once the integrator has sequenced it). */
  async insertEvent(tx: EntityManager, event: ReconcilerEvent, targets: string[], auditEntry: number): Promise<string> {
    const [row] = await tx.query(
      `INSERT INTO gitops_events (source, kind, object_kind, object_ns, object_name, cluster, revision, commit_sha, resources, reason, message, targets, audit_entry)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [
        event.source,
        event.kind,
        event.object.kind,
        event.object.namespace,
        event.object.name,
        event.cluster,
        event.revision,
        event.commit,
        JSON.stringify(event.resources),
        event.reason,
        event.message,
        targets,
        auditEntry,
      ],
    );
    return String(row.id);
  }

  /** Grants on these targets that are active, or ended less than their target's grace ago. */
  grantsInWindow(tx: EntityManager, targets: { name: string; graceSeconds: number }[]): Promise<GrantInScope[]> {
    if (!targets.length) return Promise.resolve([]);
    return tx
      .query(
        `SELECT ${GRANT_FACTS_COLUMN}, g.status, g.ended_at AS "endedAt"
           FROM grants g JOIN unnest($1::text[], $2::int[]) AS t(name, grace) ON t.name = g.target
          WHERE g.status = 'active' OR g.ended_at >= now() - make_interval(secs => t.grace)
          ORDER BY g.id`,
        [targets.map((t) => t.name), targets.map((t) => t.graceSeconds)],
      )
      .then((rows: GrantInScope[]) => rows.map(withGrantDates));
  }

  async attribute(tx: EntityManager, eventId: string, grantId: string): Promise<void> {
    await tx.query(`INSERT INTO drift_attributions (event_id, grant_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [eventId, grantId]);
  }

  /** Reconciles of these targets' objects at this commit (for a PR merged after the reconcile arrived). */
  async reconciledAt(tx: EntityManager, targets: string[], commit: string): Promise<StoredGitopsEvent[]> {
    const rows: StoredGitopsEvent[] = await tx.query(
      `SELECT ${EVENT_COLUMNS} FROM gitops_events e WHERE e.kind = 'reconciled' AND e.commit_sha = $1 AND e.targets && $2::text[] ORDER BY e.id`,
      [commit, targets],
    );
    return rows.map(withNumericSeq);
  }

  /** The closed loop of a grant (call with the grant locked by lockUnreconciled). */
  async recordReconciliation(tx: EntityManager, grantId: string, eventId: string, pr: { repo: string; number: number }, commit: string): Promise<void> {
    await tx.query(`INSERT INTO change_reconciliations (grant_id, event_id, repo, number, commit_sha) VALUES ($1, $2, $3, $4, $5)`, [
      grantId,
      eventId,
      pr.repo,
      pr.number,
      commit,
    ]);
  }

  async recordPause(tx: EntityManager, grantId: string, change: 'paused' | 'resumed', by: string): Promise<void> {
    await tx.query(
      change === 'paused'
        ? `INSERT INTO gitops_pauses (grant_id, paused_at, paused_by) VALUES ($1, now(), $2)
           ON CONFLICT (grant_id) DO UPDATE SET paused_at = now(), paused_by = $2, resumed_at = NULL, resumed_by = NULL`
        : `INSERT INTO gitops_pauses (grant_id, resumed_at, resumed_by) VALUES ($1, now(), $2)
           ON CONFLICT (grant_id) DO UPDATE SET resumed_at = now(), resumed_by = $2`,
      [grantId, by],
    );
  }

  /** Of these grants, those without a recorded reconciliation; all locked, so the loop closes once. */
  async lockUnreconciled(tx: EntityManager, grantIds: string[]): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(
      `SELECT g.id FROM grants g WHERE g.id = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM change_reconciliations r WHERE r.grant_id = g.id)
        ORDER BY g.id FOR UPDATE OF g`,
      [grantIds],
    );
    return rows.map((row) => row.id);
  }

  /** The drift events attributed to a grant, oldest first. */
  async driftOf(grantId: string, tx?: EntityManager): Promise<StoredGitopsEvent[]> {
    const rows: StoredGitopsEvent[] = await (tx ?? this.dataSource).query(
      `SELECT ${EVENT_COLUMNS} FROM gitops_events e JOIN drift_attributions a ON a.event_id = e.id WHERE a.grant_id = $1 ORDER BY e.id`,
      [grantId],
    );
    return rows.map(withNumericSeq);
  }

  async reconciliationOf(grantId: string): Promise<Reconciliation | null> {
    const [row] = await this.dataSource.query(
      `SELECT r.event_id AS "eventId", r.repo, r.number, r.commit_sha AS commit, r.reconciled_at AS "reconciledAt",
              round(extract(epoch FROM r.reconciled_at - g.activated_at))::int AS "secondsFromActivation"
         FROM change_reconciliations r JOIN grants g ON g.id = r.grant_id WHERE r.grant_id = $1`,
      [grantId],
    );
    return row ?? null;
  }

  async pauseOf(grantId: string, tx?: EntityManager): Promise<PauseRecord | null> {
    const [row] = await (tx ?? this.dataSource).query(
      `SELECT paused_at AS "pausedAt", paused_by AS "pausedBy", resumed_at AS "resumedAt", resumed_by AS "resumedBy" FROM gitops_pauses WHERE grant_id = $1`,
      [grantId],
    );
    return row ?? null;
  }
}
