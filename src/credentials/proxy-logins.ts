import { Injectable } from '@nestjs/common';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget, type TargetPolicy } from '../config/policy';
import { CredentialsRepository, type ProxyLoginRecord } from './credentials.repository';
import { PostgresCredentials } from './providers/postgres-credentials';
import type { ScramSecret } from './providers/scram';

/** A proxy login that may open a session now. */
export interface ProxyLogin {
  grantId: string;
  target: TargetPolicy;
  requester: string;
  username: string;
  database: string | null;
  scram: ScramSecret;
  expiresAt: Date;
  record: ProxyLoginRecord;
}

export type LoginRefusal = 'unknown_login' | 'grant_ended' | 'target_not_proxied';

/** The credentials side of the PostgreSQL proxy: who may log in, and how to reach the target as them. */
@Injectable()
export class ProxyLogins {
  constructor(
    private readonly repository: CredentialsRepository,
    private readonly postgres: PostgresCredentials,
    private readonly policy: LoadedPolicy,
  ) {}

  async find(username: string): Promise<ProxyLogin | { refused: LoginRefusal }> {
    const record = await this.repository.proxyLogin(username);
    if (!record) return { refused: 'unknown_login' };
    if (record.grantStatus !== 'active' || record.revokedAt || record.expiresAt.getTime() <= Date.now()) return { refused: 'grant_ended' };
    const target = findTarget(this.policy, record.target);
    if (!record.scram || !record.sealedUpstreamPassword || target?.credential.type !== 'postgres' || target.credential.access !== 'proxy')
      return { refused: 'target_not_proxied' };
    return {
      grantId: record.grantId,
      target,
      requester: record.requester,
      username: record.username,
      database: record.database,
      scram: record.scram,
      expiresAt: record.expiresAt,
      record,
    };
  }

  /** The connection URL of the temporary role itself: unsealed here, used by the proxy, never shown. */
  upstreamUrl(login: ProxyLogin): string {
    const password = this.postgres.upstreamPassword(login.username, login.record.sealedUpstreamPassword!);
    return this.postgres.upstreamUrl(login.target, login.username, password, login.database);
  }

  endedGrants(grantIds: string[]) {
    return this.repository.endedGrants(grantIds);
  }
}
