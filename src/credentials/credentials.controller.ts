import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Public, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers } from '../common/api-schema';
import { ServiceConfig } from '../config/config.providers';
import { IntrospectBody } from './credentials.dto';
import { Credentials } from './credentials.service';
import { Introspection, JwkSet, KeyRotation, OpenIdConfiguration } from './credentials.views';
import { KeyStore } from './key-store.service';

@ApiTags('credentials')
@Controller()
export class CredentialsController {
  constructor(
    private readonly credentials: Credentials,
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
  ) {}

  @Public()
  @Get('.well-known/jwks.json')
  @ApiOperation({ summary: 'Public keys of the credential and evidence signing keys' })
  @Answers(JwkSet)
  jwks(): Promise<JwkSet> {
    return this.keys.jwks();
  }

  @Public()
  @Get('.well-known/breakglass-keys.json')
  @ApiOperation({ summary: 'Every evidence-signing key ever used (retired ones marked with retiredAt): what offline bundle verification trusts' })
  @Answers(JwkSet)
  keyHistory(): Promise<JwkSet> {
    return this.keys.evidenceKeyHistory();
  }

  @Public()
  @Get('.well-known/openid-configuration')
  @ApiOperation({ summary: 'Issuer metadata, so relying parties (e.g. a Kubernetes API server) can trust issued JWTs' })
  @Answers(OpenIdConfiguration)
  discovery(): OpenIdConfiguration {
    const issuer = this.config.publicUrl;
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/v1/credentials/introspect`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: this.keys.algorithmsInUse(),
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'groups', 'grant', 'target'],
    };
  }

  @ApiBearerAuth()
  @Post('v1/credentials/introspect')
  @HttpCode(200)
  @ApiOperation({ summary: 'RFC 7662 introspection: { active, sub, grant, target, exp, … } or { active: false }' })
  @Answers(Introspection)
  introspect(@Body() body: IntrospectBody): Promise<Introspection> {
    return this.credentials.introspect(body.token);
  }

  @ApiBearerAuth()
  @Roles('admin')
  @Post('v1/keys/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'New signing key; old keys stay in the JWKS until their tokens have expired' })
  @Answers(KeyRotation)
  rotate(@Caller() caller: Principal): Promise<KeyRotation> {
    return this.keys.rotate(caller.subject);
  }
}
