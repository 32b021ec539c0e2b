import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Min } from 'class-validator';
import { PageQuery } from '../audit/audit.dto';
import { TARGET_NAME } from '../config/policy.schema';

export class DrillsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only the runs of this drill' })
  @IsOptional()
  @Matches(TARGET_NAME, { message: 'drill must be a drill name (lower-case letters, digits and dashes)' })
  drill?: string;

  @ApiPropertyOptional({ description: 'The `next` value of the previous page (a run id)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'after must be a run id' })
  @Min(1)
  after?: number;
}

export class DrillNameParam {
  @Matches(TARGET_NAME, { message: 'name must be a drill name (lower-case letters, digits and dashes)' })
  name: string;
}
