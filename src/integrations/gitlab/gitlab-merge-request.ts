import { commitOf } from '../../gitops/reconciler-event';
import { forgeTime, type PullRequestEvent } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';

// A GitLab `merge_request` delivery as the SLA domain's PullRequestEvent.

export interface GitLabMergeRequestPayload {
  object_kind?: string;
  user?: { username?: string };
  project?: { path_with_namespace?: string };
  object_attributes?: {
    iid: number;
    title: string;
    description: string | null;
    source_branch?: string;
    state: 'opened' | 'closed' | 'merged' | 'locked';
    action?: string;
    url: string;
    merge_commit_sha?: string | null;
    updated_at?: string;
  };
}

/** `{ ignored }` for other hooks, else the event and its name for the delivery log. */
export function gitLabMergeRequestEvent(
  payload: GitLabMergeRequestPayload,
  deliveryId: string,
): { ignored: true; event: string | null } | { eventName: string; event: PullRequestEvent } {
  if (payload?.object_kind !== 'merge_request') return { ignored: true, event: payload?.object_kind ?? null };
  const mr = payload.object_attributes;
  const repo = payload.project?.path_with_namespace;
  if (!mr || !repo || !Number.isInteger(mr.iid)) throw new WebhookError('malformed_payload', 'merge_request event without object_attributes or project');
  const event: PullRequestEvent = {
    provider: 'gitlab',
    repo,
    number: mr.iid,
    url: mr.url,
    title: mr.title,
    texts: [mr.title, mr.description, mr.source_branch],
    state: mr.state === 'merged' ? 'merged' : mr.state === 'opened' ? 'open' : 'closed',
    actor: `gitlab:${payload.user?.username ?? 'unknown'}`,
    deliveryId,
    mergeCommitSha: mr.state === 'merged' ? commitOf(mr.merge_commit_sha) : null,
    sourceUpdatedAt: forgeTime(mr.updated_at),
  };
  return { eventName: `merge_request.${mr.action ?? mr.state}`, event };
}
