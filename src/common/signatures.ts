import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison that does not leak the expected value's length through timing. */
export function constantTimeEquals(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** `sha256=<hex HMAC-SHA256 of the body>`: how GitHub signs, and how we sign webhooks and SIEM batches. */
export function hmacSha256Signature(secret: string, body: Buffer | string): string {
  return hmacSignature('sha256', secret, body);
}

/** `<algorithm>=<hex HMAC of the body>` (Flux's `X-Signature` names its algorithm the same way). */
export function hmacSignature(algorithm: 'sha224' | 'sha256' | 'sha384' | 'sha512', secret: string, body: Buffer | string): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}
