import { commitOf } from '../../gitops/reconciler-event';
import { forgeTime, type PullRequestEvent } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';

// A GitHub `pull_request` delivery as the SLA domain's PullRequestEvent (which actions link, what
// counts as merged, the texts that may mention a grant id).

const LINKING_ACTIONS = new Set(['opened', 'edited', 'reopened', 'closed']);

export interface GitHubPullRequestPayload {
  action?: string;
  pull_request?: {
    number: number;
    html_url: string;
    title: string;
    body: string | null;
    state: 'open' | 'closed';
    merged?: boolean;
    merge_commit_sha?: string | null;
    updated_at?: string;
    head?: { ref?: string };
  };
  repository?: { full_name: string };
  sender?: { login: string };
}

/** `{ ok }` for a ping, `{ ignored }` for events that link nothing, else the event and its name for the delivery log. */
export function gitHubPullRequestEvent(
  eventName: string | undefined,
  payload: GitHubPullRequestPayload,
  deliveryId: string,
): { ok: true } | { ignored: true; event: string | null; action: string | null } | { eventName: string; event: PullRequestEvent } {
  if (eventName === 'ping') return { ok: true };
  if (eventName !== 'pull_request' || !LINKING_ACTIONS.has(payload.action ?? '')) {
    return { ignored: true, event: eventName ?? null, action: payload?.action ?? null };
  }
  const pr = payload.pull_request;
  if (!pr || !payload.repository?.full_name || !Number.isInteger(pr.number))
    throw new WebhookError('malformed_payload', 'pull_request event without pull_request or repository');
  const event: PullRequestEvent = {
    provider: 'github',
    repo: payload.repository.full_name,
    number: pr.number,
    url: pr.html_url,
    title: pr.title,
    texts: [pr.title, pr.body, pr.head?.ref],
    state: pr.merged ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
    actor: `github:${payload.sender?.login ?? 'unknown'}`,
    deliveryId,
    mergeCommitSha: pr.merged ? commitOf(pr.merge_commit_sha) : null,
    sourceUpdatedAt: forgeTime(pr.updated_at),
  };
  return { eventName: `pull_request.${payload.action}`, event };
}
