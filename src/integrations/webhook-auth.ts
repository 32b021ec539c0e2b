import { HttpStatus } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { defineDomainErrors } from '../common/domain-error';

export class WebhookError extends defineDomainErrors({
  webhook_not_configured: HttpStatus.SERVICE_UNAVAILABLE,
  invalid_signature: HttpStatus.UNAUTHORIZED,
  missing_delivery_id: HttpStatus.BAD_REQUEST,
  malformed_payload: HttpStatus.BAD_REQUEST,
}) {}

/** Constant-time comparison that does not leak the expected value's length through timing. */
export function constantTimeEquals(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub (and our own webhooks) sign. */
export function hmacSha256Signature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
