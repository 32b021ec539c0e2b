import type { BrokerRole } from '../../config/broker-roles';
import { parseDuration, parseRoles, type Cli } from '../cli-context';

// The service (NestJS, TypeORM, the validators) is loaded by the commands that run it, not by every
// CLI start: `breakglass credential kubernetes` runs before each kubectl call, and loading the service
// tripled its start-up time.
const service = () => import('../../service');
const environment = () => import('../../config/env');

/** serve, migrate, dev-token: the service itself and its dev tokens. */
export function registerServiceCommands(cli: Cli): void {
  const { program, asJson } = cli;
  program
    .command('serve')
    .description('run the broker (same as npm start)')
    .action(async () => {
      const { startService } = await service();
      const { reportStartupFailure } = await import('../../startup-failure');
      const running = await startService(process.env).catch(reportStartupFailure);
      const shutdown = (signal: NodeJS.Signals) => running.stop(signal).finally(() => process.exit(0));
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  program
    .command('migrate')
    .description('apply pending database migrations, then exit')
    .action(async () => {
      const { createLogger, openDatabase } = await service();
      const { reportStartupFailure } = await import('../../startup-failure');
      const config = (await environment()).loadConfig(process.env);
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
      const config = (await environment()).loadConfig(process.env);
      const { DevIssuer } = await import('../../auth/dev-issuer');
      // A new key here would sign tokens no running broker accepts: the broker creates the key at its
      // first start, in its data dir, and dev-token must use that one.
      if (!DevIssuer.existsIn(config.dataDir)) {
        throw new Error(
          `no dev issuer key in ${config.dataDir}: start the broker first, or set BREAKGLASS_DATA_DIR to the data dir the broker runs with ` +
            '(with docker compose: `docker compose exec breakglass breakglass dev-token …`)',
        );
      }
      const issuer = await DevIssuer.open(config.dataDir);
      process.stderr.write(`breakglass: signed with the dev issuer key ${issuer.keyId} in ${config.dataDir}\n`);
      const token = await issuer.mint({ subject: options.sub, roles: options.roles, email: options.email, ttlSeconds: options.ttl });
      console.log(asJson() ? JSON.stringify({ token, subject: options.sub, roles: options.roles, expiresInSeconds: options.ttl }) : token);
    });
}
