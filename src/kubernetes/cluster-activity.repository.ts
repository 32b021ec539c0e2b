import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** A grant that may explain requests of a batch: its requester, target and window. */
export interface CandidateGrant {
  id: string;
  target: string;
  requester: string;
  activatedAt: Date;
  /** expires_at, or ended_at when it ended earlier: expiry counts even before the expiry loop ran. */
  endsAt: Date;
}

@Injectable()
export class ClusterActivityRepository {
  /**
   * Grants on `targets` of these requesters whose window overlaps [from, to], and the claimed
   * grants whatever they are (a use of an ended grant's token names it). One query per batch.
   */
  candidates(tx: EntityManager, targets: string[], requesters: string[], claims: string[], from: string, to: string): Promise<CandidateGrant[]> {
    return tx.query(
      `SELECT id, target, requester, activated_at AS "activatedAt", LEAST(expires_at, COALESCE(ended_at, 'infinity')) AS "endsAt"
         FROM grants
        WHERE (target = ANY($1::text[]) AND requester = ANY($2::text[]) AND activated_at <= $5
               AND LEAST(expires_at, COALESCE(ended_at, 'infinity')) > $4)
           OR id = ANY($3::text[])`,
      [targets, requesters, claims, from, to],
    );
  }

  /** Stores the auditIDs not seen before on this cluster; answers those (the others are re-sends). */
  async claim(tx: EntityManager, cluster: string, events: { auditID: string; grantId: string | null }[]): Promise<Set<string>> {
    const rows: { auditID: string }[] = await tx.query(
      `INSERT INTO kubernetes_audit_events (cluster, audit_id, grant_id)
       SELECT $1, e."auditID", e."grantId" FROM json_to_recordset($2::json) AS e("auditID" uuid, "grantId" text)
       ON CONFLICT (cluster, audit_id) DO NOTHING
       RETURNING audit_id::text AS "auditID"`,
      [cluster, JSON.stringify(events)],
    );
    return new Set(rows.map((row) => row.auditID));
  }
}
