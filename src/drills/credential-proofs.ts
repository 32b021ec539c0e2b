import { Injectable } from '@nestjs/common';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Client } from 'pg';
import { ServiceConfig } from '../config/config.providers';
import type { TargetPolicy } from '../config/policy';
import type { IssuedCredential } from '../credentials/credential.types';
import { Credentials } from '../credentials/credentials.service';
import { KeyStore } from '../credentials/key-store.service';

/** What a drill establishes about a credential, kept in the step's detail. */
export type ProofDetail = Record<string, string | number | boolean | null>;

/** The statement a drill runs with a postgres credential (recorded by the proxy, or by the drill for direct access). */
export const DRILL_STATEMENT = 'select 1 as breakglass_drill';

/**
 * Uses an issued credential the way its relying party would: a postgres login (through the proxy or
 * directly, as the credential says) running one statement; a JWT verified against the broker's own
 * JWKS (what a Kubernetes API server fetches) and by introspection. After revocation the same
 * attempt must fail.
 */
@Injectable()
export class CredentialProofs {
  constructor(
    private readonly keys: KeyStore,
    private readonly credentials: Credentials,
    private readonly config: ServiceConfig,
  ) {}

  async works(target: TargetPolicy, grantId: string, credential: IssuedCredential, timeoutMs: number): Promise<ProofDetail> {
    if (credential.type === 'jwt') {
      const { payload, protectedHeader } = await jwtVerify(credential.token, createLocalJWKSet(await this.keys.jwks()), {
        issuer: this.config.publicUrl,
        audience: target.credential.type === 'jwt' ? target.credential.audience : undefined,
      });
      if (payload.grant !== grantId) throw new Error(`the token's grant claim is ${String(payload.grant)}, not ${grantId}`);
      const introspection = await this.credentials.introspect(credential.token);
      if (!introspection.active) throw new Error('introspection answers active: false for a token just issued');
      return { alg: protectedHeader.alg, kid: protectedHeader.kid ?? null, jti: payload.jti ?? null, introspection: 'active' };
    }
    const rows = await withLogin(credential.url, timeoutMs, (client) => client.query(DRILL_STATEMENT));
    if (rows.rows[0]?.breakglass_drill !== 1) throw new Error(`${DRILL_STATEMENT} answered ${JSON.stringify(rows.rows)}`);
    return { access: 'access' in credential ? credential.access : 'direct', username: credential.username, statement: DRILL_STATEMENT };
  }

  /** Resolves when the credential is refused; rejects when it still works. */
  async dead(credential: IssuedCredential, timeoutMs: number): Promise<ProofDetail> {
    if (credential.type === 'jwt') {
      const introspection = await this.credentials.introspect(credential.token);
      if (introspection.active) throw new Error('introspection still answers active: true after the revocation');
      return { introspection: 'inactive' };
    }
    try {
      await withLogin(credential.url, timeoutMs, (client) => client.query(DRILL_STATEMENT));
    } catch (error) {
      const code = (error as { code?: string }).code ?? null;
      // Only a refused login proves the credential dead; a timeout or an unreachable server does not.
      if (code && /^28/.test(code)) return { refused: code, message: (error as Error).message };
      throw new Error(`the login after revocation failed for another reason than a refusal: ${(error as Error).message}`, { cause: error });
    }
    throw new Error('the login still works after the revocation');
  }
}

async function withLogin<T>(url: string, timeoutMs: number, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'breakglass-drill', query_timeout: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
