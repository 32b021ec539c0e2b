import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { PrLink } from './sla.views';

const LINK_COLUMNS = `grant_id AS "grantId", provider, repo, number, url, title, state, merged, repo_matches AS "repoMatches",
  linked_by AS "linkedBy", delivery_id AS "deliveryId", merge_commit_sha AS "mergeCommitSha", source_updated_at AS "sourceUpdatedAt"`;

@Injectable()
export class PullRequestsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records a webhook delivery id; false when it was seen already (a re-delivery). */
  async firstDelivery(tx: EntityManager, source: string, deliveryId: string, event: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `INSERT INTO webhook_deliveries (source, delivery_id, event) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
      [source, deliveryId, event],
    );
    return rows.length === 1;
  }

  async wasDelivered(tx: EntityManager, source: string, deliveryId: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(`SELECT 1 FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2`, [source, deliveryId]);
    return rows.length === 1;
  }

  async find(tx: EntityManager, grantId: string, repo: string, number: number): Promise<PrLink | undefined> {
    const [row] = await tx.query(`SELECT ${LINK_COLUMNS} FROM pr_links WHERE grant_id = $1 AND repo = $2 AND number = $3`, [grantId, repo, number]);
    return row;
  }

  async upsert(tx: EntityManager, link: PrLink): Promise<void> {
    await tx.query(
      `INSERT INTO pr_links (grant_id, provider, repo, number, url, title, state, merged, repo_matches, linked_by, delivery_id, merge_commit_sha, source_updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (grant_id, repo, number) DO UPDATE
         SET title = excluded.title, state = excluded.state, merged = excluded.merged, url = excluded.url,
             delivery_id = coalesce(excluded.delivery_id, pr_links.delivery_id),
             merge_commit_sha = coalesce(excluded.merge_commit_sha, pr_links.merge_commit_sha),
             source_updated_at = coalesce(excluded.source_updated_at, pr_links.source_updated_at), updated_at = now()`,
      [
        link.grantId,
        link.provider,
        link.repo,
        link.number,
        link.url,
        link.title,
        link.state,
        link.merged,
        link.repoMatches,
        link.linkedBy,
        link.deliveryId,
        link.mergeCommitSha,
        link.sourceUpdatedAt,
      ],
    );
  }

  forGrant(grantId: string): Promise<PrLink[]> {
    return this.dataSource.query(`SELECT ${LINK_COLUMNS}, linked_at AS "linkedAt" FROM pr_links WHERE grant_id = $1 ORDER BY linked_at`, [grantId]);
  }

  /** Merged links with this merge commit, of grants on these targets. */
  mergedAt(tx: EntityManager, targets: string[], commit: string): Promise<(PrLink & { target: string })[]> {
    return tx.query(
      // No pr_links column name exists in grants, so the columns need no table prefix.
      `SELECT ${LINK_COLUMNS}, g.target
         FROM pr_links p JOIN grants g ON g.id = p.grant_id
        WHERE p.merged AND p.merge_commit_sha = $1 AND g.target = ANY($2::text[])
        ORDER BY p.grant_id`,
      [commit, targets],
    );
  }
}
