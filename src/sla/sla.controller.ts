import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GrantIdParam } from '../access/grant-id';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers } from '../common/api-schema';
import { PullRequests } from './pull-requests.service';
import { SlaClocks } from './sla-clocks.service';
import { ClockIdParam, LinkPullRequestBody, SlaQuery, WaiveBody } from './sla.dto';
import { ClockPage, ClockView, LinkAnswer } from './sla.views';

@ApiTags('sla')
@ApiBearerAuth()
@Controller()
export class SlaController {
  constructor(
    private readonly clocks: SlaClocks,
    private readonly pullRequests: PullRequests,
  ) {}

  @Get('v1/sla')
  @Roles('security', 'compliance')
  @ApiOperation({ summary: 'SLA clocks by due time, with their escalation steps' })
  @Answers(ClockPage)
  list(@Query() query: SlaQuery) {
    const { limit, after, ...filter } = query;
    return this.clocks.list({ ...filter, afterId: after }, limit);
  }

  @Post('v1/sla/:id/waive')
  @Roles('compliance')
  @HttpCode(200)
  @ApiOperation({ summary: 'Waive a running or breached clock, with a justification' })
  @Answers(ClockView)
  waive(@Caller() caller: Principal, @Param() { id }: ClockIdParam, @Body() body: WaiveBody) {
    return this.clocks.waive(caller.subject, id, body.reason);
  }

  @Post('v1/grants/:id/pull-requests')
  @HttpCode(200)
  @ApiOperation({ summary: 'Link a PR by hand (requester or security); audited like a webhook link' })
  @Answers(LinkAnswer)
  link(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Body() body: LinkPullRequestBody) {
    return this.pullRequests.linkManually(caller, id, body.url);
  }
}
