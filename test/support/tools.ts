import { spawnSync } from 'node:child_process';

/**
 * Whether an optional Debian tool (go, rsyslogd, promtool) is installed, so tests that need it can
 * skip on a developer machine. `.ci/run` installs them all and sets CI=1: there a missing tool
 * fails the suite instead of skipping it quietly (as test/dashboard does for chromium).
 */
export function hasTool(command: string, args: string[] = ['--version']): boolean {
  const available = spawnSync(command, args, { stdio: 'ignore' }).error === undefined;
  if (!available && process.env.CI) {
    throw new Error(`${command} is required under CI but not installed: .ci/run installs its Debian package`);
  }
  return available;
}

/** Whether python3 can import `module` (a Debian python3-* package); under CI a missing one fails. */
export function hasPythonModule(module: string): boolean {
  const available = spawnSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
  if (!available && process.env.CI) throw new Error(`python3 cannot import ${module} under CI: .ci/run installs its Debian package`);
  return available;
}
