import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ServiceConfig } from '../../config/config.providers';
import type { CredentialPolicy, TargetPolicy } from '../../config/policy';
import type { GrantSubject, Issued, IssuedCredential } from '../credential.types';
import { KeyStore, SESSION_TOKEN_GRACE_SECONDS } from '../key-store.service';

export const SESSION_AUDIENCE = 'breakglass-session';

export function fingerprintOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** JWTs: the access credential of `jwt` targets (the target's algorithm), and every grant's session-recorder token (EdDSA). */
@Injectable()
export class JwtCredentials {
  constructor(
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
  ) {}

  async issueAccess(
    grant: GrantSubject,
    target: Pick<TargetPolicy, 'kubernetes'>,
    policy: Extract<CredentialPolicy, { type: 'jwt' }>,
    issuedAt: Date,
  ): Promise<Issued<Extract<IssuedCredential, { type: 'jwt' }>>> {
    const jti = randomUUID();
    // A requested role narrows the groups to that one (it was checked against the policy).
    const groups = grant.role ? [grant.role] : policy.groups;
    const { token, kid } = await this.keys.sign(
      { grant: grant.id, target: grant.target, groups },
      { issuer: this.config.publicUrl, subject: grant.requester, audience: policy.audience, jti, issuedAt, expiresAt: grant.expiresAt },
      policy.algorithm,
    );
    const cluster = target.kubernetes;
    return {
      credential: {
        type: 'jwt',
        token,
        expiresAt: grant.expiresAt.toISOString(),
        // What `breakglass kubeconfig` writes, and the username the cluster will see (docs/kubernetes.md).
        ...(cluster
          ? {
              kubernetes: {
                cluster: cluster.cluster,
                server: cluster.server,
                certificateAuthorityData: cluster.certificateAuthorityData,
                username: `${cluster.usernamePrefix}${grant.requester}`,
              },
            }
          : {}),
      },
      record: jwtRecord(grant.id, 'access', { token, jti, kid }, issuedAt, grant.expiresAt),
    };
  }

  /**
   * The session recorder's token. It outlives the grant (its maximum total duration plus a grace
   * period) so events recorded before the end can still be flushed late; ingest enforces the end.
   */
  async issueSession(grant: GrantSubject, maxTotalDurationSeconds: number): Promise<Issued<string>> {
    const jti = randomUUID();
    const expiresAt = new Date(grant.activatedAt.getTime() + (maxTotalDurationSeconds + SESSION_TOKEN_GRACE_SECONDS) * 1000);
    const { token, kid } = await this.keys.sign(
      { grant: grant.id, target: grant.target },
      { issuer: this.config.publicUrl, subject: grant.requester, audience: SESSION_AUDIENCE, jti, issuedAt: grant.activatedAt, expiresAt },
    );
    return {
      credential: token,
      record: jwtRecord(grant.id, 'session', { token, jti, kid }, grant.activatedAt, expiresAt),
    };
  }
}

/** What is stored of an issued JWT: its ids and a fingerprint, never the token. */
function jwtRecord(grantId: string, purpose: 'access' | 'session', jwt: { token: string; jti: string; kid: string }, issuedAt: Date, expiresAt: Date) {
  const { token, jti, kid } = jwt;
  return { grantId, purpose, type: 'jwt' as const, jti, kid, username: null, database: null, fingerprint: fingerprintOf(token), issuedAt, expiresAt };
}
