import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AttributionQuery {
  /** Position in the batch. */
  index: number;
  /** The username without the cluster's prefix (null: the username does not carry it). */
  requester: string | null;
  grantClaim: string | null;
  at: string;
}

export interface Attribution {
  index: number;
  /** The grant that explains the request, or null. */
  grantId: string | null;
  /** The claimed grant when it exists (even if it no longer explains the request), and its target. */
  claimedGrant: string | null;
  claimedTarget: string | null;
}

@Injectable()
export class ClusterActivityRepository {
  /**
   * For each request, the grant on one of `targets` whose requester made it and that was active at
   * its time (a `breakglass.io/grant` claim must name that grant); the latest activated wins.
   * Expiry counts from expires_at even before the expiry loop has ended the grant.
   */
  async attribute(tx: EntityManager, targets: string[], queries: AttributionQuery[]): Promise<Attribution[]> {
    return tx.query(
      `SELECT q.index, explained.id AS "grantId", claimed.id AS "claimedGrant", claimed.target AS "claimedTarget"
         FROM json_to_recordset($1::json) AS q(index int, requester text, "grantClaim" text, at timestamptz)
         LEFT JOIN LATERAL (
           SELECT g.id FROM grants g
            WHERE g.target = ANY($2::text[]) AND g.requester = q.requester
              AND (q."grantClaim" IS NULL OR g.id = q."grantClaim")
              AND g.activated_at <= q.at AND q.at < LEAST(g.expires_at, COALESCE(g.ended_at, 'infinity'))
            ORDER BY g.activated_at DESC LIMIT 1) explained ON true
         LEFT JOIN grants claimed ON claimed.id = q."grantClaim"
        ORDER BY q.index`,
      [JSON.stringify(queries), targets],
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
