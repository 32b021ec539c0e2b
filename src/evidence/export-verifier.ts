import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import { chainHash } from '../audit/chain';
import { verifiedCheckpoint } from '../transparency/signed-note';

/** What `breakglass evidence verify-export` finds in a JSONL period export. */
export interface ExportVerdict {
  valid: boolean;
  count: number;
  /** Runs of consecutive seqs (1 for a whole period; more when the export was filtered by control). */
  segments: number;
  /** The first event whose hash does not follow from its fields, or that does not link to the one before. */
  firstInvalidSeq?: number;
  /** The trailer agrees with the events (count, first prevHash, last hash). */
  trailer: 'matches' | 'differs' | 'missing';
  /** The checkpoint line: signed by the log key and covering the last event, or why not. */
  checkpoint: 'valid' | 'invalid' | 'absent' | 'unchecked';
  problem: string | null;
}

interface Trailer {
  type: 'chain-head';
  count: number;
  firstPrevHash: string | null;
  lastSeq: number | null;
  lastHash: string | null;
}

/**
 * Offline check of a JSONL export, from the formula alone: every event's hash, the links between
 * consecutive seqs, the trailer's count and ends, and (with the log key) the checkpoint's signature
 * and that it covers the last event. A tail cut from the file, an altered field or a forged trailer fail.
 */
export function verifyExport(text: string, logKey?: string): ExportVerdict {
  const lines = text.split('\n').filter((line) => line.trim());
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const events = parsed.filter((line) => line.type === undefined) as unknown as AuditEvent[];
  const trailer = parsed.find((line) => line.type === 'chain-head') as Trailer | undefined;
  const note = parsed.find((line) => line.type === 'checkpoint') as { treeSize: number | null; note: string | null } | undefined;
  let segments = 0;
  let firstInvalidSeq: number | undefined;
  for (const [i, event] of events.entries()) {
    const previous = events[i - 1];
    const continues = previous && previous.seq === event.seq - 1;
    if (!continues) segments++;
    const linked = !continues || event.prevHash === previous.hash;
    if (firstInvalidSeq === undefined && (!linked || event.hash !== chainHash(event.prevHash, hashedFieldsOf(event)))) firstInvalidSeq = event.seq;
  }
  const first = events[0];
  const last = events.at(-1);
  const trailerState: ExportVerdict['trailer'] = !trailer
    ? 'missing'
    : trailer.count === events.length && (trailer.firstPrevHash ?? null) === (first?.prevHash ?? null) && (trailer.lastHash ?? null) === (last?.hash ?? null)
      ? 'matches'
      : 'differs';
  let checkpoint: ExportVerdict['checkpoint'] = note?.note ? (logKey ? 'invalid' : 'unchecked') : 'absent';
  if (note?.note && logKey) {
    const signed = verifiedCheckpoint(note.note, logKey);
    if (signed && (!last || signed.treeSize >= last.seq)) checkpoint = 'valid';
  }
  const problem =
    firstInvalidSeq !== undefined
      ? `event seq ${firstInvalidSeq} does not follow from its fields or its predecessor`
      : trailerState === 'missing'
        ? 'no chain-head trailer: the file was cut short'
        : trailerState === 'differs'
          ? 'the chain-head trailer does not match the events (events removed or added)'
          : checkpoint === 'invalid'
            ? 'the checkpoint is not signed by the log key, or does not cover the last event'
            : null;
  return {
    valid: problem === null,
    count: events.length,
    segments,
    ...(firstInvalidSeq !== undefined ? { firstInvalidSeq } : {}),
    trailer: trailerState,
    checkpoint,
    problem,
  };
}
