import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './ports';

/**
 * A separate target server from Debian's `postgresql` package (not the embedded binaries the broker
 * itself runs on), as a customer's database would be. .ci/run installs the package when missing.
 */
export interface TargetServer {
  /** Superuser URL of the server's `postgres` database (what a policy's adminUrl holds). */
  adminUrl: string;
  /** The same server and credentials, another database. */
  urlOf(database: string, user?: { name: string; password: string }): string;
  stop(): Promise<void>;
}

export function debianPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

export async function startTargetServer(): Promise<TargetServer> {
  const binDir = debianPostgresBinDir();
  if (!binDir) throw new Error("Debian's PostgreSQL server is not installed (apt-get install postgresql): the target-server tests need it");
  const root = mkdtempSync(path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'target-'));
  const server = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: await freePort(), throwaway: true, binDir });
  const adminUrl = await server.start();
  return {
    adminUrl,
    urlOf(database, user) {
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      if (user) {
        url.username = user.name;
        url.password = user.password;
      }
      return url.toString();
    },
    stop: () => server.stop(),
  };
}
