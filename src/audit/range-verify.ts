import { HASH_AT_SEQ, VERIFY_RANGE } from './audit.sql';
import { GENESIS_HASH, type ChainVerdict } from './chain';

// Verification of the audit chain by seq ranges, so ranges can be checked in parallel (one
// database connection each). PostgreSQL recomputes every hash itself (audit.sql.ts, VERIFY_RANGE):
// each event is checked on its own from its stored prevHash (hash_n = H(prevHash_n + "\n" +
// canon(e_n))) and against the previous row's hash; the links across range boundaries are checked
// when the ranges are joined. The verdict is the same as reading the whole chain in one pass
// (chain.ts's ChainVerifier).

export interface SeqRange {
  /** First seq of the range. */
  from: number;
  /** Last seq of the range (inclusive). */
  to: number;
}

export interface RangeVerdict extends SeqRange {
  count: number;
  /** The stored prevHash of the range's first event (null when it is missing). */
  firstPrevHash: string | null;
  /** The hash of the last event that verified (null when none did). */
  lastGoodHash: string | null;
  firstInvalidSeq?: number;
}

/** Runs a query and returns its rows as arrays (pg's rowMode 'array'). */
export type ArrayRowQuery = (text: string, values: unknown[]) => Promise<unknown[][]>;

async function verifyAuditRange(query: ArrayRowQuery, range: SeqRange): Promise<RangeVerdict> {
  const [[firstInvalid, lastSeq, firstPrevHash, lastHash]] = (await query(VERIFY_RANGE, [range.from, range.to])) as [
    [string | null, string | null, string | null, string | null],
  ];
  // Rows stop short of the range's end: the first missing seq is past the last one present.
  const missingAtEnd = lastSeq === null ? range.from : Number(lastSeq) < range.to ? Number(lastSeq) + 1 : undefined;
  const firstInvalidSeq = firstInvalid !== null ? Number(firstInvalid) : missingAtEnd;
  const verdict: RangeVerdict = { ...range, count: (firstInvalidSeq ?? range.to + 1) - range.from, firstPrevHash, lastGoodHash: lastHash };
  if (firstInvalidSeq === undefined) return verdict;
  // Every event before the first invalid one verified, so the last good hash is its predecessor's.
  const lastGoodHash = firstInvalidSeq > range.from ? ((await query(HASH_AT_SEQ, [firstInvalidSeq - 1]))[0][0] as string) : null;
  return { ...verdict, lastGoodHash, firstInvalidSeq };
}

/** Consecutive ranges of at most `size` seqs covering 1..lastSeq. */
export function splitIntoRanges(lastSeq: number, size: number): SeqRange[] {
  const ranges: SeqRange[] = [];
  for (let from = 1; from <= lastSeq; from += size) ranges.push({ from, to: Math.min(lastSeq, from + size - 1) });
  return ranges;
}

/**
 * Joins the verdicts of consecutive ranges covering 1..head.seq into the chain's verdict.
 * `eventsBeyondHead`: rows with a seq past the head, read in the head's snapshot (an insert the
 * head does not cover is forged, since appends move the head in the same transaction).
 */
export function joinRangeVerdicts(ranges: RangeVerdict[], head: { seq: number; hash: string }, eventsBeyondHead: boolean): ChainVerdict {
  let headHash = GENESIS_HASH;
  let count = 0;
  const broken = (firstInvalidSeq: number): ChainVerdict => ({ valid: false, count, headHash, firstInvalidSeq });
  for (const range of ranges) {
    if (range.firstPrevHash !== null && range.firstPrevHash !== headHash) return broken(range.from);
    count += range.count;
    if (range.lastGoodHash !== null) headHash = range.lastGoodHash;
    if (range.firstInvalidSeq !== undefined) return broken(range.firstInvalidSeq);
  }
  if (headHash !== head.hash || eventsBeyondHead) return broken(head.seq + 1);
  return { valid: true, count, headHash };
}

/**
 * Verifies ranges over `connections` concurrent queries, each taking the next range when done.
 * Ranges after a broken one are not started (the verdict stops at the first broken seq). Returns
 * the verdicts of the ranges up to the first broken one, in order.
 */
export async function verifyRanges(query: ArrayRowQuery, ranges: SeqRange[], connections: number): Promise<RangeVerdict[]> {
  const verdicts: (RangeVerdict | undefined)[] = new Array(ranges.length);
  let nextRange = 0;
  let firstInvalidSeq = Infinity;
  const takeRanges = async () => {
    while (nextRange < ranges.length && ranges[nextRange].from <= firstInvalidSeq) {
      const index = nextRange++;
      const verdict = await verifyAuditRange(query, ranges[index]);
      verdicts[index] = verdict;
      firstInvalidSeq = Math.min(firstInvalidSeq, verdict.firstInvalidSeq ?? Infinity);
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, ranges.length) }, takeRanges));
  const done = verdicts.findIndex((verdict) => verdict === undefined);
  return (done === -1 ? verdicts : verdicts.slice(0, done)) as RangeVerdict[];
}
