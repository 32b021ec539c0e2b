import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers } from '../common/api-schema';
import { DrillNameParam, DrillsQuery } from './drills.dto';
import { Drills } from './drills.service';
import { DrillOverview, DrillRunView } from './drills.views';

@ApiTags('drills')
@ApiBearerAuth()
@Controller('v1/drills')
export class DrillsController {
  constructor(private readonly drills: Drills) {}

  @Get()
  @Roles('security', 'compliance', 'admin')
  @ApiOperation({ summary: "The policy's drills, each target's last (and last passed) drill, and the history of runs, newest first" })
  @Answers(DrillOverview)
  list(@Query() query: DrillsQuery): Promise<DrillOverview> {
    return this.drills.overview({ drill: query.drill, beforeId: query.after }, query.limit);
  }

  @Post(':name/run')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run a drill now; answers the finished run (passed or failed, with every step)' })
  @Answers(DrillRunView)
  run(@Caller() caller: Principal, @Param() { name }: DrillNameParam): Promise<DrillRunView> {
    return this.drills.runNow(name, caller.subject);
  }
}
