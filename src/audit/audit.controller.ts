import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { Answers } from '../common/api-schema';
import { AuditLog } from './audit-log.service';
import { AuditQuery } from './audit.dto';
import { AuditPage, ChainVerdict } from './audit.views';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
@Roles('compliance', 'security')
export class AuditController {
  constructor(private readonly auditLog: AuditLog) {}

  @Get()
  @ApiOperation({ summary: 'Audit events in seq order, each with its hashed fields, prevHash and hash' })
  @Answers(AuditPage)
  list(@Query() query: AuditQuery) {
    const { limit, after, ...filter } = query;
    return this.auditLog.list({ ...filter, afterSeq: after }, limit);
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the whole chain: { valid, count, headHash, firstInvalidSeq? }' })
  @Answers(ChainVerdict)
  verify() {
    return this.auditLog.verify();
  }
}
