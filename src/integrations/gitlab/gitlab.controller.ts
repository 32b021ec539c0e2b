import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { PullRequests } from '../../sla/pull-requests.service';
import { WebhookError } from '../webhook.errors';
import { gitLabMergeRequestEvent, type GitLabMergeRequestPayload } from './gitlab-merge-request';

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
    const mapped = gitLabMergeRequestEvent(payload, deliveryId);
    if ('ignored' in mapped) return mapped;
    return this.pullRequests.handleWebhook('gitlab', deliveryId, mapped.eventName, mapped.event);
  }
}
