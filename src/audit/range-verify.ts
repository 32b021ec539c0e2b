import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GENESIS_HASH, type ChainVerdict } from './chain';
import { storedAuditRowHash, type StoredAuditRow } from './audit-event';
import { EVENTS_IN_RANGE } from './audit.sql';

// Verification of the audit chain by seq ranges, so ranges can be checked in parallel (worker
// threads, each with its own connection). Every event is checked on its own from its stored
// prevHash (hash_n = H(prevHash_n + "\n" + canon(e_n))); only the links prevHash_n == hash_{n-1}
// need order, and those across range boundaries are checked when the ranges are joined. The
// verdict is the same as reading the whole chain in one pass (chain.ts's ChainVerifier).

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

export async function verifyAuditRange(query: ArrayRowQuery, range: SeqRange, batchSize = 5000): Promise<RangeVerdict> {
  const verdict: RangeVerdict = { ...range, count: 0, firstPrevHash: null, lastGoodHash: null };
  const fetchAfter = (afterSeq: number) => query(EVENTS_IN_RANGE, [afterSeq, range.to, batchSize]);
  let expectedSeq = range.from;
  let next = fetchAfter(range.from - 1);
  for (;;) {
    const rows = await next;
    // The next batch is fetched while this one is hashed.
    if (rows.length === batchSize) next = fetchAfter(Number(rows[rows.length - 1][0]));
    for (const row of rows as StoredAuditRow[]) {
      const seq = Number(row[0]);
      if (seq !== expectedSeq) return { ...verdict, firstInvalidSeq: expectedSeq };
      const [prevHash, hash] = [row[8], row[9]];
      if (seq === range.from) verdict.firstPrevHash = prevHash;
      else if (prevHash !== verdict.lastGoodHash) return { ...verdict, firstInvalidSeq: seq };
      if (storedAuditRowHash(row) !== hash) return { ...verdict, firstInvalidSeq: seq };
      verdict.count++;
      verdict.lastGoodHash = hash;
      expectedSeq++;
    }
    if (rows.length < batchSize) break;
  }
  return expectedSeq === range.to + 1 ? verdict : { ...verdict, firstInvalidSeq: expectedSeq };
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
 * Verifies ranges on `workerCount` worker threads, each pulling the next range when done. Ranges
 * after a broken one are not started (the verdict stops at the first broken seq). Returns the
 * verdicts of the ranges up to the first broken one, in order.
 */
export async function verifyRangesInWorkers(databaseUrl: string, ranges: SeqRange[], workerCount: number): Promise<RangeVerdict[]> {
  const verdicts: (RangeVerdict | undefined)[] = new Array(ranges.length);
  const workers: Worker[] = [];
  let nextRange = 0;
  let firstInvalidSeq = Infinity;
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(workerScript(), { workerData: { databaseUrl } });
      workers.push(worker);
      let current = -1;
      const sendNext = () => {
        if (nextRange < ranges.length && ranges[nextRange].from <= firstInvalidSeq) worker.postMessage(ranges[(current = nextRange++)]);
        else worker.postMessage('close');
      };
      worker.on('message', (message: { verdict?: RangeVerdict; error?: string }) => {
        if (!message.verdict) return reject(new Error(`audit verification worker: ${message.error}`));
        verdicts[current] = message.verdict;
        firstInvalidSeq = Math.min(firstInvalidSeq, message.verdict.firstInvalidSeq ?? Infinity);
        sendNext();
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
      sendNext();
    });
  try {
    await Promise.all(Array.from({ length: Math.min(workerCount, ranges.length) }, runWorker));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  const done = verdicts.findIndex((verdict) => verdict === undefined);
  return (done === -1 ? verdicts : verdicts.slice(0, done)) as RangeVerdict[];
}

/**
 * The compiled worker. Under the tests the sources run through swc, which a worker thread cannot
 * load, so they use the build (`npm test` builds first).
 */
function workerScript(): string {
  const name = 'range-verify.worker.js';
  if (!__filename.endsWith('.ts')) return path.join(__dirname, name);
  return path.join(__dirname, '..', '..', 'dist', 'src', 'audit', name);
}
