import { Bool, Int, ListOf, NullableFreeObject, NullableInt, NullableText, NullableTimestamp, OneOf, Text, Timestamp } from '../common/api-schema';
import type { RecordDetail } from './session-event';

// What the session endpoints answer. The hashing code (session-event.ts) and the CLI use these
// types without loading this file.

/**
 * A session record: its hashed fields (docs/formats.md, "Session log"), prevHash, hash and `late`.
 * Format 1 records have no `detail` key; format 2 records always have it (an object or null).
 */
export class SessionEvent {
  @Text()
  grant: string;
  @Int()
  seq: number;
  @Text({ example: 'command' })
  type: string;
  @NullableText()
  command: string | null;
  @NullableText()
  cwd: string | null;
  @NullableText()
  user: string | null;
  @NullableText()
  host: string | null;
  @NullableTimestamp()
  startedAt: string | null;
  @NullableTimestamp()
  finishedAt: string | null;
  @NullableInt()
  exitCode: number | null;
  @NullableFreeObject({ optional: true, description: 'Format 2: what the recorder adds (SQL outcome, Kubernetes request); null when nothing' })
  detail?: RecordDetail | null;
  @Timestamp()
  receivedAt: string;
  @Text()
  prevHash: string;
  @Text()
  hash: string;
  @Bool({ description: 'Received after the grant ended, though recorded before it (not hashed)' })
  late: boolean;
}

/** Client seqs the broker has not received. */
export class Gap {
  @Int()
  from: number;
  @Int()
  to: number;
}

export class SessionPage {
  @ListOf(() => SessionEvent)
  events: SessionEvent[];
  @Text()
  headHash: string;
  @ListOf(() => Gap)
  gaps: Gap[];
  @NullableInt({ description: 'Pass as `after` for the next page' })
  next: number | null;
}

export class IngestResult {
  @Int()
  accepted: number;
  @Int({ description: 'Re-sent records already stored with the same content' })
  duplicates: number;
  @Int({ description: 'The highest seq the client has sent (its own counter)' })
  lastSeq: number;
  @Text()
  headHash: string;
  @ListOf(() => Gap)
  gaps: Gap[];
}

export const REVIEW_OUTCOMES = ['approved', 'findings', 'violation'] as const;

export class ReviewRecord {
  @Text()
  id: string;
  @Text()
  grantId: string;
  @Text()
  reviewer: string;
  @OneOf(REVIEW_OUTCOMES)
  outcome: (typeof REVIEW_OUTCOMES)[number];
  @Text()
  notes: string;
  @Bool({ description: 'The session chain verified when the review was recorded' })
  chainValid: boolean;
  @Text()
  chainHead: string;
  @Int()
  eventsReviewed: number;
  @Bool({ description: 'The reviewer acknowledged a chain that did not verify' })
  integrityAcknowledged: boolean;
  @NullableInt({ description: 'The last session seq the review covers (null: a review recorded before coverage was kept)' })
  coversSeq: number | null;
  @Bool({ description: 'Made while the grant was active, or covering less than the sealed head: it does not satisfy the review clock' })
  interim: boolean;
  @NullableText({ description: 'The review this one replaced as the current verdict' })
  supersedes: string | null;
  @Timestamp()
  at: Date;
}

/** A grant's current review verdict: the latest review, which supersedes the earlier ones. */
export class ReviewVerdict {
  @Text()
  review: string;
  @OneOf(REVIEW_OUTCOMES)
  outcome: (typeof REVIEW_OUTCOMES)[number];
  @Text()
  reviewer: string;
  @Timestamp()
  at: Date;
  @NullableInt()
  coversSeq: number | null;
  @Bool({ description: 'Not final: made while the grant was active or covering less than the sealed head' })
  interim: boolean;
}

export class ReviewRecorded extends ReviewRecord {
  @NullableText({ description: 'What became of the review clock (satisfied, satisfied_late) or null' })
  clock: string | null;
}

export class ReviewList {
  @ListOf(() => ReviewRecord)
  reviews: ReviewRecord[];
  @NullableText()
  next: null;
}
