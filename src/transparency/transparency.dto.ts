import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { PageQuery } from '../audit/audit.dto';

// Tree sizes and seqs are positive integers within what a JavaScript number holds exactly.
const TreePosition = (description: string) => (target: object, key: string) => {
  ApiProperty({ description, minimum: 1, type: 'integer' })(target, key);
  Type(() => Number)(target, key);
  IsInt()(target, key);
  Min(1)(target, key);
  Max(Number.MAX_SAFE_INTEGER)(target, key);
};

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

export class CheckpointsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'The `next` value of the previous page (a tree size)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}
