import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export const DRILL_TRIGGERS = ['schedule', 'catch_up', 'manual'] as const;
export type DrillTrigger = (typeof DRILL_TRIGGERS)[number];
export const DRILL_STATUSES = ['running', 'passed', 'failed'] as const;
export type DrillStatus = (typeof DRILL_STATUSES)[number];

/** One step of a drill on one target, as kept on the run and in its audit event. */
export interface DrillStep {
  target: string;
  step: string;
  outcome: 'passed' | 'failed';
  startedAt: string;
  ms: number;
  /** What the step established (e.g. the login's username, the bundle's digest). */
  detail: Record<string, string | number | boolean | null>;
  error: string | null;
}

export interface DrillRunRecord {
  id: number;
  drill: string;
  trigger: DrillTrigger;
  scheduledFor: Date | null;
  requestedBy: string;
  targets: string[];
  status: DrillStatus;
  startedAt: Date;
  finishedAt: Date | null;
  failedStep: string | null;
  failedTarget: string | null;
  error: string | null;
  steps: DrillStep[];
  grants: string[];
}

export interface DrillOutcome {
  status: 'passed' | 'failed';
  steps: DrillStep[];
  grants: string[];
  failedStep: string | null;
  failedTarget: string | null;
  error: string | null;
}

const COLUMNS = `id::int, drill, trigger, scheduled_for AS "scheduledFor", requested_by AS "requestedBy", targets, status,
  started_at AS "startedAt", finished_at AS "finishedAt", failed_step AS "failedStep", failed_target AS "failedTarget", error, steps, grants`;

@Injectable()
export class DrillsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records when a drill was first seen with this schedule (a changed schedule starts afresh); answers that time. */
  async register(drill: string, schedule: string): Promise<Date> {
    const [row] = await this.dataSource.query(
      `INSERT INTO drill_schedules (drill, schedule) VALUES ($1, $2)
       ON CONFLICT (drill) DO UPDATE SET schedule = excluded.schedule,
         registered_at = CASE WHEN drill_schedules.schedule = excluded.schedule THEN drill_schedules.registered_at ELSE now() END
       RETURNING registered_at AS "registeredAt"`,
      [drill, schedule],
    );
    return row.registeredAt;
  }

  /**
   * Claims a run: answers it, or undefined when another instance already claimed this fire time or a
   * run of the drill is still going (both unique indexes; whoever inserts the row runs the drill).
   */
  async claim(
    tx: EntityManager,
    run: { drill: string; trigger: DrillTrigger; scheduledFor: Date | null; requestedBy: string; targets: string[] },
  ): Promise<DrillRunRecord | undefined> {
    const [row] = await tx.query(
      `INSERT INTO drill_runs (drill, trigger, scheduled_for, requested_by, targets) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [run.drill, run.trigger, run.scheduledFor, run.requestedBy, run.targets],
    );
    return row;
  }

  /** Answers undefined when the run was no longer running (another instance closed it as abandoned). */
  async finish(tx: EntityManager, id: number, outcome: DrillOutcome): Promise<DrillRunRecord | undefined> {
    const [[row]] = await tx.query(
      `UPDATE drill_runs SET status = $2, finished_at = clock_timestamp(), steps = $3, grants = $4, failed_step = $5, failed_target = $6, error = $7
        WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
      [id, outcome.status, JSON.stringify(outcome.steps), outcome.grants, outcome.failedStep, outcome.failedTarget, outcome.error],
    );
    return row;
  }

  /** Runs still marked running well after their timeout: the instance running them stopped mid-drill. */
  abandoned(olderThan: { drill: string; seconds: number }[]): Promise<DrillRunRecord[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM drill_runs r JOIN unnest($1::text[], $2::int[]) AS t(name, seconds) ON t.name = r.drill
        WHERE r.status = 'running' AND r.started_at < clock_timestamp() - make_interval(secs => t.seconds)`,
      [olderThan.map((o) => o.drill), olderThan.map((o) => o.seconds)],
    );
  }

  /** Grants a drill run made that are still active (left behind when its instance stopped). */
  activeGrantsOf(runId: number): Promise<{ id: string }[]> {
    return this.dataSource.query(`SELECT id FROM grants WHERE drill_run = $1 AND status = 'active'`, [runId]);
  }

  async lastScheduledFor(drill: string): Promise<Date | null> {
    const [row] = await this.dataSource.query(`SELECT max(scheduled_for) AS at FROM drill_runs WHERE drill = $1`, [drill]);
    return row.at;
  }

  find(id: number): Promise<DrillRunRecord | undefined> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM drill_runs WHERE id = $1`, [id]).then(([row]) => row);
  }

  /** Newest first; `beforeId` pages. */
  list(filter: { drill?: string; beforeId?: number }, limit: number): Promise<DrillRunRecord[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM drill_runs
        WHERE ($1::text IS NULL OR drill = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [filter.drill ?? null, filter.beforeId ?? null, limit],
    );
  }

  /** Per target, its latest finished drill run and its latest passed one. */
  lastPerTarget(): Promise<{ target: string; last: DrillRunRecord; lastPassed: DrillRunRecord | null }[]> {
    return this.dataSource.query(
      `SELECT t.target, to_json(l) AS last, to_json(p) AS "lastPassed"
         FROM (SELECT DISTINCT unnest(targets) AS target FROM drill_runs WHERE status <> 'running') t
         CROSS JOIN LATERAL (SELECT ${COLUMNS} FROM drill_runs WHERE t.target = ANY(targets) AND status <> 'running' ORDER BY id DESC LIMIT 1) l
         LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM drill_runs WHERE t.target = ANY(targets) AND status = 'passed' ORDER BY id DESC LIMIT 1) p ON true
        ORDER BY t.target`,
    );
  }
}
