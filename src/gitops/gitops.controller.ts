import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GrantIdParam } from '../access/grant-id';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers } from '../common/api-schema';
import { Gitops } from './gitops.service';
import { PauseRecord } from './gitops.views';

/** The pause helper's record: reconciliation of a grant's scope suspended and resumed (docs/gitops.md). */
@ApiTags('gitops')
@ApiBearerAuth()
@Controller('v1/grants/:id/gitops')
export class GitopsController {
  constructor(private readonly gitops: Gitops) {}

  @Post('paused')
  @HttpCode(200)
  @Roles('engineer', 'security')
  @ApiOperation({ summary: 'Record that reconciliation of the grant target’s GitOps scope was suspended (requester or security)' })
  @Answers(PauseRecord)
  paused(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.gitops.recordPause(caller, id, 'paused');
  }

  @Post('resumed')
  @HttpCode(200)
  @Roles('engineer', 'security')
  @ApiOperation({ summary: 'Record that reconciliation was resumed (requester or security)' })
  @Answers(PauseRecord)
  resumed(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.gitops.recordPause(caller, id, 'resumed');
  }
}
