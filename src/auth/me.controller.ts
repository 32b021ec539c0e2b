import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { grantAbilitiesOf } from '../access/grant-access';
import { Answers } from '../common/api-schema';
import { ServiceConfig } from '../config/config.providers';
import { CliLoginConfig, MeView } from './auth.views';
import { Caller, Public } from './decorators';
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

/** Lets `breakglass login` find the identity provider from BREAKGLASS_URL alone (nothing here is secret). */
@ApiTags('auth')
@Controller('v1/auth/cli')
export class CliLoginController {
  constructor(private readonly config: ServiceConfig) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'How the CLI signs in: auth mode, OIDC issuer, CLI client id (device flow) and audience' })
  @Answers(CliLoginConfig)
  cliLogin(): CliLoginConfig {
    const { auth, env } = this.config;
    return auth.mode === 'oidc'
      ? { authMode: 'oidc', issuer: auth.issuer, clientId: env.OIDC_CLI_CLIENT_ID ?? null, audience: auth.audience }
      : { authMode: 'dev', issuer: null, clientId: null, audience: null };
  }
}
