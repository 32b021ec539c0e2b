import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

// RFC 9162 (section 2.1) as the RFC writes it, recursively, for tests to check the broker's Merkle
// tree and proofs with code of their own: no import from src/.

type Hash = Buffer;

export const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
export const rfcLeaf = (data: Buffer) => sha256(Buffer.from([0]), data);

/** An audit event's leaf as the API exports it: SHA-256(0x00 || RFC 8785 of the event minus prevHash and hash). */
export function auditLeaf({ prevHash: _prev, hash: _hash, ...hashed }: { prevHash: string; hash: string }): Hash {
  return rfcLeaf(Buffer.from(canonicalize(hashed)!, 'utf8'));
}
const largestPowerOfTwoBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

/** RFC 9162 2.1.1 MTH. */
export function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0];
  const k = largestPowerOfTwoBelow(leaves.length);
  return sha256(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** RFC 9162 2.1.3.1 PATH(m, D[n]). */
export function path(m: number, leaves: Hash[]): Hash[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b). */
export function subproof(m: number, leaves: Hash[], whole: boolean): Hash[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [mth(leaves)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k ? [...subproof(m, leaves.slice(0, k), whole), mth(leaves.slice(k))] : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
