import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals, hmacSha256Signature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { commitOf } from '../../gitops/reconciler-event';
import { forgeTime, PullRequests, type PullRequestEvent } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';

const LINKING_ACTIONS = new Set(['opened', 'edited', 'reopened', 'closed']);

interface GitHubPullRequestPayload {
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

/** GitHub webhooks (`pull_request`, `ping`), authenticated by `X-Hub-Signature-256`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/github')
export class GitHubWebhookController {
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
    @Headers('x-github-event') eventName: string | undefined,
    @Headers('x-github-delivery') deliveryId: string | undefined,
    @Headers('x-hub-signature-256') signature: string | undefined,
  ) {
    const secret = this.config.env.GITHUB_WEBHOOK_SECRET;
    if (!secret) throw new WebhookError('webhook_not_configured', 'GITHUB_WEBHOOK_SECRET is not set');
    if (!signature || !req.rawBody || !constantTimeEquals(signature, hmacSha256Signature(secret, req.rawBody))) {
      throw new WebhookError('invalid_signature', 'X-Hub-Signature-256 does not match the body');
    }
    if (!deliveryId) throw new WebhookError('missing_delivery_id', 'X-GitHub-Delivery is required');
    if (eventName === 'ping') return { ok: true };
    const payload = req.body as GitHubPullRequestPayload;
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
    return this.pullRequests.handleWebhook('github', deliveryId, `pull_request.${payload.action}`, event);
  }
}
