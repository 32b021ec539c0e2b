import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ChainVerdict } from './audit.views';

// docs/formats.md, "Audit log": hash_n = H(hash_{n-1} + "\n" + canon(e_n)), H = SHA-256 (lowercase
// hex), canon = RFC 8785, hash_0 = 64 zeros. Shared by the audit log, the session log and the CLI.

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

export function chainHash(prevHash: string, hashedFields: object): string {
  // crypto.hash (one-shot) is several times faster than createHash for inputs this small.
  return hash('sha256', `${prevHash}\n${canonicalJson(hashedFields)}`, 'hex');
}

export type { ChainVerdict } from './audit.views';

/** A head (seq and hash) recorded outside the chain itself: a seal in the audit log, an exported head. */
export interface ChainAnchor {
  seq: number;
  hash: string;
}

export interface ChainedRecord {
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * Checks records fed in seq order, one at a time, so a chain of any length verifies in constant
 * memory. `contiguous` chains (the audit log) must also have no seq gaps.
 */
export class ChainVerifier<R extends ChainedRecord> {
  private runningHash = GENESIS_HASH;
  private lastSeq = 0;
  private count = 0;
  private firstInvalidSeq?: number;
  private brokenAnchor?: ChainVerdict['brokenAnchor'];
  /** Anchors not reached yet, ascending; the seq after the last one passed. */
  private anchors: ChainAnchor[] = [];
  private verifiedFromSeq = 1;

  /** `hashOf(prevHash, record)` computes hash_n; the default applies the generic formula to `hashedFieldsOf`. */
  constructor(
    private readonly hashedFieldsOf: (record: R) => object,
    private readonly contiguous: boolean,
    private readonly hashOf: (prevHash: string, record: R) => string = (prevHash, record) => chainHash(prevHash, hashedFieldsOf(record)),
  ) {}

  /** Heads the chain must pass through, e.g. every `session.sealed` of a grant; call before `add`. */
  throughAnchors(anchors: readonly ChainAnchor[]): this {
    this.anchors = anchors.filter((anchor) => anchor.seq > 0 || anchor.hash !== GENESIS_HASH).sort((a, b) => a.seq - b.seq);
    return this;
  }

  add(record: R): void {
    this.count++;
    if (this.firstInvalidSeq !== undefined) return;
    if (this.contiguous ? record.seq !== this.lastSeq + 1 : record.seq <= this.lastSeq) {
      this.firstInvalidSeq = this.contiguous ? Math.min(record.seq, this.lastSeq + 1) : record.seq;
      return;
    }
    const recomputed = this.hashOf(this.runningHash, record);
    if (record.prevHash !== this.runningHash || record.hash !== recomputed) {
      this.firstInvalidSeq = record.seq;
      return;
    }
    const anchor = this.anchors[0];
    if (anchor && anchor.seq < record.seq) {
      // The anchored record is gone (the chain follows seq, so it cannot come later).
      this.anchorBroken(anchor, null, this.lastSeq + 1);
      return;
    }
    this.runningHash = recomputed;
    this.lastSeq = record.seq;
    if (anchor?.seq === record.seq) {
      if (anchor.hash !== recomputed) return this.anchorBroken(anchor, recomputed, this.verifiedFromSeq);
      this.anchors.shift();
      this.verifiedFromSeq = record.seq + 1;
    }
  }

  private anchorBroken(anchor: ChainAnchor, actualHash: string | null, firstInvalidSeq: number): void {
    this.brokenAnchor = { seq: anchor.seq, expectedHash: anchor.hash, actualHash };
    this.firstInvalidSeq = firstInvalidSeq;
  }

  /** `expectedHead`, when known, catches records deleted from the end of the chain. */
  verdict(expectedHead?: ChainAnchor): ChainVerdict {
    if (this.firstInvalidSeq === undefined && this.anchors.length) this.anchorBroken(this.anchors[0], null, this.lastSeq + 1);
    if (this.firstInvalidSeq === undefined && expectedHead && (expectedHead.seq !== this.lastSeq || expectedHead.hash !== this.runningHash)) {
      this.firstInvalidSeq = this.lastSeq + 1;
    }
    const valid = this.firstInvalidSeq === undefined;
    return {
      valid,
      count: this.count,
      headHash: this.runningHash,
      ...(valid ? {} : { firstInvalidSeq: this.firstInvalidSeq }),
      ...(this.brokenAnchor ? { brokenAnchor: this.brokenAnchor } : {}),
    };
  }
}
