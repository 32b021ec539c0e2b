import { ConfigurationError } from './config/env';
import { PolicyError } from './config/policy.loader';
import { MasterKeyMismatch } from './credentials/master-key';
import { DatabaseUnreachable } from './database/database-errors';
import { EmbeddedPostgresError } from './database/embedded-postgres';

/** Start-up problems a user can fix get a plain message and exit code 1, not a stack trace. */
export function reportStartupFailure(error: unknown): never {
  const explained = [ConfigurationError, PolicyError, EmbeddedPostgresError, DatabaseUnreachable, MasterKeyMismatch].some((kind) => error instanceof kind);
  process.stderr.write(`breakglass: cannot start.\n${explained ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
}
