import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { NumberPageQuery } from '../audit/audit.dto';

// Tree sizes and seqs are positive integers within what a JavaScript number holds exactly.
const TreePosition = (description: string) =>
  applyDecorators(
    ApiProperty({ description, minimum: 1, type: 'integer' }),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(Number.MAX_SAFE_INTEGER),
  );

export class InclusionQuery {
  @TreePosition('The audit event (its seq; leaf index = seq - 1)')
  seq: number;

  @TreePosition('A tree size that has a checkpoint')
  treeSize: number;
}

export class ConsistencyQuery {
  @TreePosition('The older checkpoint’s tree size')
  from: number;

  @TreePosition('The newer checkpoint’s tree size')
  to: number;
}

/** `after` is a tree size. */
export class CheckpointsQuery extends NumberPageQuery {}
