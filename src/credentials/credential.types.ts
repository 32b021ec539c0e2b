import { Int, NullableText, Nested, OneOf, Text, Timestamp } from '../common/api-schema';
import type { NewCredential } from './credentials.repository';

/** What the credential providers need to know about a grant. */
export interface GrantSubject {
  id: string;
  target: string;
  requester: string;
  role: string | null;
  activatedAt: Date;
  expiresAt: Date;
}

/** P2.3: where a jwt target's token is used, for `breakglass kubeconfig` (targets with `kubernetes:`). */
export class KubernetesAccess {
  @Text()
  cluster: string;
  @Text()
  server: string;
  @NullableText({ description: 'Base64 PEM of the cluster CA, null when the system roots apply' })
  certificateAuthorityData: string | null;
  @Text({ description: "The username the cluster maps from the token: the target's usernamePrefix + the requester" })
  username: string;
}

export class JwtCredential {
  @OneOf(['jwt'])
  type: 'jwt';
  @Text({ description: 'The signed JWT (shown once)' })
  token: string;
  @Timestamp()
  expiresAt: string;
  @Nested(() => KubernetesAccess, { optional: true, description: 'Targets with `kubernetes:`' })
  kubernetes?: KubernetesAccess;
}

export class PostgresCredential {
  @OneOf(['postgres'])
  type: 'postgres';
  @Text()
  username: string;
  @Text({ description: 'Shown once' })
  password: string;
  @Text({ description: 'A libpq URL with the password' })
  url: string;
  @Timestamp()
  expiresAt: string;
}

/** P2.2: a login valid only at the broker's recording proxy. */
export class ProxyPostgresCredential {
  @OneOf(['postgres'])
  type: 'postgres';
  @OneOf(['proxy'])
  access: 'proxy';
  @Text()
  username: string;
  @Text({ description: 'Shown once' })
  password: string;
  @Text()
  host: string;
  @Int()
  port: number;
  @Text()
  database: string;
  @Text({ description: 'A libpq URL to the proxy, with the password' })
  url: string;
  @Timestamp()
  expiresAt: string;
}

/** The credential as returned to the requester, once (docs/api.md, "Breaking the glass"). */
export type IssuedCredential = JwtCredential | PostgresCredential | ProxyPostgresCredential;
export const ISSUED_CREDENTIAL_TYPES = [JwtCredential, PostgresCredential, ProxyPostgresCredential];

export interface Issued<C> {
  credential: C;
  record: NewCredential;
}
