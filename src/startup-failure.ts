import { ConfigurationError } from './config/env';
import { PolicyError } from './config/policy.loader';
import { EmbeddedPostgresError } from './database/embedded-postgres';

/** Start-up problems a user can fix get a plain message and exit code 1, not a stack trace. */
export function reportStartupFailure(error: unknown): never {
  const explained = error instanceof ConfigurationError || error instanceof PolicyError || error instanceof EmbeddedPostgresError;
  process.stderr.write(`breakglass: cannot start.\n${explained ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
}
