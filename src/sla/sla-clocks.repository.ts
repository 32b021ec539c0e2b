import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EscalationStep } from '../config/policy';
import { GRANT_FACTS_COLUMN, withGrantDates } from '../notifications/grant-facts.sql';
import type { GrantFacts } from '../notifications/notice';

import type { ClockKind, ClockState, NoncomplianceView } from './sla.views';

export type { ClockKind, ClockState } from './sla.views';

export interface ClockRecord {
  id: string;
  grantId: string;
  kind: ClockKind;
  state: ClockState;
  requester: string;
  startedAt: Date;
  dueAt: Date;
  breachedAt: Date | null;
  resolvedAt: Date | null;
  resolution: string | null;
  resolvedBy: string | null;
  noncompliance: NoncomplianceView | null;
  target: string;
}

export interface StepRecord {
  clockId: string;
  step: number;
  afterSeconds: number;
  fireAt: Date;
  notify: string[];
  state: 'pending' | 'fired' | 'cancelled';
  firedAt: Date | null;
}

/** A step with how its notifications fared (rows of the outbox with its idempotency key). */
export interface StepWithDelivery extends StepRecord {
  deliveries: number;
  delivered: number;
  /** Deliveries that failed at least once and are not delivered (retrying or given up). */
  failing: number;
  lastError: string | null;
}

/** A due escalation step with what its notice needs to say. */
export interface DueStep extends StepRecord {
  kind: ClockKind;
  dueAt: Date;
  grant: GrantFacts;
}

export interface ClockFilter {
  id?: string;
  state?: ClockState;
  kind?: ClockKind;
  grant?: string;
  afterId?: string;
}

const CLOCK_COLUMNS = `c.id, c.grant_id AS "grantId", c.kind, c.state, c.requester, c.started_at AS "startedAt", c.due_at AS "dueAt",
  c.breached_at AS "breachedAt", c.resolved_at AS "resolvedAt", c.resolution, c.resolved_by AS "resolvedBy", c.noncompliance, g.target`;
/** Not yet satisfied or waived (OPEN_CLOCK_STATES); `pr_noncompliant` escalates and breaches like `running`. */
const OPEN = `('running', 'pr_noncompliant', 'breached')`;
const WITHIN_TIME = `('running', 'pr_noncompliant')`;
@Injectable()
export class SlaClocksRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Clocks still open (running, pr_noncompliant or breached), by kind and state. */
  openByState(): Promise<{ kind: string; state: string; count: number }[]> {
    return this.dataSource.query(`SELECT kind, state, count(*)::int AS count FROM sla_clocks WHERE state IN ${OPEN} GROUP BY kind, state`);
  }

  /**
   * Starts a grant's clocks, each with the same escalation steps (step n fires `afterSeconds` after
   * its clock's due time), in one statement: one round trip in the grant's transaction.
   */
  async start(
    tx: EntityManager,
    grant: { grantId: string; requester: string; startedAt: Date; steps: EscalationStep[] },
    clocks: { kind: ClockKind; dueAt: Date }[],
  ): Promise<void> {
    await tx.query(
      `WITH clock AS (
         INSERT INTO sla_clocks (grant_id, kind, requester, started_at, due_at)
         SELECT $1, c.kind, $2, $3, c.due_at FROM unnest($4::text[], $5::timestamptz[]) AS c(kind, due_at)
         RETURNING id, due_at)
       INSERT INTO sla_steps (clock_id, step, after_seconds, fire_at, notify)
       SELECT clock.id, s.step, s.after_seconds, clock.due_at + s.after_seconds * interval '1 second', s.notify
         FROM clock CROSS JOIN jsonb_to_recordset($6::jsonb) AS s(step int, after_seconds int, notify text[])`,
      [
        grant.grantId,
        grant.requester,
        grant.startedAt,
        clocks.map((c) => c.kind),
        clocks.map((c) => c.dueAt),
        JSON.stringify(grant.steps.map((step, index) => ({ step: index + 1, after_seconds: step.afterSeconds, notify: step.notify }))),
      ],
    );
  }

  /** Grants of this requester whose retroactive PR is past due and not provided. */
  async overdueRetroPrGrants(requester: string): Promise<string[]> {
    const rows: { grant_id: string }[] = await this.dataSource.query(
      `SELECT grant_id FROM sla_clocks
        WHERE requester = $1 AND kind = 'retro_pr' AND state IN ${OPEN} AND due_at < now()
        ORDER BY due_at`,
      [requester],
    );
    return rows.map((row) => row.grant_id);
  }

  /** Clocks within time (running, pr_noncompliant) past due, locked for this transaction (others skip them). */
  claimBreached(tx: EntityManager, limit: number): Promise<ClockRecord[]> {
    return tx.query(
      `SELECT ${CLOCK_COLUMNS} FROM sla_clocks c JOIN grants g ON g.id = c.grant_id
        WHERE c.state IN ${WITHIN_TIME} AND c.due_at <= now()
        ORDER BY c.due_at LIMIT $1
        FOR UPDATE OF c SKIP LOCKED`,
      [limit],
    );
  }

  async markBreached(tx: EntityManager, ids: string[]): Promise<void> {
    await tx.query(`UPDATE sla_clocks SET state = 'breached', breached_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** Pending steps whose time has come, of clocks still open; locked (others skip them). */
  claimDueSteps(tx: EntityManager, limit: number): Promise<DueStep[]> {
    return tx
      .query(
        `SELECT s.clock_id AS "clockId", s.step, s.after_seconds AS "afterSeconds", s.fire_at AS "fireAt", s.notify, s.state, s.fired_at AS "firedAt",
              c.kind, c.due_at AS "dueAt", ${GRANT_FACTS_COLUMN}
         FROM sla_steps s JOIN sla_clocks c ON c.id = s.clock_id JOIN grants g ON g.id = c.grant_id
        WHERE s.state = 'pending' AND s.fire_at <= now() AND c.state IN ${OPEN}
        ORDER BY s.fire_at LIMIT $1
        FOR UPDATE OF s SKIP LOCKED`,
        [limit],
      )
      .then((rows: DueStep[]) => rows.map(withGrantDates));
  }

  async markStepsFired(tx: EntityManager, steps: { clockId: string; step: number }[]): Promise<void> {
    await tx.query(
      `UPDATE sla_steps s SET state = 'fired', fired_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS fired(clock_id, step)
        WHERE s.clock_id = fired.clock_id AND s.step = fired.step`,
      [steps.map((s) => s.clockId), steps.map((s) => s.step)],
    );
  }

  async millisUntilNext(): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (least(
                (SELECT min(due_at) FROM sla_clocks WHERE state IN ${WITHIN_TIME}),
                (SELECT min(s.fire_at) FROM sla_steps s JOIN sla_clocks c ON c.id = s.clock_id
                  WHERE s.state = 'pending' AND c.state IN ${OPEN})
              ) - clock_timestamp())) * 1000 AS ms`,
    );
    return row.ms === null ? null : Math.ceil(Number(row.ms));
  }

  async lockByGrant(tx: EntityManager, grantId: string, kind: ClockKind): Promise<(ClockRecord & { grant: GrantFacts; pastDue: boolean }) | undefined> {
    const [row] = await tx.query(
      `SELECT ${CLOCK_COLUMNS}, ${GRANT_FACTS_COLUMN}, c.due_at <= now() AS "pastDue"
         FROM sla_clocks c JOIN grants g ON g.id = c.grant_id
        WHERE c.grant_id = $1 AND c.kind = $2 FOR UPDATE OF c`,
      [grantId, kind],
    );
    return row ? withGrantDates(row) : undefined;
  }

  async lock(tx: EntityManager, id: string): Promise<(ClockRecord & { grant: GrantFacts; pastDue: boolean }) | undefined> {
    const [row] = await tx.query(
      `SELECT ${CLOCK_COLUMNS}, ${GRANT_FACTS_COLUMN}, c.due_at <= now() AS "pastDue"
         FROM sla_clocks c JOIN grants g ON g.id = c.grant_id
        WHERE c.id = $1 FOR UPDATE OF c`,
      [id],
    );
    return row ? withGrantDates(row) : undefined;
  }

  async resolve(tx: EntityManager, id: string, resolution: { state: 'satisfied' | 'satisfied_late' | 'waived'; by: string; note: string }): Promise<void> {
    await tx.query(`UPDATE sla_clocks SET state = $2, resolved_at = now(), resolved_by = $3, resolution = $4 WHERE id = $1`, [
      id,
      resolution.state,
      resolution.by,
      resolution.note,
    ]);
    await tx.query(`UPDATE sla_steps SET state = 'cancelled' WHERE clock_id = $1 AND state = 'pending'`, [id]);
  }

  /** Records what the latest merged PR missed; a clock within its time shows `pr_noncompliant`. */
  async markNoncompliant(tx: EntityManager, id: string, noncompliance: NoncomplianceView): Promise<ClockState> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [[row]] = await tx.query(
      `UPDATE sla_clocks SET noncompliance = $2, state = CASE WHEN state = 'running' THEN 'pr_noncompliant' ELSE state END WHERE id = $1 RETURNING state`,
      [id, JSON.stringify(noncompliance)],
    );
    return row.state;
  }

  list(filter: ClockFilter, limit: number): Promise<ClockRecord[]> {
    return this.dataSource.query(
      `SELECT ${CLOCK_COLUMNS} FROM sla_clocks c JOIN grants g ON g.id = c.grant_id
        WHERE ($1::text IS NULL OR c.state = $1)
          AND ($2::text IS NULL OR c.kind = $2)
          AND ($3::text IS NULL OR c.grant_id = $3)
          AND ($4::uuid IS NULL OR (c.due_at, c.id) > (SELECT due_at, id FROM sla_clocks WHERE id = $4))
          AND ($5::uuid IS NULL OR c.id = $5)
        ORDER BY c.due_at, c.id
        LIMIT $6`,
      [filter.state ?? null, filter.kind ?? null, filter.grant ?? null, filter.afterId ?? null, filter.id ?? null, limit],
    );
  }

  stepsOf(clockIds: string[]): Promise<StepWithDelivery[]> {
    return this.dataSource.query(
      `SELECT s.clock_id AS "clockId", s.step, s.after_seconds AS "afterSeconds", s.fire_at AS "fireAt", s.notify, s.state, s.fired_at AS "firedAt",
              d.deliveries, d.delivered, d.failing, d."lastError"
         FROM sla_steps s
         LEFT JOIN LATERAL (
           SELECT count(*)::int AS deliveries,
                  count(*) FILTER (WHERE n.status = 'delivered')::int AS delivered,
                  count(*) FILTER (WHERE n.status <> 'delivered' AND n.attempts > 0)::int AS failing,
                  (array_agg(n.last_error ORDER BY n.next_attempt_at DESC) FILTER (WHERE n.status <> 'delivered' AND n.last_error IS NOT NULL))[1] AS "lastError"
             FROM notifications n
            WHERE n.clock_id = s.clock_id AND starts_with(n.idempotency_key, s.clock_id::text || ':step:' || s.step || ':')
         ) d ON true
        WHERE s.clock_id = ANY($1::uuid[]) ORDER BY s.clock_id, s.step`,
      [clockIds],
    );
  }
}
