import { applyDecorators, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { SkipThrottle, ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { AppConfig } from '../config/env';
import { CommonError } from './domain-error';

// Rate limits on what an outsider or a runaway script can repeat: break-glass requests (per caller:
// the global auth guard has already identified them) and inbound webhooks (per source address).
// Counters are in memory, per instance; limits are per minute.

const GRANT_REQUESTS = 'grant-requests';
const WEBHOOKS = 'webhooks';

export function rateLimitOptions(config: AppConfig): ThrottlerModuleOptions {
  const perMinute = (name: string, limit: number, getTracker: (req: Record<string, unknown>) => string) => ({
    name,
    ttl: 60_000,
    limit,
    skipIf: () => limit === 0,
    getTracker,
  });
  return [
    perMinute(
      GRANT_REQUESTS,
      config.env.BREAKGLASS_RATE_LIMIT_GRANTS,
      (req) => (req as { principal?: { subject: string } }).principal?.subject ?? String(req.ip),
    ),
    perMinute(WEBHOOKS, config.env.BREAKGLASS_RATE_LIMIT_WEBHOOKS, (req) => String(req.ip)),
  ];
}

/** ThrottlerGuard answering in the service's one error shape (429 `rate_limited`, with Retry-After). */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    // The library names its header after the throttler (Retry-After-grant-requests); clients know the standard one.
    this.setResponseHeader(this.getRequestResponse(context).res, 'Retry-After', detail.timeToBlockExpire);
    throw new CommonError('rate_limited', `Too many requests: at most ${detail.limit} per ${detail.ttl / 1000} s; retry in ${detail.timeToBlockExpire} s`, {
      limit: detail.limit,
      windowSeconds: detail.ttl / 1000,
      retryAfterSeconds: detail.timeToBlockExpire,
    });
  }
}

/** POST /v1/grants: limited per caller. */
export const GrantRequestRateLimit = () => applyDecorators(UseGuards(RateLimitGuard), SkipThrottle({ [WEBHOOKS]: true }));

/** Inbound webhooks: limited per source address. */
export const WebhookRateLimit = () => applyDecorators(UseGuards(RateLimitGuard), SkipThrottle({ [GRANT_REQUESTS]: true }));
