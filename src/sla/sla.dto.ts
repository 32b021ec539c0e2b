import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '../audit/audit.dto';
import { RequiredText } from '../common/required-text';
import { CLOCK_STATES, type ClockState } from './sla.views';

export class SlaQuery extends PageQuery {
  @ApiPropertyOptional({ enum: CLOCK_STATES })
  @IsOptional()
  @IsIn(CLOCK_STATES)
  state?: ClockState;

  @ApiPropertyOptional({ enum: ['retro_pr', 'review'] })
  @IsOptional()
  @IsIn(['retro_pr', 'review'])
  kind?: 'retro_pr' | 'review';

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^BG-\d{4}-\d{6,}$/, { message: 'grant must be a grant id such as BG-2026-000042' })
  grant?: string;

  @ApiPropertyOptional({ description: 'The `next` value of the previous page (a clock id)' })
  @IsOptional()
  @IsUUID()
  after?: string;
}

export class ClockIdParam {
  @IsUUID('all', { message: 'id must be a clock id (uuid)' })
  id: string;
}

export class WaiveBody {
  @ApiProperty({ description: 'Why compliance accepts the clock as not applicable' })
  @RequiredText({ min: 10, max: 4000 })
  reason: string;
}

export class LinkPullRequestBody {
  @ApiProperty({ example: 'https://github.com/acme/infra/pull/42' })
  @IsString()
  @MaxLength(2000)
  @Matches(/^https:\/\/\S+\/(pull|merge_requests|pulls)\/\d+\/?$/, { message: 'url must be a GitHub pull request or GitLab merge request URL' })
  url: string;
}
