import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals, hmacSha256Signature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { PullRequests } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';
import { gitHubPullRequestEvent, type GitHubPullRequestPayload } from './github-pull-request';

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
    const mapped = gitHubPullRequestEvent(eventName, req.body as GitHubPullRequestPayload, deliveryId);
    if ('ignored' in mapped || 'ok' in mapped) return mapped;
    return this.pullRequests.handleWebhook('github', deliveryId, mapped.eventName, mapped.event);
  }
}
