import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison that does not leak the expected value's length through timing. */
export function constantTimeEquals(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** `sha256=<hex HMAC-SHA256 of the body>`: how GitHub signs, and how we sign webhooks and SIEM batches. */
export function hmacSha256Signature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
