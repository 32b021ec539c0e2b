import { createHmac, randomUUID } from 'node:crypto';

/** A `pull_request` webhook body in GitHub's format (the fields GitHub documents and sends). */
export function githubPullRequestEvent(options: {
  action: 'opened' | 'edited' | 'reopened' | 'closed' | 'synchronize';
  repo: string;
  number: number;
  title: string;
  body?: string | null;
  branch?: string;
  merged?: boolean;
  mergeCommitSha?: string;
  updatedAt?: Date;
}) {
  const [owner, name] = options.repo.split('/');
  const closed = options.action === 'closed';
  // GitHub's timestamps have whole seconds.
  const now = (options.updatedAt ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    action: options.action,
    number: options.number,
    pull_request: {
      url: `https://api.github.com/repos/${options.repo}/pulls/${options.number}`,
      id: 1000 + options.number,
      node_id: `PR_kwDO${options.number}`,
      html_url: `https://github.com/${options.repo}/pull/${options.number}`,
      number: options.number,
      state: closed ? 'closed' : 'open',
      locked: false,
      title: options.title,
      user: { login: 'oncall-1', id: 1, type: 'User' },
      body: options.body ?? null,
      created_at: now,
      updated_at: now,
      closed_at: closed ? now : null,
      merged_at: closed && options.merged ? now : null,
      merge_commit_sha: closed && options.merged ? (options.mergeCommitSha ?? 'c'.repeat(40)) : null,
      draft: false,
      head: { label: `${owner}:${options.branch ?? 'fix'}`, ref: options.branch ?? 'fix', sha: 'a'.repeat(40), repo: { full_name: options.repo } },
      base: { label: `${owner}:main`, ref: 'main', sha: 'b'.repeat(40), repo: { full_name: options.repo } },
      merged: Boolean(closed && options.merged),
      mergeable: null,
      comments: 0,
      commits: 1,
      additions: 3,
      deletions: 1,
      changed_files: 1,
    },
    repository: {
      id: 42,
      node_id: 'R_kgDO',
      name,
      full_name: options.repo,
      private: true,
      owner: { login: owner, id: 7, type: 'Organization' },
      html_url: `https://github.com/${options.repo}`,
      default_branch: 'main',
    },
    organization: { login: owner, id: 7 },
    sender: { login: 'oncall-1', id: 1, type: 'User' },
  };
}

/** Headers GitHub sends with a delivery, signed with the webhook secret over the exact body. */
export function githubDelivery(secret: string, event: string, payload: unknown, deliveryId = randomUUID()) {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/abc123',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '123456',
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}

/** A `merge_request` webhook body in GitLab's format. */
export function gitlabMergeRequestEvent(options: {
  project: string;
  iid: number;
  title: string;
  description?: string;
  branch?: string;
  state: 'opened' | 'merged' | 'closed';
  action: 'open' | 'update' | 'merge' | 'close';
  mergeCommitSha?: string;
}) {
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: 1, name: 'On Call', username: 'oncall-1', email: '[REDACTED]' },
    project: { id: 7, name: options.project.split('/').pop(), path_with_namespace: options.project, web_url: `https://gitlab.example.com/${options.project}` },
    object_attributes: {
      id: 900 + options.iid,
      iid: options.iid,
      title: options.title,
      description: options.description ?? '',
      source_branch: options.branch ?? 'fix',
      target_branch: 'main',
      state: options.state,
      action: options.action,
      url: `https://gitlab.example.com/${options.project}/-/merge_requests/${options.iid}`,
      created_at: new Date().toISOString(),
      merge_status: 'can_be_merged',
      merge_commit_sha: options.state === 'merged' ? (options.mergeCommitSha ?? 'c'.repeat(40)) : null,
    },
    labels: [],
    changes: {},
    repository: { name: options.project.split('/').pop(), homepage: `https://gitlab.example.com/${options.project}` },
  };
}
