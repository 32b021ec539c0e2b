import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** What a SCRAM-SHA-256 server keeps of a password (RFC 5802 / 7677), base64: never the password. */
export interface ScramSecret {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export function scramSha256Secret(password: string, iterations = 4096): ScramSecret {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash('sha256').update(clientKey).digest('base64'),
    serverKey: createHmac('sha256', salted).update('Server Key').digest('base64'),
  };
}

/**
 * The verifier PostgreSQL stores for a password, in its `SCRAM-SHA-256$…` form. Sending the verifier
 * instead of the password keeps the secret out of server logs (log_statement) entirely.
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  const { salt, storedKey, serverKey } = scramSha256Secret(password, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt}$${storedKey}:${serverKey}`;
}
