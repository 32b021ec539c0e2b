import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/decorators';
import type { RequestWithRawBody } from '../../common/json-body';
import { WebhookRateLimit } from '../../common/rate-limit';
import { constantTimeEquals, hmacSignature } from '../../common/signatures';
import { ServiceConfig } from '../../config/config.providers';
import { Gitops } from '../../gitops/gitops.service';
import { WebhookError } from '../webhook.errors';
import { fluxReconcilerEvent, type FluxEvent } from './flux-event';

const ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512'] as const;

/** Flux notification-controller events (`generic-hmac` provider), authenticated by `X-Signature`. */
@ApiTags('webhooks')
@Controller('v1/webhooks/flux')
export class FluxWebhookController {
  constructor(
    private readonly config: ServiceConfig,
    private readonly gitops: Gitops,
  ) {}

  @Public()
  @WebhookRateLimit()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request & RequestWithRawBody, @Headers('x-signature') signature: string | undefined) {
    const secret = this.config.env.FLUX_WEBHOOK_SECRET;
    if (!secret) throw new WebhookError('webhook_not_configured', 'FLUX_WEBHOOK_SECRET is not set');
    const algorithm = ALGORITHMS.find((name) => signature?.startsWith(`${name}=`));
    if (!signature || !algorithm || !req.rawBody || !constantTimeEquals(signature, hmacSignature(algorithm, secret, req.rawBody))) {
      throw new WebhookError('invalid_signature', 'X-Signature does not match the body (expected <sha224|sha256|sha384|sha512>=<hex HMAC>)');
    }
    const mapped = fluxReconcilerEvent(req.body as FluxEvent, createHash('sha256').update(req.rawBody).digest('hex'));
    return 'ignored' in mapped ? mapped : this.gitops.record(mapped);
  }
}
