import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(REPO_ROOT, 'dist/src/main.js');
export const CLI = path.join(REPO_ROOT, 'bin/breakglass.js');

export interface ServiceProcess {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** The built service (`npm start` minus the build) as a real process; needs `npm run build` first. */
export function spawnService(env: NodeJS.ProcessEnv): ServiceProcess {
  return spawnNode([MAIN], env);
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv): ServiceProcess {
  return spawnNode([CLI, ...args], env);
}

/** Runs the CLI to its end, with `input` on stdin: its exit code and what it wrote. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, input = '') {
  const run = spawnCli(args, env);
  run.child.stdin?.end(input);
  const code = await run.exited;
  return { code, output: run.output(), stdout: run.stdout(), stderr: run.stderr() };
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): ServiceProcess {
  // No rate limits by default, as in test-service.ts: load and fault suites repeat requests on purpose.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'warn',
      BREAKGLASS_RATE_LIMIT_GRANTS: '0',
      BREAKGLASS_RATE_LIMIT_WEBHOOKS: '0',
      BREAKGLASS_PG_PROXY_PORT: '0',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => ((output += chunk), (stdout += chunk)));
  child.stderr!.on('data', (chunk) => ((output += chunk), (stderr += chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Polls `GET /readyz` until 200; fails with the process output if it exits or times out. */
export async function waitUntilReady(baseUrl: string, service: ServiceProcess, timeoutMs = 30000): Promise<number> {
  const started = Date.now();
  let exitCode: number | null | undefined;
  void service.exited.then((code) => (exitCode = code));
  while (Date.now() - started < timeoutMs) {
    if (exitCode !== undefined) throw new Error(`service exited with ${exitCode} before it was ready:\n${service.output()}`);
    try {
      const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service not ready within ${timeoutMs} ms:\n${service.output()}`);
}
