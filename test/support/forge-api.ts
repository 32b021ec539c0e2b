import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** What the stand-in knows about one pull/merge request. */
export interface ForgePullRequest {
  author: string;
  merged: boolean;
  baseBranch: string;
  headSha: string;
  mergeCommitSha: string;
  /** GitHub reviews in submission order; GitLab reads the APPROVED ones as `approved_by`. */
  reviews: { login: string; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' }[];
  /** null: the merge commit is unsigned. */
  signature: { verified: boolean; reason: string; signer: string } | null;
  /** Check runs (GitHub) / commit statuses (GitLab) on the head commit. */
  checks: { name: string; conclusion: 'success' | 'failure' | 'neutral' }[];
}

/**
 * A local HTTPS stand-in answering the REST endpoints breakglass asks about a merged retro PR, in the
 * response shapes GitHub (`/github/…`, REST v3: pulls, reviews, commits with `verification`, branches
 * with `protection`, check-runs, combined status) and GitLab (`/gitlab/api/v4/…`: merge request,
 * approvals, commit signature, protected branch, commit statuses) document. Without a certificate it
 * speaks plain HTTP (for an in-process service, which cannot be made to trust a test CA).
 */
export class FakeForgeApi {
  private server?: Server;
  /** `repo#number` → the PR. */
  readonly pullRequests = new Map<string, ForgePullRequest>();
  readonly protectedBranches = new Set<string>();
  readonly requests: { path: string; authorization?: string; privateToken?: string; at: number }[] = [];
  /** `down`: every request answers 503 (the forge is unavailable). */
  mode: 'up' | 'down' = 'up';

  constructor(private readonly tls?: { cert: Buffer; key: Buffer }) {}

  async start(): Promise<{ github: string; gitlab: string }> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = this.tls ? createHttpsServer(this.tls, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    const { port } = this.server.address() as { port: number };
    const base = `${this.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return { github: `${base}/github`, gitlab: `${base}/gitlab` };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://localhost');
    this.requests.push({
      path: decodeURIComponent(url.pathname),
      authorization: req.headers.authorization,
      privateToken: req.headers['private-token'] as string | undefined,
      at: Date.now(),
    });
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (this.mode === 'down') return answer(503, { message: 'Service Unavailable' });
    const found = url.pathname.startsWith('/github/')
      ? this.github(url.pathname.slice('/github'.length))
      : this.gitlab(url.pathname.slice('/gitlab/api/v4'.length));
    if (!found) return answer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    answer(found.status ?? 200, found.body);
  }

  private github(pathname: string): { status?: number; body: unknown } | null {
    const at = '2026-12-02T10:00:00Z';
    let match = /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)(\/reviews)?$/.exec(pathname);
    if (match) {
      const pr = this.pullRequests.get(`${match[1]}#${match[2]}`);
      if (!pr) return null;
      if (match[3]) {
        return {
          body: pr.reviews.map((review, index) => ({
            id: 80 + index,
            node_id: `PRR_${index}`,
            user: { login: review.login, id: 100 + index, type: 'User' },
            body: '',
            state: review.state,
            html_url: `https://github.com/${match![1]}/pull/${match![2]}#pullrequestreview-${80 + index}`,
            submitted_at: at,
            commit_id: pr.headSha,
            author_association: 'MEMBER',
          })),
        };
      }
      return {
        body: {
          number: Number(match[2]),
          state: pr.merged ? 'closed' : 'open',
          title: 'Retro PR',
          user: { login: pr.author, id: 1, type: 'User' },
          merged: pr.merged,
          merged_at: pr.merged ? at : null,
          merged_by: pr.merged ? { login: 'merger', id: 9, type: 'User' } : null,
          merge_commit_sha: pr.mergeCommitSha,
          head: { ref: 'fix', sha: pr.headSha },
          base: { ref: pr.baseBranch, sha: 'b'.repeat(40) },
          html_url: `https://github.com/${match[1]}/pull/${match[2]}`,
        },
      };
    }
    match = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40})$/.exec(pathname);
    if (match) {
      const pr = this.byMergeCommit(match[1], match[2]);
      if (!pr) return null;
      const signature = pr.signature;
      return {
        body: {
          sha: match[2],
          commit: {
            author: { name: pr.author, email: `${pr.author}@example.com`, date: at },
            committer: { name: 'GitHub', email: 'noreply@github.com', date: at },
            message: 'Merge pull request',
            verification: signature
              ? { verified: signature.verified, reason: signature.reason, signature: '-----BEGIN PGP SIGNATURE-----…', payload: 'tree …', verified_at: at }
              : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
          },
          author: { login: pr.author },
          committer: { login: signature?.signer ?? 'web-flow' },
          parents: [],
        },
      };
    }
    match = /^\/repos\/([^/]+\/[^/]+)\/branches\/([^/]+)$/.exec(pathname);
    if (match) {
      const isProtected = this.protectedBranches.has(`${match[1]}:${match[2]}`);
      return {
        body: {
          name: match[2],
          commit: { sha: 'b'.repeat(40) },
          protected: isProtected,
          protection: isProtected
            ? {
                enabled: true,
                required_status_checks: { enforcement_level: 'everyone', contexts: ['policy-gate'], checks: [{ context: 'policy-gate', app_id: null }] },
              }
            : { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } },
          protection_url: `https://api.github.com/repos/${match[1]}/branches/${match[2]}/protection`,
        },
      };
    }
    match = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]{40})\/(check-runs|status)$/.exec(pathname);
    if (match) {
      const pr = [...this.pullRequests.entries()].find(([key, p]) => key.startsWith(`${match![1]}#`) && p.headSha === match![2])?.[1];
      const checks = pr?.checks ?? [];
      if (match[3] === 'check-runs') {
        return {
          body: {
            total_count: checks.length,
            check_runs: checks.map((check, index) => ({
              id: 500 + index,
              name: check.name,
              head_sha: match![2],
              status: 'completed',
              conclusion: check.conclusion,
            })),
          },
        };
      }
      return { body: { state: 'success', sha: match[2], total_count: 0, statuses: [] } };
    }
    return null;
  }

  private gitlab(pathname: string): { status?: number; body: unknown } | null {
    const at = '2026-12-02T10:00:00.000Z';
    let match = /^\/projects\/([^/]+)\/merge_requests\/(\d+)(\/approvals)?$/.exec(pathname);
    if (match) {
      const project = decodeURIComponent(match[1]);
      const mr = this.pullRequests.get(`${project}#${match[2]}`);
      if (!mr) return null;
      if (match[3]) {
        const approved = mr.reviews.filter((review) => review.state === 'APPROVED');
        return {
          body: {
            id: 7000,
            iid: Number(match[2]),
            project_id: 42,
            state: mr.merged ? 'merged' : 'opened',
            approved: approved.length > 0,
            approvals_required: 1,
            approvals_left: approved.length ? 0 : 1,
            approved_by: approved.map((review, index) => ({ user: { id: 200 + index, username: review.login, name: review.login, state: 'active' } })),
          },
        };
      }
      return {
        body: {
          id: 7000,
          iid: Number(match[2]),
          project_id: 42,
          title: 'Retro MR',
          state: mr.merged ? 'merged' : 'opened',
          merged_at: mr.merged ? at : null,
          merge_user: mr.merged ? { id: 9, username: 'merger' } : null,
          author: { id: 1, username: mr.author },
          target_branch: mr.baseBranch,
          source_branch: 'fix',
          sha: mr.headSha,
          merge_commit_sha: mr.merged ? mr.mergeCommitSha : null,
          squash_commit_sha: null,
          web_url: `https://gitlab.example.com/${project}/-/merge_requests/${match[2]}`,
        },
      };
    }
    match = /^\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]{40})\/(signature|statuses)$/.exec(pathname);
    if (match) {
      const project = decodeURIComponent(match[1]);
      if (match[3] === 'signature') {
        const signature = this.byMergeCommit(project, match[2])?.signature;
        if (!signature) return { status: 404, body: { message: '404 GPG Signature Not Found' } };
        return {
          body: {
            signature_type: 'PGP',
            verification_status: signature.verified ? 'verified' : 'unverified',
            gpg_key_id: 1,
            gpg_key_primary_keyid: '8254AAB3FBD54AC9',
            gpg_key_user_name: signature.signer,
            gpg_key_user_email: `${signature.signer}@example.com`,
            gpg_key_subkey_id: null,
            commit_source: 'gitaly',
          },
        };
      }
      const mr = [...this.pullRequests.entries()].find(([key, p]) => key.startsWith(`${project}#`) && p.headSha === match![2])?.[1];
      return {
        body: (mr?.checks ?? []).map((check, index) => ({
          id: 900 + index,
          sha: match![2],
          ref: 'fix',
          status: check.conclusion === 'failure' ? 'failed' : 'success',
          name: check.name,
          allow_failure: false,
          created_at: at,
        })),
      };
    }
    match = /^\/projects\/([^/]+)\/protected_branches\/([^/]+)$/.exec(pathname);
    if (match) {
      const project = decodeURIComponent(match[1]);
      const name = decodeURIComponent(match[2]);
      if (!this.protectedBranches.has(`${project}:${name}`)) return { status: 404, body: { message: '404 Not found' } };
      return { body: { id: 1, name, push_access_levels: [{ access_level: 40 }], merge_access_levels: [{ access_level: 40 }], allow_force_push: false } };
    }
    return null;
  }

  private byMergeCommit(repo: string, sha: string): ForgePullRequest | undefined {
    return [...this.pullRequests.entries()].find(([key, pr]) => key.startsWith(`${repo}#`) && pr.mergeCommitSha === sha)?.[1];
  }
}
