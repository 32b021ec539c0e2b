import { hash } from 'node:crypto';

/**
 * Bearer tokens whose signature and claims were verified, with what they said, until the token's
 * `exp` (and at most `maxAgeMs` after the check). A client sends the same token with every request;
 * verifying it again each time costs a signature check and, with jose's WebCrypto, a hop through the
 * thread pool (most of an authenticated request's latency). Entries are keyed by the token's
 * SHA-256, so no bearer token stays in the heap; the oldest entry goes first when `capacity` is
 * reached. Failed verifications are never kept: a rejected token is checked again next time.
 */
export class VerifiedTokens<T> {
  private readonly entries = new Map<string, { value: T; validUntilMs: number }>();

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs = Number.POSITIVE_INFINITY,
  ) {}

  /** What `token` said when verified, while it is still unexpired; else undefined (verify it again). */
  get(token: string): T | undefined {
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.validUntilMs > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps a verified token's value until `expiresAtSeconds` (its `exp`; without one, maxAgeMs). */
  set(token: string, value: T, expiresAtSeconds: number | undefined): void {
    const validUntilMs = Math.min(expiresAtSeconds === undefined ? Number.POSITIVE_INFINITY : expiresAtSeconds * 1000, Date.now() + this.maxAgeMs);
    if (!(validUntilMs > Date.now())) return;
    const key = keyOf(token);
    this.entries.delete(key);
    this.entries.set(key, { value, validUntilMs });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

const keyOf = (token: string) => hash('sha256', token, 'base64');
