import { ApiProperty } from '@nestjs/swagger';
import { GrantAbilities } from '../access/access.views';
import { Nested, NullableText, Text } from '../common/api-schema';
import { BROKER_ROLES, type BrokerRole } from '../config/broker-roles';

/** GET /v1/me: who the bearer token says the caller is, and what they may do to grants. */
export class MeView {
  @Text()
  subject: string;
  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...BROKER_ROLES] }, required: true, description: 'IdP groups mapped by the policy' })
  roles: BrokerRole[];
  @NullableText()
  email: string | null;
  @Nested(() => GrantAbilities)
  grantAccess: GrantAbilities;
}

/** GET /v1/auth/cli: what `breakglass login` needs to sign in against this broker's identity provider. */
export class CliLoginConfig {
  @ApiProperty({ enum: ['dev', 'oidc'] })
  authMode: 'dev' | 'oidc';
  @NullableText({ description: 'OIDC_ISSUER (oidc mode)' })
  issuer: string | null;
  @NullableText({ description: 'OIDC_CLI_CLIENT_ID: the public client of the device authorization grant (RFC 8628); null = not configured' })
  clientId: string | null;
  @NullableText({ description: 'OIDC_AUDIENCE: the audience the broker accepts' })
  audience: string | null;
}

/** A dev token (AUTH_MODE=dev on loopback only). */
export class DevToken {
  @Text()
  token: string;
}
