import { FreeObject, Int, ListOf, Nested, NullableInt, NullableText, Text, Texts, Timestamp, Bool } from '../common/api-schema';
import type { JsonValue } from './audit-event';

// What the audit endpoints answer. The hashing code (audit-event.ts, chain.ts) uses these types
// but not this file's decorators, so the CLI, which verifies chains too, loads no OpenAPI code.

/** An audit event: its hashed fields (docs/formats.md, "Audit log"), prevHash and hash. */
export class AuditEvent {
  @Int()
  seq: number;
  @Timestamp()
  at: string;
  @Text({ description: 'A user’s subject, or system:<component>' })
  actor: string;
  @Text({ example: 'grant.activated' })
  action: string;
  @NullableText()
  grant: string | null;
  @NullableText()
  target: string | null;
  @FreeObject()
  data: { [key: string]: JsonValue };
  @Texts({ description: 'Compliance control ids, e.g. SOC2:CC8.1' })
  controls: string[];
  @Text()
  prevHash: string;
  @Text()
  hash: string;
}

export class AuditPage {
  @ListOf(() => AuditEvent)
  events: AuditEvent[];
  @NullableInt({ description: 'Pass as `after` for the next page' })
  next: number | null;
}

export class BrokenAnchor {
  @Int()
  seq: number;
  @Text({ description: 'The head recorded elsewhere (a seal, an exported head)' })
  expectedHash: string;
  @NullableText({ description: 'null when the chain ends before `seq` (records deleted from its end)' })
  actualHash: string | null;
}

/** The result of recomputing a chain (audit log or session log). */
export class ChainVerdict {
  @Bool()
  valid: boolean;
  @Int()
  count: number;
  @Text()
  headHash: string;
  @Int({ optional: true, description: 'The first seq whose record is altered, out of order or missing' })
  firstInvalidSeq?: number;
  @Nested(() => BrokenAnchor, {
    optional: true,
    description:
      'A head recorded elsewhere that the chain does not pass through; a consistently rehashed chain is bounded this way (firstInvalidSeq is then the first seq after the last anchor that matched)',
  })
  brokenAnchor?: BrokenAnchor;
}
