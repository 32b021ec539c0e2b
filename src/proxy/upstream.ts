import { connect, type Socket } from 'node:net';
import { Client } from 'pg';

export interface Upstream {
  socket: Socket;
  /** The server's ParameterStatus values (server_version, client_encoding, …), passed on to the client. */
  parameters: [string, string][];
  processId: number;
  secretKey: number;
  host: string;
  port: number;
}

const CONNECT_TIMEOUT_MS = 5000;

/**
 * Connects to the target as the temporary role. node-postgres does the startup, TLS (the admin URL's
 * `sslmode`) and SCRAM; once the server is ready for queries the socket is taken from it and used
 * raw, so statements and results pass through unchanged.
 */
export async function openUpstream(url: string, applicationName: string, options?: string): Promise<Upstream> {
  // The client's `options` (PGOPTIONS: `-c search_path=…` and the like) go along; the server applies
  // them with the temporary role's rights, as it would for a direct login.
  const client = new Client({
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(options ? { options } : {}),
  });
  const parameters: [string, string][] = [];
  const connection = (client as unknown as { connection: NodeJS.EventEmitter & { stream: Socket } }).connection;
  connection.on('parameterStatus', (message: { parameterName: string; parameterValue: string }) =>
    parameters.push([message.parameterName, message.parameterValue]),
  );
  await client.connect();
  const socket = connection.stream;
  // From here on node-postgres must not read or react: its parser would consume the results.
  for (const event of ['data', 'end', 'close', 'error']) socket.removeAllListeners(event);
  const { hostname, port } = new URL(url);
  const keys = client as unknown as { processID: number; secretKey: number };
  return { socket, parameters, processId: keys.processID, secretKey: keys.secretKey, host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 5432) };
}

/** Asks the server to cancel the statement running on `upstream` (PostgreSQL CancelRequest). */
export function cancelUpstream(upstream: Pick<Upstream, 'host' | 'port' | 'processId' | 'secretKey'>): void {
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(80877102, 4);
  request.writeInt32BE(upstream.processId, 8);
  request.writeInt32BE(upstream.secretKey, 12);
  const socket = connect(upstream.port, upstream.host, () => socket.end(request));
  socket.on('error', () => socket.destroy());
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy());
}
