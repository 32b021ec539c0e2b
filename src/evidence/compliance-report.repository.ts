import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { GrantStatus } from '../grants/grants.repository';
import type { ClockKind, ClockState } from '../sla/sla-clocks.repository';
import type { MissingRequirementView } from '../sla/sla.views';

export interface Period {
  from: string;
  to: string;
}

interface ClockRow {
  grant: string;
  kind: ClockKind;
  state: ClockState;
  startedAt: Date;
  dueAt: Date;
  breachedAt: Date | null;
  resolvedAt: Date | null;
  resolution: string | null;
  resolvedBy: string | null;
  overdue: boolean;
}

export interface GrantRow {
  id: string;
  target: string;
  environment: string;
  requester: string;
  incident: string;
  status: GrantStatus;
  activatedAt: Date;
  flags: string[];
  retroPr: ClockState | null;
  timeToPrSeconds: number | null;
  review: ClockState | null;
}

/** The report's questions, each one query over the period's grants (activated in [from, to)). */
@Injectable()
export class ComplianceReportRepository {
  constructor(private readonly dataSource: DataSource) {}

  grantsByTarget(period: Period): Promise<{ target: string; environment: string; count: number; flagged: number }[]> {
    return this.dataSource.query(
      `SELECT target, environment, count(*)::int AS count, count(*) FILTER (WHERE cardinality(flags) > 0)::int AS flagged
         FROM grants WHERE activated_at >= $1 AND activated_at < $2 AND drill_run IS NULL GROUP BY target, environment ORDER BY target`,
      [period.from, period.to],
    );
  }

  denialsByReason(period: Period): Promise<{ code: string; count: number }[]> {
    return this.dataSource.query(
      `SELECT data_canonical::jsonb->>'code' AS code, count(*)::int AS count FROM audit_events
        WHERE action = 'grant.denied' AND actor <> 'system:drill' AND at >= $1 AND at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`,
      [period.from, period.to],
    );
  }

  clocks(period: Period): Promise<ClockRow[]> {
    return this.dataSource.query(
      `SELECT c.grant_id AS "grant", c.kind, c.state, c.started_at AS "startedAt", c.due_at AS "dueAt", c.breached_at AS "breachedAt",
              c.resolved_at AS "resolvedAt", c.resolution, c.resolved_by AS "resolvedBy", (c.state IN ('running', 'pr_noncompliant', 'breached') AND c.due_at < now()) AS overdue
         FROM sla_clocks c JOIN grants g ON g.id = c.grant_id
        WHERE g.activated_at >= $1 AND g.activated_at < $2 ORDER BY c.due_at`,
      [period.from, period.to],
    );
  }

  /** Every grant of the period with both clocks' outcome: the population an auditor samples from. */
  grants(period: Period): Promise<GrantRow[]> {
    return this.dataSource.query(
      `SELECT g.id, g.target, g.environment, g.requester, g.incident, g.status, g.activated_at AS "activatedAt", g.flags,
              r.state AS "retroPr", CASE WHEN r.state IN ('satisfied', 'satisfied_late') THEN round(extract(epoch FROM r.resolved_at - r.started_at))::int END AS "timeToPrSeconds",
              v.state AS review
         FROM grants g
         LEFT JOIN sla_clocks r ON r.grant_id = g.id AND r.kind = 'retro_pr'
         LEFT JOIN sla_clocks v ON v.grant_id = g.id AND v.kind = 'review'
        WHERE g.activated_at >= $1 AND g.activated_at < $2 AND g.drill_run IS NULL ORDER BY g.activated_at, g.id`,
      [period.from, period.to],
    );
  }

  /** Drill runs started in the period (drill grants are left out of the grant figures above). */
  drillRuns(period: Period): Promise<
    {
      id: number;
      drill: string;
      trigger: string;
      targets: string[];
      status: string;
      startedAt: Date;
      finishedAt: Date | null;
      failedStep: string | null;
      error: string | null;
      grants: string[];
    }[]
  > {
    return this.dataSource.query(
      `SELECT id::int, drill, trigger, targets, status, started_at AS "startedAt", finished_at AS "finishedAt", failed_step AS "failedStep", error, grants
         FROM drill_runs WHERE started_at >= $1 AND started_at < $2 ORDER BY id`,
      [period.from, period.to],
    );
  }

  /** Per target, the last drill that passed before the period's end. */
  lastPassedDrills(period: Period): Promise<{ target: string; drill: string; run: number; finishedAt: Date }[]> {
    return this.dataSource.query(
      `SELECT DISTINCT ON (target) target, drill, id::int AS run, finished_at AS "finishedAt"
         FROM drill_runs, unnest(targets) AS target
        WHERE status = 'passed' AND finished_at < $1 ORDER BY target, finished_at DESC`,
      [period.to],
    );
  }

  violations(period: Period): Promise<{ grant: string; reviewer: string; notes: string; at: Date }[]> {
    return this.dataSource.query(
      `SELECT r.grant_id AS "grant", r.reviewer, r.notes, r.at FROM session_reviews r JOIN grants g ON g.id = r.grant_id
        WHERE r.outcome = 'violation' AND g.activated_at >= $1 AND g.activated_at < $2 ORDER BY r.at`,
      [period.from, period.to],
    );
  }

  controlCounts(period: Period): Promise<{ control: string; count: number }[]> {
    return this.dataSource.query(
      `SELECT control, count(*)::int AS count FROM audit_events, unnest(controls) AS control
        WHERE at >= $1 AND at < $2 GROUP BY control ORDER BY control`,
      [period.from, period.to],
    );
  }

  /** Grants of the period whose merged retro PR the reconciler applied, with the time from break-glass. */
  reconciledChanges(period: Period): Promise<{ grant: string; repo: string; number: number; commit: string; reconciledAt: Date; seconds: number }[]> {
    return this.dataSource.query(
      `SELECT r.grant_id AS "grant", r.repo, r.number, r.commit_sha AS commit, r.reconciled_at AS "reconciledAt",
              round(extract(epoch FROM r.reconciled_at - g.activated_at))::int AS seconds
         FROM change_reconciliations r JOIN grants g ON g.id = r.grant_id
        WHERE g.activated_at >= $1 AND g.activated_at < $2 ORDER BY r.reconciled_at`,
      [period.from, period.to],
    );
  }

  /** Drift seen in the period: attributed drift events per grant, and every unattributed one. */
  /** Retro PRs verified at the forge against retroPr.require in the period (pr.verified with a verdict). */
  verifiedPullRequests(
    period: Period,
  ): Promise<
    { seq: number; at: Date; grant: string; repo: string; number: number; compliant: boolean; missing: MissingRequirementView[]; controls: string[] }[]
  > {
    return this.dataSource.query(
      `SELECT seq::float8 AS seq, at, grant_id AS "grant", data->>'repo' AS repo, (data->>'number')::int AS number, (data->>'compliant')::boolean AS compliant,
              data->'missing' AS missing, controls
         FROM (SELECT *, data_canonical::jsonb AS data FROM audit_events WHERE action = 'pr.verified' AND at >= $1 AND at < $2) AS events
        WHERE jsonb_typeof(data->'compliant') = 'boolean' ORDER BY events.seq`,
      [period.from, period.to],
    );
  }

  drift(period: Period): Promise<
    {
      seq: number;
      at: Date;
      action: 'drift.attributed' | 'drift.unattributed';
      grant: string | null;
      source: string;
      object: unknown;
      resources: unknown;
      targets: unknown;
    }[]
  > {
    return this.dataSource.query(
      `SELECT seq::float8 AS seq, at, action, grant_id AS "grant", data->>'source' AS source, data->'object' AS object, data->'resources' AS resources, data->'targets' AS targets
         FROM (SELECT *, data_canonical::jsonb AS data FROM audit_events) AS events WHERE action IN ('drift.attributed', 'drift.unattributed') AND at >= $1 AND at < $2 ORDER BY events.seq`,
      [period.from, period.to],
    );
  }
}
