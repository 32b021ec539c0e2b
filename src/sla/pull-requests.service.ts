import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { requireGrantAccess } from '../access/grant-access';
import { GrantReader } from '../access/grant-reader';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { CommonError } from '../common/domain-error';
import { DomainEventBus } from '../common/domain-events';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { PullRequestsRepository } from './pull-requests.repository';
import { SlaClocks } from './sla-clocks.service';
import type { ForgeDeliveryAnswer, LinkAnswer, LinkOutcome, PrLink } from './sla.views';

/** A pull/merge request as a webhook (or a person) describes it. */
export interface PullRequestEvent {
  provider: 'github' | 'gitlab' | 'manual';
  repo: string;
  number: number;
  url: string;
  title: string | null;
  /** Where grant ids are looked for: title, body/description, head/source branch. */
  texts: (string | null | undefined)[];
  state: 'open' | 'closed' | 'merged';
  /** Who the link is attributed to in the audit log, e.g. `github:octocat`. */
  actor: string;
  deliveryId: string | null;
  /** Set once merged, when the forge says (GitHub and GitLab both send `merge_commit_sha`). */
  mergeCommitSha?: string | null;
  /** The PR's own `updated_at` in the payload: events apply in this order, not in arrival order. */
  sourceUpdatedAt?: Date | null;
}

export type Forge = 'github' | 'gitlab';

/** A PR linked by a person: only the forge can tell whether it is merged. */
export interface HandLinkedPullRequest {
  grantId: string;
  target: string;
  /** The forge that hosts it (a hand-linked PR: read from its URL); null when the URL says neither. */
  forge: Forge | null;
  repo: string;
  number: number;
  url: string;
}

/** A PR link recorded as merged with a known merge commit. */
export interface MergedPullRequest extends HandLinkedPullRequest {
  mergeCommitSha: string;
}

declare module '../common/domain-events' {
  interface TransactionEvents {
    /** In the transaction that recorded the merge (GitOps closes the loop if the commit is already reconciled). */
    'pull-request.merged': MergedPullRequest;
    /** In the transaction that recorded a link made by hand (`POST /v1/grants/:id/pull-requests`). */
    'pull-request.linked-by-hand': HandLinkedPullRequest;
  }
}

const GRANT_ID = /BG-\d{4}-\d{6,}/gi;

/** Links PRs to grants (a grant id mentioned anywhere links it) and satisfies the retro-PR clock. */
@Injectable()
export class PullRequests {
  constructor(
    private readonly repository: PullRequestsRepository,
    private readonly clocks: SlaClocks,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly events: DomainEventBus,
    private readonly grants: GrantReader,
  ) {}

  /** One transaction: the delivery id is recorded with its effects, so a re-delivery does nothing. */
  async handleWebhook(source: 'github' | 'gitlab', deliveryId: string, eventName: string, event: PullRequestEvent | null): Promise<ForgeDeliveryAnswer> {
    return this.dataSource.transaction(async (tx) => {
      if (!(await this.repository.firstDelivery(tx, source, deliveryId, eventName))) return { duplicate: true, linked: [] };
      return { duplicate: false, linked: event ? await this.link(tx, event, mentionedGrantIds(event.texts)) : [] };
    });
  }

  /** Records a delivery of another webhook source; false when it was seen already. */
  recordDelivery(tx: EntityManager, source: string, deliveryId: string, eventName: string): Promise<boolean> {
    return this.repository.firstDelivery(tx, source, deliveryId, eventName);
  }

  /** Whether recordDelivery has seen this delivery (without recording it). */
  wasDelivered(tx: EntityManager, source: string, deliveryId: string): Promise<boolean> {
    return this.repository.wasDelivered(tx, source, deliveryId);
  }

  /** Merged PR links with this merge commit, of grants on these targets. */
  mergedAt(tx: EntityManager, targets: string[], commit: string) {
    return this.repository.mergedAt(tx, targets, commit);
  }

  async linkManually(caller: Principal, grantId: string, url: string): Promise<LinkAnswer> {
    const parsed = parsePullRequestUrl(url);
    return this.dataSource.transaction(async (tx) => {
      const [grant] = await this.grants.lockMany(tx, [grantId]);
      requireGrantAccess(caller, grant, grantId, 'pr.link');
      const { forge, ...pr } = parsed;
      const linked = await this.link(
        tx,
        { provider: 'manual', ...pr, url, title: null, texts: [], state: 'open', actor: caller.subject, deliveryId: null, mergeCommitSha: null },
        [grantId],
      );
      if (linked.length && !linked[0].stale) await this.events.publish(tx, 'pull-request.linked-by-hand', { grantId, target: grant.target, forge, ...pr, url });
      return { linked };
    });
  }

  find(tx: EntityManager, grantId: string, repo: string, number: number): Promise<PrLink | undefined> {
    return this.repository.find(tx, grantId, repo, number);
  }

  /** The forge says a linked PR is merged (a hand-linked one, say): recorded as a merge like a webhook's. */
  async recordForgeMerge(tx: EntityManager, link: PrLink, merge: { mergeCommitSha: string | null; mergedAt: Date | null }): Promise<void> {
    const { provider, repo, number, url, title } = link;
    await this.link(
      tx,
      {
        provider,
        repo,
        number,
        url,
        title,
        texts: [],
        state: 'merged',
        actor: 'system:forge',
        deliveryId: null,
        mergeCommitSha: merge.mergeCommitSha,
        sourceUpdatedAt: merge.mergedAt,
      },
      [link.grantId],
    );
  }

  forGrant(grantId: string): Promise<PrLink[]> {
    return this.repository.forGrant(grantId);
  }

  private async link(tx: EntityManager, event: PullRequestEvent, grantIds: string[]): Promise<LinkOutcome[]> {
    if (!grantIds.length) return [];
    const outcomes: LinkOutcome[] = [];
    for (const grant of await this.grants.lockMany(tx, grantIds)) {
      const target = findTarget(this.policy, grant.target);
      const expectedRepo = target?.retroPr.repo ?? null;
      // A PR in another repository still links (it is evidence), but is flagged for the auditor.
      const repoMatches = !expectedRepo || expectedRepo.toLowerCase() === event.repo.toLowerCase();
      const previous = await this.repository.find(tx, grant.id, event.repo, event.number);
      if (previous && isStale(previous, event)) {
        outcomes.push({
          grant: grant.id,
          repo: event.repo,
          number: event.number,
          state: previous.state,
          repoMatches: previous.repoMatches,
          clock: null,
          stale: true,
        });
        continue;
      }
      const mergeCommitSha = event.state === 'merged' ? (event.mergeCommitSha?.toLowerCase() ?? null) : null;
      const { provider, repo, number, url, title, state } = event;
      const described = { provider, repo, number, url, title, state };
      const link: PrLink = {
        grantId: grant.id,
        ...described,
        merged: event.state === 'merged',
        repoMatches,
        linkedBy: event.actor,
        deliveryId: event.deliveryId,
        mergeCommitSha,
        sourceUpdatedAt: event.sourceUpdatedAt ?? null,
      };
      await this.repository.upsert(tx, link);
      if (!previous || previous.state !== event.state) {
        await this.auditLog.append(tx, {
          actor: event.actor,
          action: 'pr.linked',
          grant: grant.id,
          target: grant.target,
          data: {
            ...described,
            repoMatches,
            expectedRepo,
            deliveryId: event.deliveryId,
            previousState: previous?.state ?? null,
            mergeCommitSha,
          },
        });
        if (mergeCommitSha) {
          await this.events.publish(tx, 'pull-request.merged', {
            grantId: grant.id,
            target: grant.target,
            forge: event.provider === 'manual' ? (pullRequestOfUrl(event.url)?.forge ?? null) : event.provider,
            repo: event.repo,
            number: event.number,
            url: event.url,
            mergeCommitSha,
          });
        }
      }
      const satisfiedBy = target?.retroPr.satisfiedBy ?? 'opened';
      // With retroPr.require only a verified merge satisfies the clock (forge/pr-verifications.service.ts).
      const satisfies = !target?.retroPr.require && (event.state === 'merged' || (satisfiedBy === 'opened' && event.state === 'open'));
      const clock = satisfies
        ? await this.clocks.satisfy(
            tx,
            grant.id,
            'retro_pr',
            event.actor,
            `${event.provider} ${event.repo}#${event.number} ${event.state}${repoMatches ? '' : ` (expected ${expectedRepo})`}`,
          )
        : null;
      outcomes.push({ grant: grant.id, repo: event.repo, number: event.number, state: event.state, repoMatches, clock });
    }
    return outcomes;
  }
}

/**
 * A delivery id is not signed, so a captured signed body can be replayed under a fresh one. Order by
 * the PR's own state instead: a merge is final, and an event older than the state applied is stale.
 */
function isStale(previous: PrLink, event: PullRequestEvent): boolean {
  if (previous.state === 'merged') return event.state !== 'merged';
  return !!previous.sourceUpdatedAt && !!event.sourceUpdatedAt && event.sourceUpdatedAt.getTime() < previous.sourceUpdatedAt.getTime();
}

/** A forge timestamp (`2026-05-01T10:00:00Z`, GitLab's `2026-05-01 10:00:00 UTC`), or null when absent or unreadable. */
export function forgeTime(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
  return Number.isNaN(time) ? null : new Date(time);
}

export function mentionedGrantIds(texts: (string | null | undefined)[]): string[] {
  const ids = new Set<string>();
  for (const text of texts) for (const match of (text ?? '').matchAll(GRANT_ID)) ids.add(match[0].toUpperCase());
  return [...ids];
}

const PULL_REQUEST_PATH = /^\/(.+?)(?:\/-)?\/(pull|pulls|merge_requests)\/(\d+)\/?$/;

/** `https://github.com/acme/infra/pull/42` or `https://gitlab.example.com/group/app/-/merge_requests/7`; null for anything else. */
function pullRequestOfUrl(url: string): { repo: string; number: number; forge: Forge } | null {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return null;
  }
  // GitLab's merge requests live under `/-/merge_requests/`, GitHub's pulls under `/pull/`.
  const match = PULL_REQUEST_PATH.exec(pathname);
  return match && { repo: match[1], number: Number(match[3]), forge: match[2] === 'merge_requests' ? 'gitlab' : 'github' };
}

function parsePullRequestUrl(url: string): { repo: string; number: number; forge: Forge } {
  const pr = pullRequestOfUrl(url);
  if (!pr)
    throw new CommonError('validation_failed', `Cannot read a repository and number from ${url}`, [
      { field: 'url', problems: ['not a pull or merge request URL'] },
    ]);
  return pr;
}
