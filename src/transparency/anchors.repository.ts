import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

// The only SQL over anchor deliveries: one row per (anchor, checkpoint), delivered oldest first.

export interface AnchorDelivery {
  anchor: string;
  treeSize: number;
  note: string;
  rootHash: Buffer;
  attempts: number;
  createdAt: Date;
}

@Injectable()
export class AnchorsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async enqueue(tx: EntityManager, anchors: string[], treeSize: number): Promise<void> {
    if (!anchors.length) return;
    await tx.query(`INSERT INTO audit_anchor_deliveries (anchor, tree_size) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, [anchors, treeSize]);
  }

  /** Anchors (of these) that have never been given a checkpoint: a newly configured anchor starts at the latest. */
  async enqueueLatestForNewAnchors(anchors: string[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO audit_anchor_deliveries (anchor, tree_size)
       SELECT a.name, c.tree_size FROM unnest($1::text[]) AS a(name)
         CROSS JOIN (SELECT tree_size FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1) c
        WHERE NOT EXISTS (SELECT 1 FROM audit_anchor_deliveries d WHERE d.anchor = a.name)
       ON CONFLICT DO NOTHING`,
      [anchors],
    );
  }

  /**
   * The anchor's oldest pending delivery, locked, if it is due: deliveries of one anchor go strictly
   * in order, so a later checkpoint never overtakes one that is still failing.
   */
  async claimNext(tx: EntityManager, anchor: string): Promise<AnchorDelivery | undefined> {
    const [row] = await tx.query(
      `SELECT d.anchor, d.tree_size::float8 AS "treeSize", c.note, c.root_hash AS "rootHash", d.attempts, d.created_at AS "createdAt", d.next_attempt_at <= now() AS due
         FROM audit_anchor_deliveries d JOIN audit_checkpoints c USING (tree_size)
        WHERE d.anchor = $1 AND d.status = 'pending'
        ORDER BY d.tree_size LIMIT 1 FOR UPDATE OF d SKIP LOCKED`,
      [anchor],
    );
    return row?.due ? row : undefined;
  }

  async recordAttempt(
    tx: EntityManager,
    delivery: AnchorDelivery,
    attempt: { outcome: 'delivered' | 'failed'; error: string | null; durationMs: number },
    retryInMs: number,
  ): Promise<void> {
    await tx.query(`INSERT INTO audit_anchor_attempts (anchor, tree_size, attempt, outcome, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)`, [
      delivery.anchor,
      delivery.treeSize,
      delivery.attempts + 1,
      attempt.outcome,
      attempt.error,
      attempt.durationMs,
    ]);
    await tx.query(
      `UPDATE audit_anchor_deliveries
          SET attempts = attempts + 1, status = $3, last_error = $4,
              delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
              next_attempt_at = now() + make_interval(secs => $5::float8 / 1000)
        WHERE anchor = $1 AND tree_size = $2`,
      [delivery.anchor, delivery.treeSize, attempt.outcome === 'delivered' ? 'delivered' : 'pending', attempt.error, retryInMs],
    );
  }

  /**
   * Pending deliveries waiting longer than `seconds` whose anchor has no alert open (an alerted
   * delivery still pending): one alert per anchor and outage. Marked alerted in the same step.
   */
  async claimOverdue(
    tx: EntityManager,
    anchors: string[],
    seconds: number,
  ): Promise<{ anchor: string; treeSize: number; createdAt: Date; lastError: string | null }[]> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [rows] = await tx.query(
      `UPDATE audit_anchor_deliveries d SET alerted_at = now()
         FROM (SELECT DISTINCT ON (anchor) anchor, tree_size FROM audit_anchor_deliveries
                WHERE anchor = ANY($1::text[]) AND status = 'pending' ORDER BY anchor, tree_size) oldest
        WHERE d.anchor = oldest.anchor AND d.tree_size = oldest.tree_size
          AND d.created_at < now() - make_interval(secs => $2)
          AND NOT EXISTS (SELECT 1 FROM audit_anchor_deliveries open
                           WHERE open.anchor = d.anchor AND open.status = 'pending' AND open.alerted_at IS NOT NULL)
      RETURNING d.anchor, d.tree_size::float8 AS "treeSize", d.created_at AS "createdAt", d.last_error AS "lastError"`,
      [anchors, seconds],
    );
    return rows;
  }

  /** When the next pending delivery falls due (null: none pending). */
  async millisUntilNext(anchors: string[]): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT GREATEST(0, EXTRACT(EPOCH FROM (min(next_attempt_at) - now())) * 1000)::float8 AS ms
         FROM audit_anchor_deliveries WHERE anchor = ANY($1::text[]) AND status = 'pending'`,
      [anchors],
    );
    return row?.ms ?? null;
  }

  /** Per anchor: the last checkpoint delivered, and the backlog (how many, since when, the last error). */
  status(anchors: string[]): Promise<AnchorStatusRow[]> {
    return this.dataSource.query(
      `SELECT a.name AS anchor,
              (SELECT max(tree_size)::float8 FROM audit_anchor_deliveries WHERE anchor = a.name AND status = 'delivered') AS "deliveredTreeSize",
              (SELECT max(delivered_at) FROM audit_anchor_deliveries WHERE anchor = a.name AND status = 'delivered') AS "deliveredAt",
              (SELECT count(*)::int FROM audit_anchor_deliveries WHERE anchor = a.name AND status = 'pending') AS pending,
              (SELECT min(created_at) FROM audit_anchor_deliveries WHERE anchor = a.name AND status = 'pending') AS "pendingSince",
              (SELECT last_error FROM audit_anchor_deliveries WHERE anchor = a.name AND status = 'pending' ORDER BY tree_size LIMIT 1) AS "lastError"
         FROM unnest($1::text[]) AS a(name)`,
      [anchors],
    );
  }
}

export interface AnchorStatusRow {
  anchor: string;
  deliveredTreeSize: number | null;
  deliveredAt: Date | null;
  pending: number;
  pendingSince: Date | null;
  lastError: string | null;
}
