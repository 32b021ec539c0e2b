import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export type ClockKind = 'retro_pr' | 'review';

@Injectable()
export class SlaClocksRepository {
  constructor(private readonly dataSource: DataSource) {}

  async start(tx: EntityManager, clock: { grantId: string; kind: ClockKind; requester: string; startedAt: Date; dueAt: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO sla_clocks (grant_id, kind, requester, started_at, due_at) VALUES ($1, $2, $3, $4, $5)`,
      [clock.grantId, clock.kind, clock.requester, clock.startedAt, clock.dueAt],
    );
  }

  /** Grants of this requester whose retroactive PR is past due and not provided. */
  async overdueRetroPrGrants(requester: string): Promise<string[]> {
    const rows: { grant_id: string }[] = await this.dataSource.query(
      `SELECT grant_id FROM sla_clocks
        WHERE requester = $1 AND kind = 'retro_pr' AND state IN ('running', 'breached') AND due_at < now()
        ORDER BY due_at`,
      [requester],
    );
    return rows.map((row) => row.grant_id);
  }
}
