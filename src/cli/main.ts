import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DevIssuer, isBrokerRole } from '../auth/dev-issuer';
import { parseDurationSeconds } from '../config/duration';
import { loadConfig } from '../config/env';
import type { BrokerRole } from '../config/policy.schema';
import { createLogger, openDatabase, startService } from '../service';
import { reportStartupFailure } from '../startup-failure';
import { ApiClient, ApiError } from './api-client';
import { verifyAuditChainRemotely } from './audit-verify';

// `breakglass`: the service itself (serve, migrate) and a client of its v1 API. BREAKGLASS_URL and
// BREAKGLASS_TOKEN select the server and the caller. Human output by default, --json for scripts.

const program = new Command()
  .name('breakglass')
  .description('Emergency access broker: break the glass, with more audit evidence than a normal change')
  .showHelpAfterError()
  .addOption(new Option('--url <url>', 'broker base URL').env('BREAKGLASS_URL').default('http://127.0.0.1:8080'))
  .addOption(new Option('--token <token>', 'bearer token of the caller').env('BREAKGLASS_TOKEN'))
  .option('--json', 'machine-readable output');

function client(): ApiClient {
  const { url, token } = program.opts<{ url: string; token?: string }>();
  return new ApiClient({ baseUrl: url, token });
}

function asJson(): boolean {
  return Boolean(program.opts<{ json?: boolean }>().json);
}

program
  .command('serve')
  .description('run the broker (same as npm start)')
  .action(async () => {
    const service = await startService(process.env).catch(reportStartupFailure);
    const shutdown = () => service.stop().finally(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

program
  .command('migrate')
  .description('apply pending database migrations, then exit')
  .action(async () => {
    const config = loadConfig(process.env);
    const database = await openDatabase(config, createLogger(config)).catch(reportStartupFailure);
    await database.close();
    console.log(asJson() ? JSON.stringify({ migrated: true }) : 'Database is up to date.');
  });

program
  .command('dev-token')
  .description('print a bearer token from the dev issuer in the data dir (AUTH_MODE=dev only)')
  .requiredOption('--sub <subject>', 'the caller, e.g. oncall-1')
  .requiredOption('--roles <roles>', 'comma-separated broker roles: engineer, security, compliance, admin', parseRoles)
  .option('--email <email>', 'email claim (used for on-call checks and requester notifications)')
  .option('--ttl <duration>', 'lifetime, e.g. 30m, 12h', parseDuration, 12 * 3600)
  .action(async (options: { sub: string; roles: BrokerRole[]; email?: string; ttl: number }) => {
    const config = loadConfig(process.env);
    const issuer = await DevIssuer.open(config.dataDir);
    const token = await issuer.mint({ subject: options.sub, roles: options.roles, email: options.email, ttlSeconds: options.ttl });
    console.log(asJson() ? JSON.stringify({ token, subject: options.sub, roles: options.roles, expiresInSeconds: options.ttl }) : token);
  });

const audit = program.command('audit').description('the hash-chained audit log');
audit
  .command('verify')
  .description('download the audit log and recompute every hash locally (needs compliance or security)')
  .action(async () => {
    const verdict = await verifyAuditChainRemotely(client());
    if (asJson()) console.log(JSON.stringify(verdict));
    else if (verdict.valid) console.log(`Audit chain valid: ${verdict.count} events, head ${verdict.headHash}`);
    else console.log(`Audit chain BROKEN at seq ${verdict.firstInvalidSeq} (${verdict.count} events read)`);
    process.exitCode = verdict.valid ? 0 : 2;
  });

function parseRoles(value: string): BrokerRole[] {
  const roles = value.split(',').map((role) => role.trim()).filter(Boolean);
  const unknown = roles.filter((role) => !isBrokerRole(role));
  if (!roles.length || unknown.length) throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ') || '(none given)'}; use engineer, security, compliance, admin`);
  return roles as BrokerRole[];
}

function parseDuration(value: string): number {
  try {
    const seconds = parseDurationSeconds(value);
    if (seconds <= 0) throw new Error('must be positive');
    return seconds;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ApiError) {
    process.stderr.write(`breakglass: ${error.message}${error.status ? ` (HTTP ${error.status}, ${error.code})` : ''}\n`);
    process.exit(error.status === 0 ? 3 : 1);
  }
  process.stderr.write(`breakglass: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
