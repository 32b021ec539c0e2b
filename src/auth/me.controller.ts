import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { grantAbilitiesOf } from '../access/grant-access';
import { Answers } from '../common/api-schema';
import { MeView } from './auth.views';
import { Caller } from './decorators';
import type { Principal } from './principal';

/** Who the bearer token says the caller is, with broker roles resolved (the dashboard shows what they may do). */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'The caller: subject, broker roles (IdP groups mapped by the policy), email' })
  @Answers(MeView)
  me(@Caller() caller: Principal): MeView {
    return { subject: caller.subject, roles: caller.roles, email: caller.email ?? null, grantAccess: grantAbilitiesOf(caller) };
  }
}
