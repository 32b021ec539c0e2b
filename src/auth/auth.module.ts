import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { AuthGuard } from './auth.guard';
import { DevAuthenticator, OidcAuthenticator } from './authenticators';
import { CallerAuthenticator } from './caller-authenticator';
import { DevIssuer } from './dev-issuer';
import { DevTokensController } from './dev-tokens.controller';
import { CliLoginController, MeController } from './me.controller';

@Module({
  controllers: [DevTokensController, MeController, CliLoginController],
  providers: [
    {
      provide: CallerAuthenticator,
      inject: [ServiceConfig, LoadedPolicy],
      useFactory: async (config: ServiceConfig, policy: LoadedPolicy) =>
        config.auth.mode === 'oidc' ? new OidcAuthenticator(config.auth, policy) : new DevAuthenticator(await DevIssuer.open(config.dataDir)),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class AuthModule {}
