import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ServiceConfig } from '../config/config.providers';
import type { TargetPolicy } from '../config/policy';
import type { GrantSubject, IssuedCredential } from './credential.types';
import { CredentialsRepository, type CredentialRecord, type NewCredential } from './credentials.repository';
import { KeyStore } from './key-store.service';
import { JwtCredentials } from './providers/jwt-credentials';
import { PostgresCredentials, type RoleCleanup } from './providers/postgres-credentials';

export interface IssuedForGrant {
  credential: IssuedCredential;
  sessionToken: string;
  records: NewCredential[];
  /** Undoes provider-side effects when the grant transaction does not commit (no orphan roles). */
  discard(): Promise<void>;
}

export interface RevocationOutcome {
  credential: CredentialRecord;
  error: string | null;
  /** What removing a postgres role neutralised and handed over (absent for JWTs and failures). */
  cleanup?: RoleCleanup;
}

export type IntrospectionResult =
  | { active: false }
  | {
      active: true;
      token_type: 'Bearer';
      purpose: 'access' | 'session';
      sub: string;
      grant: string;
      target: string;
      iss: string;
      aud: string | string[];
      jti: string;
      iat: number;
      exp: number;
      groups?: string[];
    };

/** Issues, extends, revokes and introspects the credentials of grants, whatever their provider. */
@Injectable()
export class Credentials {
  constructor(
    private readonly repository: CredentialsRepository,
    private readonly jwt: JwtCredentials,
    private readonly postgres: PostgresCredentials,
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
  ) {}

  /** Runs before the grant transaction (a postgres role must exist before the grant says so). */
  async issue(grant: GrantSubject, target: TargetPolicy, issuedAt: Date): Promise<IssuedForGrant> {
    const session = await this.jwt.issueSession(grant, target.maxTotalDurationSeconds);
    if (target.credential.type === 'jwt') {
      const access = await this.jwt.issueAccess(grant, target, target.credential, issuedAt);
      return { credential: access.credential, sessionToken: session.credential, records: [access.record, session.record], discard: async () => undefined };
    }
    const access = await this.postgres.create(grant, target, issuedAt);
    return {
      credential: access.credential,
      sessionToken: session.credential,
      records: [access.record, session.record],
      discard: async () => void (await this.postgres.remove(target, access.record)),
    };
  }

  /** Stores the metadata of issued credentials, in the grant's transaction. */
  record(tx: EntityManager, records: NewCredential[]): Promise<void> {
    return this.repository.insert(tx, records);
  }

  /** Credential metadata of a grant (never secrets). */
  ofGrant(grantId: string): Promise<CredentialRecord[]> {
    return this.repository.forGrant(grantId);
  }

  /**
   * Moves the credential's validity to the new expiry. A JWT cannot change its `exp`, so a jwt
   * target gets a fresh token (returned once); a postgres role gets a new VALID UNTIL.
   */
  async extend(
    tx: EntityManager,
    grant: GrantSubject,
    target: TargetPolicy,
    issuedAt: Date,
  ): Promise<{ credential?: IssuedCredential; issued: NewCredential[] }> {
    const live = (await this.repository.forGrant(grant.id, tx)).filter((c) => c.purpose === 'access' && !c.revokedAt);
    if (target.credential.type === 'jwt') {
      const access = await this.jwt.issueAccess(grant, target, target.credential, issuedAt);
      await this.repository.insert(tx, [access.record]);
      return { credential: access.credential, issued: [access.record] };
    }
    for (const credential of live) {
      await this.postgres.extend(target, credential, grant.expiresAt);
      await this.repository.extend(tx, credential.id, grant.expiresAt);
    }
    return { issued: [] };
  }

  /**
   * Makes every access credential of the grant unusable at its provider. A provider failure is
   * recorded (revoke_failed) and retried by the reconciler; it never keeps the grant active.
   */
  async revokeAll(tx: EntityManager, grantId: string, target: TargetPolicy | undefined): Promise<RevocationOutcome[]> {
    const live = (await this.repository.forGrant(grantId, tx)).filter((c) => c.purpose === 'access' && !c.revokedAt);
    const outcomes: RevocationOutcome[] = [];
    for (const credential of live) {
      let error: string | null = null;
      let cleanup: RoleCleanup | undefined;
      if (credential.type === 'postgres') {
        if (!target) error = 'target no longer in the policy';
        else cleanup = await this.postgres.remove(target, credential).catch((failure: Error) => void (error = failure.message));
      }
      await this.repository.markRevoked(credential.id, { error }, tx);
      outcomes.push({ credential, error, ...(cleanup ? { cleanup } : {}) });
    }
    return outcomes;
  }

  /** RFC 7662: active only for a genuine, unexpired, unrevoked token of an active grant. */
  async introspect(token: string): Promise<IntrospectionResult> {
    let payload;
    try {
      payload = await this.keys.verify(token, { issuer: this.config.publicUrl });
    } catch {
      return { active: false };
    }
    if (typeof payload.jti !== 'string') return { active: false };
    const credential = await this.repository.byJti(payload.jti);
    if (!credential || credential.revokedAt || credential.grantStatus !== 'active') return { active: false };
    if (credential.expiresAt.getTime() <= Date.now()) return { active: false };
    const result: IntrospectionResult = {
      active: true,
      token_type: 'Bearer',
      purpose: credential.purpose,
      sub: payload.sub!,
      grant: credential.grantId,
      target: credential.target,
      iss: payload.iss!,
      aud: payload.aud!,
      jti: payload.jti,
      iat: payload.iat!,
      exp: payload.exp!,
    };
    if (Array.isArray(payload.groups)) result.groups = payload.groups as string[];
    return result;
  }
}
