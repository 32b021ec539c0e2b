import { Int, ListOf, NullableInt, NullableText, NullableTimestamp, OneOf, Text, Texts, Timestamp } from '../common/api-schema';

export class CheckpointView {
  @Int({ description: 'Events covered: seq 1 … treeSize' })
  treeSize: number;
  @Text({ description: 'The Merkle tree root, hex (the note carries it in base64)' })
  rootHash: string;
  @Timestamp()
  at: string;
  @Text({ description: 'The C2SP signed note (tlog-checkpoint), as GET /v1/audit/checkpoint answers it' })
  note: string;
}

export class CheckpointPage {
  @ListOf(() => CheckpointView)
  checkpoints: CheckpointView[];
  @NullableInt({ description: 'Pass as `after` for the next page' })
  next: number | null;
}

export class InclusionProof {
  @Int()
  seq: number;
  @Int({ description: 'seq - 1' })
  leafIndex: number;
  @Int()
  treeSize: number;
  @Text({ description: 'The root of the checkpoint of treeSize, hex' })
  rootHash: string;
  @Texts({ description: 'RFC 9162 inclusion path, innermost sibling first, hex' })
  proof: string[];
}

export class ConsistencyProof {
  @Int()
  from: number;
  @Int()
  to: number;
  @Texts({ description: 'RFC 9162 consistency proof, hex' })
  proof: string[];
}

/** Where an anchor stands: what it last received, and what waits for it. */
export class AnchorStatus {
  @Text()
  name: string;
  @OneOf(['git', 'webhook'])
  type: 'git' | 'webhook';
  @NullableInt({ description: 'The newest checkpoint delivered to it' })
  deliveredTreeSize: number | null;
  @NullableTimestamp()
  deliveredAt: Date | null;
  @Int({ description: 'Checkpoints waiting for it, delivered oldest first' })
  pending: number;
  @NullableTimestamp({ description: 'When the oldest waiting checkpoint was made' })
  pendingSince: Date | null;
  @NullableText({ description: 'Why the oldest waiting checkpoint has not arrived yet' })
  lastError: string | null;
}

export class AnchorStatusList {
  @ListOf(() => AnchorStatus)
  anchors: AnchorStatus[];
}
