import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GrantIdParam } from '../access/grant-id';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers } from '../common/api-schema';
import { GrantRequestRateLimit } from '../common/rate-limit';
import { GrantNotifications } from '../notifications/notifications.views';
import { PullRequestLinks } from '../sla/sla.views';
import { GrantCreated, GrantDetail, GrantExtended, GrantPage, GrantView } from './grant-views';
import { ExtendGrantBody, GrantsQuery, RequestGrantBody, RevokeGrantBody } from './grants.dto';
import { Grants } from './grants.service';

@ApiTags('grants')
@ApiBearerAuth()
@Controller('v1/grants')
export class GrantsController {
  constructor(private readonly grants: Grants) {}

  @Post()
  @Roles('engineer')
  @GrantRequestRateLimit()
  @Answers(GrantCreated, { status: 201 })
  @ApiOperation({ summary: 'Break the glass: policy check, credential, clocks, audit — the credential is returned once' })
  request(@Caller() caller: Principal, @Body() body: RequestGrantBody) {
    return this.grants.request(caller, body);
  }

  @Get()
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'Grants, newest first (engineers: their own)' })
  @Answers(GrantPage)
  list(@Caller() caller: Principal, @Query() query: GrantsQuery) {
    return this.grants.list(caller, query);
  }

  @Get(':id')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'One grant, with what the GitOps reconcilers showed about it' })
  @Answers(GrantDetail)
  get(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.grants.getWithGitops(caller, id);
  }

  @Get(':id/pull-requests')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'PR links of the grant (webhook delivery ids, merge commit)' })
  @Answers(PullRequestLinks)
  pullRequests(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.grants.pullRequestsOf(caller, id);
  }

  @Get(':id/notifications')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'Notifications about the grant and their delivery state (attempts, last error)' })
  @Answers(GrantNotifications)
  notifications(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.grants.notificationsOf(caller, id);
  }

  @Post(':id/extend')
  @HttpCode(200)
  @ApiOperation({ summary: 'More time with a fresh reason, capped by maxTotalDuration (requester only)' })
  @Answers(GrantExtended)
  extend(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Body() body: ExtendGrantBody) {
    return this.grants.extend(caller, id, body);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'End the grant now: the credential stops working at once (requester, security, admin)' })
  @Answers(GrantView)
  revoke(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Body() body: RevokeGrantBody) {
    return this.grants.revoke(caller, id, body.reason);
  }
}
