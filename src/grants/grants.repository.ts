import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { IncidentEvidence } from '../pagerduty/incidents';
import type { OnCallEvidence } from '../pagerduty/on-call';

/** The on-call check as kept on the grant: PagerDuty's answer, or why it could not be had. */
export type OnCallRecord = ({ status: 'on_call' } & OnCallEvidence) | { status: 'unavailable'; checkedAt: string; error: string };

/** The incident check as kept on the grant: PagerDuty's incident, or why it could not be had. */
export type IncidentRecord = IncidentEvidence | { status: 'unavailable'; id: string; checkedAt: string; error: string };

export const GRANT_STATUSES = ['active', 'expired', 'revoked'] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];

export interface GrantRecord {
  id: string;
  status: GrantStatus;
  target: string;
  environment: string;
  credentialType: 'jwt' | 'postgres';
  role: string | null;
  requester: string;
  requesterEmail: string | null;
  incident: string;
  reason: string;
  requestedSeconds: number;
  activatedAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endedBy: string | null;
  endReason: string | null;
  retroPrRepo: string | null;
  onCall: OnCallRecord | null;
  /** What PagerDuty said about the incident (targets with incident.pagerduty), or why it could not be asked. */
  incidentEvidence: IncidentRecord | null;
  flags: string[];
  retroPrDueAt: Date | null;
  reviewDueAt: Date | null;
  /** A drill's grant: which run made it, and who its notices go to (docs/drills.md). */
  drill: GrantDrill | null;
}

export interface GrantDrill {
  run: number;
  name: string;
  /** The drill's audience: channels of its [DRILL] notices. */
  notify: string[];
}

export interface GrantExtension {
  at: Date;
  by: string;
  addedSeconds: number;
  reason: string;
  newExpiresAt: Date;
}

export interface GrantFilter {
  status?: GrantStatus;
  target?: string;
  requester?: string;
  overdue?: boolean;
  beforeId?: string;
  /** Activation time, half-open [from, to). */
  from?: string;
  to?: string;
  /** Matched without regard to case. */
  incident?: string;
}

const COLUMNS = `g.id, g.status, g.target, g.environment, g.credential_type AS "credentialType", g.role, g.requester,
  g.requester_email AS "requesterEmail", g.incident, g.reason, g.requested_seconds AS "requestedSeconds",
  g.activated_at AS "activatedAt", g.expires_at AS "expiresAt", g.ended_at AS "endedAt", g.ended_by AS "endedBy",
  g.end_reason AS "endReason", g.retro_pr_repo AS "retroPrRepo", g.on_call AS "onCall", g.incident_evidence AS "incidentEvidence", g.flags,
  (SELECT due_at FROM sla_clocks WHERE grant_id = g.id AND kind = 'retro_pr') AS "retroPrDueAt",
  (SELECT due_at FROM sla_clocks WHERE grant_id = g.id AND kind = 'review') AS "reviewDueAt",
  CASE WHEN g.drill_run IS NOT NULL THEN json_build_object('run', g.drill_run, 'name', g.drill_name, 'notify', g.drill_notify) END AS drill`;

/** The number of a grant id (`BG-<year>-<number>`): ids sort by it, not as text (7 digits after 999999). */
const GRANT_NUMBER = (id: string) => `split_part(${id}, '-', 3)::bigint`;

@Injectable()
export class GrantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Grants whose access is live now, by target. */
  activeByTarget(): Promise<{ target: string; count: number }[]> {
    return this.dataSource.query(`SELECT target, count(*)::int AS count FROM grants WHERE status = 'active' AND expires_at > now() GROUP BY target`);
  }

  /** The database clock (the source of truth for every grant time), to the millisecond. */
  async now(): Promise<Date> {
    const [row] = await this.dataSource.query(`SELECT date_trunc('milliseconds', clock_timestamp()) AS now`);
    return row.now;
  }

  /**
   * A new grant's activation time (the database clock) and id, `BG-<year>-<6 digits>` with the
   * number from a sequence (no lock, gaps are harmless), in one round trip.
   */
  async nextGrant(): Promise<{ id: string; activatedAt: Date }> {
    const [row] = await this.dataSource.query(`SELECT date_trunc('milliseconds', clock_timestamp()) AS now, nextval('grant_number_seq') AS n`);
    return { id: `BG-${row.now.getUTCFullYear()}-${String(row.n).padStart(6, '0')}`, activatedAt: row.now };
  }

  async insert(tx: EntityManager, grant: Omit<GrantRecord, 'status' | 'endedAt' | 'endedBy' | 'endReason' | 'retroPrDueAt' | 'reviewDueAt'>): Promise<void> {
    await tx.query(
      `INSERT INTO grants (id, status, target, environment, credential_type, role, requester, requester_email, incident, reason,
                           requested_seconds, activated_at, expires_at, retro_pr_repo, on_call, flags, drill_run, drill_name, drill_notify, incident_evidence)
       VALUES ($1, 'active', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [
        grant.id,
        grant.target,
        grant.environment,
        grant.credentialType,
        grant.role,
        grant.requester,
        grant.requesterEmail,
        grant.incident,
        grant.reason,
        grant.requestedSeconds,
        grant.activatedAt,
        grant.expiresAt,
        grant.retroPrRepo,
        grant.onCall ? JSON.stringify(grant.onCall) : null,
        grant.flags,
        grant.drill?.run ?? null,
        grant.drill?.name ?? null,
        grant.drill?.notify ?? null,
        grant.incidentEvidence ? JSON.stringify(grant.incidentEvidence) : null,
      ],
    );
  }

  async find(id: string, tx?: EntityManager): Promise<GrantRecord | undefined> {
    const [row] = await (tx ?? this.dataSource).query(`SELECT ${COLUMNS} FROM grants g WHERE g.id = $1`, [id]);
    return row;
  }

  /** Locks the grant row for a state change; answers undefined when it does not exist. */
  async lock(tx: EntityManager, id: string): Promise<GrantRecord | undefined> {
    const [row] = await tx.query(`SELECT ${COLUMNS} FROM grants g WHERE g.id = $1 FOR UPDATE OF g`, [id]);
    return row;
  }

  async list(filter: GrantFilter, limit: number): Promise<GrantRecord[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM grants g
        WHERE ($1::text IS NULL OR g.status = $1)
          AND ($2::text IS NULL OR g.target = $2)
          AND ($3::text IS NULL OR g.requester = $3)
          AND ($4::boolean IS NOT TRUE OR EXISTS (
                SELECT 1 FROM sla_clocks c WHERE c.grant_id = g.id AND c.kind = 'retro_pr'
                   AND c.state IN ('running', 'pr_noncompliant', 'breached') AND c.due_at < now()))
          AND ($5::text IS NULL OR ${GRANT_NUMBER('g.id')} < ${GRANT_NUMBER('$5')})
          AND ($7::timestamptz IS NULL OR g.activated_at >= $7)
          AND ($8::timestamptz IS NULL OR g.activated_at < $8)
          AND ($9::text IS NULL OR upper(g.incident) = upper($9))
        ORDER BY ${GRANT_NUMBER('g.id')} DESC
        LIMIT $6`,
      [
        filter.status ?? null,
        filter.target ?? null,
        filter.requester ?? null,
        filter.overdue ?? null,
        filter.beforeId ?? null,
        limit,
        filter.from ?? null,
        filter.to ?? null,
        filter.incident ?? null,
      ],
    );
  }

  extensions(grantId: string): Promise<GrantExtension[]> {
    return this.dataSource.query(
      `SELECT at, by, added_seconds AS "addedSeconds", reason, new_expires_at AS "newExpiresAt"
         FROM grant_extensions WHERE grant_id = $1 ORDER BY at`,
      [grantId],
    );
  }

  async extend(tx: EntityManager, id: string, extension: GrantExtension): Promise<void> {
    await tx.query(`UPDATE grants SET expires_at = $2 WHERE id = $1`, [id, extension.newExpiresAt]);
    await tx.query(`INSERT INTO grant_extensions (grant_id, at, by, added_seconds, reason, new_expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      extension.at,
      extension.by,
      extension.addedSeconds,
      extension.reason,
      extension.newExpiresAt,
    ]);
  }

  /** Active grants tied to a PagerDuty incident (`PD-<id>`, `PD<id>` or the bare id, any case), locked. */
  lockActiveForIncident(tx: EntityManager, pagerDutyIncidentId: string): Promise<GrantRecord[]> {
    return tx.query(
      `SELECT ${COLUMNS} FROM grants g
        WHERE g.status = 'active' AND upper(g.incident) IN (upper($1), 'PD-' || upper($1), 'PD' || upper($1))
        ORDER BY g.id FOR UPDATE OF g`,
      [pagerDutyIncidentId],
    );
  }

  async shorten(tx: EntityManager, id: string, expiresAt: Date): Promise<void> {
    await tx.query(`UPDATE grants SET expires_at = $2 WHERE id = $1 AND expires_at > $2`, [id, expiresAt]);
  }

  async end(tx: EntityManager, id: string, ending: { status: 'expired' | 'revoked'; by: string; reason: string }): Promise<Date> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [[row]] = await tx.query(
      `UPDATE grants SET status = $2, ended_at = greatest(now(), activated_at), ended_by = $3, end_reason = $4
        WHERE id = $1 AND status = 'active' RETURNING ended_at AS "endedAt"`,
      [id, ending.status, ending.by, ending.reason],
    );
    return row.endedAt;
  }

  /** Active grants past their expiry, locked for this transaction; others' claims are skipped. */
  claimExpired(tx: EntityManager, limit: number): Promise<GrantRecord[]> {
    return tx.query(
      `SELECT ${COLUMNS} FROM grants g
        WHERE g.status = 'active' AND g.expires_at <= now()
        ORDER BY g.expires_at
        LIMIT $1
        FOR UPDATE OF g SKIP LOCKED`,
      [limit],
    );
  }

  async millisUntilNextExpiry(): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (min(expires_at) - clock_timestamp())) * 1000 AS ms FROM grants WHERE status = 'active'`,
    );
    return row.ms === null ? null : Math.ceil(Number(row.ms));
  }
}
