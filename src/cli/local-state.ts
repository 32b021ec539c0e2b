import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import type { KubernetesAccess } from './api-types';

// The CLI's own files (not the broker's data dir): grants requested from this machine, with their
// session token and credential (0600, like a kubeconfig), and the session spools.

export interface LocalGrant {
  id: string;
  broker: string;
  target: string;
  expiresAt: string;
  sessionToken: string;
  credential: { type: 'jwt'; token: string; kubernetes?: KubernetesAccess } | { type: 'postgres'; url: string; username: string; password: string };
}

export function cliHome(): string {
  return process.env.BREAKGLASS_HOME || path.join(homedir(), '.breakglass');
}

function privateDir(...parts: string[]): string {
  const dir = path.join(cliHome(), ...parts);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function spoolDir(): string {
  return privateDir('spool');
}

/** Where a grant requested from this machine is kept (ids are upper case, whatever case was typed). */
export function grantFile(id: string): string {
  return path.join(cliHome(), 'grants', `${id.trim().toUpperCase()}.json`);
}

/** Writes a file only its owner can read (credentials, tokens), in a directory only they can enter. */
export function writePrivateFile(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function saveGrant(grant: LocalGrant): string {
  return writePrivateFile(grantFile(grant.id), JSON.stringify(grant, null, 2));
}

/** Ids of the grants requested from this machine. */
export function localGrantIds(): string[] {
  const dir = path.join(cliHome(), 'grants');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -'.json'.length))
        .sort()
    : [];
}

export function loadGrant(id: string): LocalGrant | undefined {
  const file = grantFile(id);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalGrant) : undefined;
}

/** Environment a recorded command runs with: the credential in the forms tools expect. */
export function credentialEnvironment(grant: LocalGrant): Record<string, string> {
  const env: Record<string, string> = { BREAKGLASS_GRANT: grant.id, BREAKGLASS_EXPIRES_AT: grant.expiresAt };
  if (grant.credential.type === 'jwt') env.BREAKGLASS_JWT = grant.credential.token;
  else {
    const url = new URL(grant.credential.url);
    Object.assign(env, {
      DATABASE_URL: grant.credential.url,
      PGHOST: url.hostname,
      PGPORT: url.port || '5432',
      PGDATABASE: decodeURIComponent(url.pathname.slice(1)),
      PGUSER: grant.credential.username,
      PGPASSWORD: grant.credential.password,
    });
  }
  return env;
}
