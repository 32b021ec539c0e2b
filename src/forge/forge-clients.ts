import { Gitlab } from '@gitbeaker/rest';
import { Injectable } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { ServiceConfig } from '../config/config.providers';
import type { ForgeApproval, ForgeFacts } from './forge-facts';

// The forges' REST APIs through their maintained clients: GitHub through @octokit/rest, GitLab
// through @gitbeaker/rest. Each answers the same ForgeFacts about one PR; the requester's own
// approval is sorted out by the caller (forge-facts.ts).

const REQUEST_TIMEOUT_MS = 10_000;

/** A PR's facts before approvals are judged against the requester. */
export type RawForgeFacts = Omit<ForgeFacts, 'approvals' | 'ignoredApprovals'> & { approvals: ForgeApproval[] };

export interface ForgeClient {
  /** A token or an API URL is set (without either, only targets that require verification ask it). */
  readonly configured: boolean;
  pullRequestFacts(repo: string, number: number): Promise<RawForgeFacts>;
}

export class GitHubForge implements ForgeClient {
  private readonly octokit: Octokit;

  constructor(private readonly options: { token?: string; apiUrl?: string }) {
    this.octokit = new Octokit({
      auth: options.token,
      baseUrl: (options.apiUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
      userAgent: 'breakglass',
      request: { timeout: REQUEST_TIMEOUT_MS },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  }

  get configured(): boolean {
    return !!(this.options.token || this.options.apiUrl);
  }

  async pullRequestFacts(fullName: string, number: number): Promise<RawForgeFacts> {
    const [owner, repo] = splitRepo(fullName);
    const { data: pr } = await this.octokit.pulls.get({ owner, repo, pull_number: number });
    const reviews = await this.octokit.paginate(this.octokit.pulls.listReviews, { owner, repo, pull_number: number, per_page: 100 });
    const headSha = pr.head?.sha ?? null;
    const mergeCommitSha = pr.merged ? (pr.merge_commit_sha ?? null) : null;
    const [signature, branch, checks] = await Promise.all([
      mergeCommitSha ? this.signature(owner, repo, mergeCommitSha) : Promise.resolve({ verified: false, reason: 'not merged', signer: null }),
      this.octokit.repos.getBranch({ owner, repo, branch: pr.base.ref }).then(({ data }) => data),
      headSha ? this.checks(owner, repo, headSha) : Promise.resolve([]),
    ]);
    const required = branch.protection?.required_status_checks;
    return {
      provider: 'github',
      repo: fullName,
      number,
      merged: !!pr.merged,
      mergedAt: pr.merged_at ?? null,
      mergedBy: pr.merged_by?.login ?? null,
      author: pr.user?.login ?? null,
      baseBranch: pr.base.ref,
      headSha,
      mergeCommitSha,
      approvals: latestApprovals(
        reviews.map((review) => ({ by: review.user?.login ?? '', state: review.state, at: review.submitted_at ?? null })).filter((r) => r.by),
      ),
      signature,
      protectedBranch: branch.protected,
      requiredChecks: [...new Set([...(required?.contexts ?? []), ...(required?.checks ?? []).map((check) => check.context)])],
      checks,
    };
  }

  private async signature(owner: string, repo: string, sha: string): Promise<ForgeFacts['signature']> {
    const { data } = await this.octokit.repos.getCommit({ owner, repo, ref: sha });
    const verification = data.commit.verification;
    return {
      verified: verification?.verified ?? false,
      reason: verification?.reason ?? 'unknown',
      signer: verification?.signature ? (data.committer?.login ?? data.commit.committer?.email ?? null) : null,
    };
  }

  /** Check runs and commit statuses of the head commit; GitHub lists the newest first, so the first per name wins. */
  private async checks(owner: string, repo: string, ref: string): Promise<ForgeFacts['checks']> {
    const [runs, combined] = await Promise.all([
      this.octokit.paginate(this.octokit.checks.listForRef, { owner, repo, ref, per_page: 100 }),
      this.octokit.repos.getCombinedStatusForRef({ owner, repo, ref, per_page: 100 }).then(({ data }) => data),
    ]);
    const byName = new Map<string, string>();
    for (const run of runs) if (!byName.has(run.name)) byName.set(run.name, run.conclusion ?? run.status);
    for (const status of combined.statuses) if (!byName.has(status.context)) byName.set(status.context, status.state === 'error' ? 'failure' : status.state);
    return [...byName].map(([name, conclusion]) => ({ name, conclusion }));
  }
}

export class GitLabForge implements ForgeClient {
  private readonly api: InstanceType<typeof Gitlab>;

  constructor(private readonly options: { token?: string; apiUrl?: string }) {
    this.api = new Gitlab({
      host: (options.apiUrl ?? 'https://gitlab.com').replace(/\/+$/, '').replace(/\/api\/v4$/, ''),
      // Without a token gitbeaker sends no auth header (public projects).
      ...((options.token ? { token: options.token } : {}) as { token: string }),
      queryTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  get configured(): boolean {
    return !!(this.options.token || this.options.apiUrl);
  }

  async pullRequestFacts(project: string, iid: number): Promise<RawForgeFacts> {
    // gitbeaker's response types are unions with camel-cased variants; read the documented fields.
    const mr = (await this.api.MergeRequests.show(project, iid)) as unknown as GitLabMergeRequest;
    const merged = mr.state === 'merged';
    const mergeCommitSha = merged ? (mr.merge_commit_sha ?? mr.squash_commit_sha ?? mr.sha ?? null) : null;
    const headSha = mr.sha ?? null;
    const [approvals, signature, protectedBranch, checks] = await Promise.all([
      this.api.MergeRequestApprovals.showConfiguration(project, { mergerequestIId: iid }) as unknown as Promise<GitLabApprovals>,
      mergeCommitSha ? this.signature(project, mergeCommitSha) : Promise.resolve({ verified: false, reason: 'not merged', signer: null }),
      absentOn404(this.api.ProtectedBranches.show(project, mr.target_branch)).then((branch) => branch !== null),
      headSha ? (this.api.Commits.allStatuses(project, headSha) as unknown as Promise<{ name: string; status: string }[]>) : Promise.resolve([]),
    ]);
    const byName = new Map<string, string>();
    // GitLab lists statuses oldest first: the last one per name is the latest.
    for (const status of checks) byName.set(status.name, GITLAB_CONCLUSION[status.status] ?? status.status);
    const mergeUser = mr.merge_user ?? mr.merged_by;
    return {
      provider: 'gitlab',
      repo: project,
      number: iid,
      merged,
      mergedAt: mr.merged_at ?? null,
      mergedBy: mergeUser?.username ?? null,
      author: mr.author?.username ?? null,
      baseBranch: mr.target_branch,
      headSha,
      mergeCommitSha,
      approvals: (approvals.approved_by ?? []).map((entry) => ({ by: entry.user.username, at: entry.approved_at ?? null })),
      signature,
      protectedBranch,
      requiredChecks: [],
      checks: [...byName].map(([name, conclusion]) => ({ name, conclusion })),
    };
  }

  private async signature(project: string, sha: string): Promise<ForgeFacts['signature']> {
    const signature = (await absentOn404(this.api.Commits.showGPGSignature(project, sha))) as Record<string, unknown> | null;
    if (!signature || !signature.verification_status) return { verified: false, reason: 'unsigned', signer: null };
    const x509 = signature.x509_certificate as { email?: string; subject?: string } | undefined;
    const key = signature.key as { user_name?: string } | undefined;
    return {
      verified: signature.verification_status === 'verified',
      reason: String(signature.verification_status),
      signer:
        (signature.gpg_key_user_email as string | undefined) ?? x509?.email ?? key?.user_name ?? (signature.gpg_key_user_name as string | undefined) ?? null,
    };
  }
}

/** The fields of GitLab's merge request and approvals answers that the facts need. */
interface GitLabMergeRequest {
  state: string;
  sha?: string | null;
  merge_commit_sha?: string | null;
  squash_commit_sha?: string | null;
  target_branch: string;
  merged_at?: string | null;
  merge_user?: { username?: string } | null;
  merged_by?: { username?: string } | null;
  author?: { username?: string } | null;
}
interface GitLabApprovals {
  approved_by?: { user: { username: string }; approved_at?: string | null }[];
}

/** GitLab's commit status names in GitHub's conclusion words, so one rule judges both. */
const GITLAB_CONCLUSION: Record<string, string> = { success: 'success', failed: 'failure', canceled: 'cancelled', skipped: 'skipped' };

/** A review counts as the reviewer's latest verdict: a later request for changes or a dismissal withdraws it. */
function latestApprovals(reviews: { by: string; state: string; at: string | null }[]): ForgeApproval[] {
  const verdict = new Map<string, { state: string; at: string | null }>();
  for (const review of reviews) if (review.state !== 'COMMENTED' && review.state !== 'PENDING') verdict.set(review.by, review);
  return [...verdict].filter(([, review]) => review.state === 'APPROVED').map(([by, review]) => ({ by, at: review.at }));
}

async function absentOn404<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if ((error as { cause?: { response?: { status?: number } } }).cause?.response?.status === 404) return null;
    throw error;
  }
}

function splitRepo(fullName: string): [string, string] {
  const slash = fullName.indexOf('/');
  return [fullName.slice(0, slash), fullName.slice(slash + 1)];
}

/** The forge clients, configured from the environment. */
@Injectable()
export class ForgeClients {
  readonly github: GitHubForge;
  readonly gitlab: GitLabForge;

  constructor(config: ServiceConfig) {
    this.github = new GitHubForge({ token: config.env.GITHUB_TOKEN, apiUrl: config.env.GITHUB_API_URL });
    this.gitlab = new GitLabForge({ token: config.env.GITLAB_TOKEN, apiUrl: config.env.GITLAB_API_URL });
  }

  of(provider: 'github' | 'gitlab'): ForgeClient {
    return provider === 'github' ? this.github : this.gitlab;
  }
}
