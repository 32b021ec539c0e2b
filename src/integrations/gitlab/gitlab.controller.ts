import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { commitOf } from '../../gitops/reconciler-event';
import { forgeTime, PullRequests, type PullRequestEvent } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';

interface GitLabMergeRequestPayload {
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

/** GitLab webhooks (`merge_request`), authenticated by the shared `X-Gitlab-Token`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/gitlab')
export class GitLabWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly pullRequests: PullRequests,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(
    @Req() req: Request & RequestWithRawBody,
    @Headers('x-gitlab-token') token: string | undefined,
    @Headers('x-gitlab-event-uuid') eventUuid: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ) {
    const expected = this.config.env.GITLAB_WEBHOOK_TOKEN;
    if (!expected) throw new WebhookError('webhook_not_configured', 'GITLAB_WEBHOOK_TOKEN is not set');
    if (!token || !constantTimeEquals(token, expected)) throw new WebhookError('invalid_signature', 'X-Gitlab-Token does not match');
    const payload = req.body as GitLabMergeRequestPayload;
    // GitLab sends X-Gitlab-Event-UUID (and Idempotency-Key on retries); older versions send neither.
    const deliveryId =
      idempotencyKey ??
      eventUuid ??
      createHash('sha256')
        .update(req.rawBody ?? '')
        .digest('hex');
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
    return this.pullRequests.handleWebhook('gitlab', deliveryId, `merge_request.${mr.action ?? mr.state}`, event);
  }
}
