import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Forge } from '../sla/pull-requests.service';
import type { ForgeFacts, MissingRequirement } from './forge-facts';

export interface PrKey {
  grantId: string;
  repo: string;
  number: number;
}

export interface VerificationRecord extends PrKey {
  provider: Forge;
  status: 'pending' | 'verified' | 'not_merged';
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastError: string | null;
  facts: ForgeFacts | null;
  missing: MissingRequirement[] | null;
  compliant: boolean | null;
  requestedAt: Date;
  verifiedAt: Date | null;
}

/** The columns as VerificationRecord fields, of the table under `alias`. */
const columnsOf = (alias: string) =>
  `${alias}.grant_id AS "grantId", ${alias}.repo, ${alias}.number, ${alias}.provider, ${alias}.status, ${alias}.attempts,
   ${alias}.next_attempt_at AS "nextAttemptAt", ${alias}.last_attempt_at AS "lastAttemptAt", ${alias}.last_error AS "lastError",
   ${alias}.facts, ${alias}.missing, ${alias}.compliant, ${alias}.requested_at AS "requestedAt", ${alias}.verified_at AS "verifiedAt"`;
const COLUMNS = columnsOf('pr_verifications');

@Injectable()
export class PrVerificationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Asks for a verification; a PR verified already stays verified (pr.verified is recorded once per PR). */
  async request(tx: EntityManager, key: PrKey, provider: Forge): Promise<void> {
    await tx.query(
      `INSERT INTO pr_verifications (grant_id, repo, number, provider) VALUES ($1, $2, $3, $4)
       ON CONFLICT (grant_id, repo, number) DO UPDATE SET status = 'pending', next_attempt_at = now(), attempts = 0, last_error = NULL
        WHERE pr_verifications.status = 'not_merged'`,
      [key.grantId, key.repo, key.number, provider],
    );
  }

  /**
   * Due verifications, leased for `leaseMs` (another instance skips them until then, and takes them
   * over if this one dies mid-request). The forge is asked outside any transaction.
   */
  async claimDue(limit: number, leaseMs: number): Promise<VerificationRecord[]> {
    // TypeORM answers UPDATE … RETURNING as [rows, affectedCount].
    const [rows]: [VerificationRecord[], number] = await this.dataSource.query(
      `UPDATE pr_verifications v SET attempts = v.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + $2 * interval '1 millisecond'
         FROM (SELECT grant_id, repo, number FROM pr_verifications
                WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE (v.grant_id, v.repo, v.number) = (due.grant_id, due.repo, due.number)
       RETURNING ${columnsOf('v')}`,
      [limit, leaseMs],
    );
    return rows;
  }

  async lock(tx: EntityManager, key: PrKey): Promise<VerificationRecord | undefined> {
    const [row] = await tx.query(`SELECT ${COLUMNS} FROM pr_verifications WHERE grant_id = $1 AND repo = $2 AND number = $3 FOR UPDATE`, [
      key.grantId,
      key.repo,
      key.number,
    ]);
    return row;
  }

  async failed(key: PrKey, error: string, retryInMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE pr_verifications SET last_error = $4, next_attempt_at = now() + $5 * interval '1 millisecond'
        WHERE grant_id = $1 AND repo = $2 AND number = $3 AND status = 'pending'`,
      [key.grantId, key.repo, key.number, error, retryInMs],
    );
  }

  async finish(
    tx: EntityManager,
    key: PrKey,
    outcome: { status: 'verified' | 'not_merged'; facts: ForgeFacts; missing: MissingRequirement[] | null; compliant: boolean | null },
  ): Promise<void> {
    await tx.query(
      `UPDATE pr_verifications SET status = $4, facts = $5, missing = $6, compliant = $7, last_error = NULL,
              verified_at = CASE WHEN $4 = 'verified' THEN now() END
        WHERE grant_id = $1 AND repo = $2 AND number = $3`,
      [key.grantId, key.repo, key.number, outcome.status, JSON.stringify(outcome.facts), outcome.missing && JSON.stringify(outcome.missing), outcome.compliant],
    );
  }

  forGrant(grantId: string): Promise<VerificationRecord[]> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM pr_verifications WHERE grant_id = $1 ORDER BY requested_at, repo, number`, [grantId]);
  }

  async millisUntilNext(): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (min(next_attempt_at) - clock_timestamp())) * 1000 AS ms FROM pr_verifications WHERE status = 'pending'`,
    );
    return row.ms === null ? null : Math.ceil(Number(row.ms));
  }
}
