import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { TimeBound } from '../common/time-range';

export class ExportQuery {
  @TimeBound('At or after (ISO-8601)')
  from?: string;

  @TimeBound('Strictly before (ISO-8601)')
  to?: string;

  @ApiPropertyOptional({ enum: ['jsonl', 'csv'], default: 'jsonl' })
  @IsOptional()
  @IsIn(['jsonl', 'csv'])
  format?: 'jsonl' | 'csv';

  @ApiPropertyOptional({ description: 'Only events tagged with this control, e.g. SOC2:CC8.1' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]+:[A-Za-z0-9.()-]+$/, { message: 'control must look like FRAMEWORK:ID, e.g. SOC2:CC8.1' })
  control?: string;
}

export class ReportQuery {
  @TimeBound('Grants activated at or after (ISO-8601); default 30 days before `to`')
  from?: string;

  @TimeBound('Grants activated strictly before (ISO-8601); default now')
  to?: string;

  @ApiPropertyOptional({ enum: ['json', 'md', 'html'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'md', 'html'])
  format?: 'json' | 'md' | 'html';
}
