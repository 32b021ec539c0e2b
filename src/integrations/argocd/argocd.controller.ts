import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { bearerTokenOf } from '../../auth/auth.guard';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Gitops } from '../../gitops/gitops.service';
import { WebhookError } from '../webhook.errors';
import { argoCdReconcilerEvent, type ArgoCdNotification } from './argocd-notification';

/** Argo CD notifications (webhook service), authenticated by `Authorization: Bearer <ARGOCD_WEBHOOK_TOKEN>`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/argocd')
export class ArgoCdWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly gitops: Gitops,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request & RequestWithRawBody, @Headers('authorization') authorization: string | undefined) {
    const expected = this.config.env.ARGOCD_WEBHOOK_TOKEN;
    if (!expected) throw new WebhookError('webhook_not_configured', 'ARGOCD_WEBHOOK_TOKEN is not set');
    const token = bearerTokenOf(authorization);
    if (!token || !constantTimeEquals(token, expected)) throw new WebhookError('invalid_signature', 'Authorization: Bearer <ARGOCD_WEBHOOK_TOKEN> is required');
    const mapped = argoCdReconcilerEvent(
      (req.body ?? {}) as ArgoCdNotification,
      createHash('sha256')
        .update(req.rawBody ?? '')
        .digest('hex'),
    );
    return 'ignored' in mapped ? mapped : this.gitops.record(mapped);
  }
}
