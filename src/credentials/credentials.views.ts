import { ApiProperty } from '@nestjs/swagger';
import { Bool, FreeObjects, Int, ListOf, OneOf, Text, Texts } from '../common/api-schema';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './signing-keys.repository';

/** The issuer's public keys (RFC 7517 JWK Set). */
export class JwkSet {
  @FreeObjects({ description: 'RFC 7517 JWKs, each with kid, alg and use' })
  keys: Record<string, unknown>[];
}

/** OpenID Provider metadata, so relying parties (a Kubernetes API server) can trust issued JWTs. */
export class OpenIdConfiguration {
  @Text()
  issuer: string;
  @Text()
  jwks_uri: string;
  @Text()
  introspection_endpoint: string;
  @Texts()
  response_types_supported: string[];
  @Texts()
  subject_types_supported: string[];
  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...SIGNING_ALGORITHMS] }, required: true })
  id_token_signing_alg_values_supported: SigningAlgorithm[];
  @Texts()
  claims_supported: string[];
}

/** RFC 7662: `{ active: false }` for any token that is not a live breakglass credential, else its claims. */
export class Introspection {
  @Bool()
  active: boolean;
  @OneOf(['Bearer'], { optional: true })
  token_type?: 'Bearer';
  @OneOf(['access', 'session'], { optional: true, description: 'access: the grant credential; session: the session-recorder token' })
  purpose?: 'access' | 'session';
  @Text({ optional: true })
  sub?: string;
  @Text({ optional: true })
  grant?: string;
  @Text({ optional: true })
  target?: string;
  @Text({ optional: true })
  iss?: string;
  @ApiProperty({ required: false, oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] })
  aud?: string | string[];
  @Text({ optional: true })
  jti?: string;
  @Int({ optional: true })
  iat?: number;
  @Int({ optional: true })
  exp?: number;
  @Texts({ optional: true })
  groups?: string[];
}

export class SigningKeyRef {
  @ApiProperty({ enum: [...SIGNING_ALGORITHMS], required: true })
  alg: SigningAlgorithm;
  @Text()
  kid: string;
}

export class KeyRotation {
  @Text({ description: 'The new EdDSA key (evidence bundles, session tokens)' })
  kid: string;
  @Texts({ description: 'Keys retired now; published until their tokens have expired' })
  retired: string[];
  @ListOf(() => SigningKeyRef, { description: 'The new key of every algorithm in use' })
  keys: SigningKeyRef[];
}
