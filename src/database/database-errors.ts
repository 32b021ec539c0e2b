// Connection-level failures (server down, restarting, or shutting down) as opposed to query errors.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08006',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i;
// TypeORM releases a transaction's query runner when its connection dies; the next statement of that
// transaction then fails with this error rather than the connection error itself.
const RELEASED_RUNNER = 'QueryRunnerProviderAlreadyReleasedError';

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const candidate = error as { code?: string; message?: string; name?: string; driverError?: unknown };
  if (candidate.name === RELEASED_RUNNER) return true;
  if (candidate.driverError && isDatabaseUnavailable(candidate.driverError)) return true;
  if (candidate.code && UNAVAILABLE_CODES.has(candidate.code)) return true;
  return typeof candidate.message === 'string' && UNAVAILABLE_MESSAGES.test(candidate.message);
}

/** DATABASE_URL names a server the broker cannot log in to: said with the variable and the URL, never its password. */
export class DatabaseUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    const shown = new URL(url);
    if (shown.password) shown.password = '***';
    const reason = (cause as Error)?.message || String((cause as { code?: string })?.code ?? cause);
    super(`DATABASE_URL: cannot connect to ${shown.toString()}: ${reason}`);
    this.name = 'DatabaseUnreachable';
  }
}
