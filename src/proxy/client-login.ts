import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { BackendError, PostgresConnection, verifyScramSha256Password, type DuplexStream } from 'pg-gateway';
import { scramSha256Secret, type ScramSecret } from '../credentials/providers/scram';
import type { LoginRefusal, ProxyLogin } from '../credentials/proxy-logins';

/** A client that proved it holds a live proxy login. */
export interface AuthenticatedClient {
  socket: Socket;
  login: ProxyLogin;
  parameters: Record<string, string>;
  tls: boolean;
  /** The pg-gateway connection, detached: used only to build backend messages. */
  gateway: PostgresConnection;
}

export type Refusal = LoginRefusal | 'wrong_password' | 'rate_limited' | 'wrong_database' | 'login_timeout' | 'protocol_error';

export interface LoginHooks {
  tls: { cert: string; key: string } | null;
  timeoutMs: number;
  find(username: string): Promise<ProxyLogin | { refused: LoginRefusal }>;
  /** True while this client address is blocked for too many failed logins. */
  blocked(address: string): boolean;
  refused(reason: Refusal, username: string | null): void;
  cancel(processId: number, secretKey: number): void;
}

// Start-up packet codes (PostgreSQL protocol, "Message Formats").
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** More than any start-up and SCRAM exchange needs; a client sending more before logging in is refused. */
const MAX_LOGIN_BYTES = 16 * 1024;
// A dummy secret for unknown or ended logins, so the SCRAM exchange runs the same way for every name.
const DUMMY_SCRAM: ScramSecret = scramSha256Secret('breakglass: no such login');

/**
 * The start of a client connection: pg-gateway answers SSLRequest (TLS by the proxy's key pair),
 * reads the startup message and runs SCRAM-SHA-256 against the login's stored secret. Answers the
 * authenticated client, or null when the connection was refused, cancelled or timed out (the client
 * has been told why).
 */
export function authenticateClient(socket: Socket, hooks: LoginHooks): Promise<AuthenticatedClient | null> {
  return new Promise((resolve) => {
    let feed: SocketFeed | undefined;
    let login: ProxyLogin | { refused: LoginRefusal } | undefined;
    let username: string | null = null;
    let settled = false;
    const address = socket.remoteAddress ?? 'unknown';
    const finish = (client: AuthenticatedClient | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    };
    const refuse = (reason: Refusal, code: string, message: string) => {
      hooks.refused(reason, username);
      feed?.mute();
      fatal(feed?.socket ?? socket, code, message);
      finish(null);
    };
    const timer = setTimeout(() => refuse('login_timeout', '08006', `breakglass: login not completed within ${hooks.timeoutMs / 1000} s`), hooks.timeoutMs);
    socket.once('close', () => finish(null));

    const startGateway = (initial: Buffer) => {
      feed = new SocketFeed(socket, initial, MAX_LOGIN_BYTES, () => refuse('protocol_error', '08P01', 'breakglass: too much data before login'));
      const gateway: PostgresConnection = new PostgresConnection(
        feed.duplex,
        {
          ...(hooks.tls ? { tls: { cert: toArrayBuffer(hooks.tls.cert), key: toArrayBuffer(hooks.tls.key) } } : {}),
          auth: {
            method: 'scram-sha-256',
            getScramSha256Data: async ({ username: name }) => {
              username = name;
              login ??= hooks.blocked(address) ? { refused: 'unknown_login' } : await hooks.find(name);
              return 'refused' in login ? DUMMY_SCRAM : login.scram;
            },
            validateCredentials: async ({ authMessage, clientProof, scramSha256Data }) => {
              if (!login || 'refused' in login) {
                const reason: Refusal = hooks.blocked(address) ? 'rate_limited' : (login?.refused ?? 'unknown_login');
                // The same answer for every reason: a name must not tell whether it ever had a grant.
                refuse(reason, '28P01', `password authentication failed for user "${username}"`);
                return false;
              }
              if (!(await verifyScramSha256Password({ authMessage, clientProof, storedKey: scramSha256Data.storedKey }))) {
                refuse('wrong_password', '28P01', `password authentication failed for user "${username}"`);
                return false;
              }
              return true;
            },
          },
          onAuthenticated: async (state) => {
            await gateway.detach();
            const proven = login as ProxyLogin;
            const parameters = (state.clientParams ?? {}) as Record<string, string>;
            const database = proven.database;
            if (parameters.database && database && parameters.database !== database) {
              refuse('wrong_database', '3D000', `breakglass: this login is for database "${database}", not "${parameters.database}"`);
              return;
            }
            const current = feed!;
            const leftover = current.release();
            if (leftover.length) current.socket.unshift(leftover);
            finish({ socket: current.socket, login: proven, parameters, tls: current.socket instanceof TLSSocket, gateway });
          },
        },
        {
          // TLS on the socket itself (not pg-gateway's web-stream wrapper), so the session after login
          // reads and writes a plain Node socket.
          upgradeTls: async () => {
            const raw = feed!;
            raw.release();
            const secure = new TLSSocket(raw.socket, { isServer: true, cert: hooks.tls!.cert, key: hooks.tls!.key });
            await new Promise<void>((ready, fail) => secure.once('secure', ready).once('error', fail));
            feed = new SocketFeed(secure, Buffer.alloc(0), MAX_LOGIN_BYTES, () => refuse('protocol_error', '08P01', 'breakglass: too much data before login'));
            return { duplex: feed.duplex, tlsInfo: {} };
          },
        },
      );
    };

    // The first packet decides: GSSAPI encryption is declined, a cancel request is passed on, and
    // anything that is not a version-3 start-up or SSLRequest is refused without reaching the gateway.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      while (head.length >= 8) {
        const length = head.readUInt32BE(0);
        const code = head.readUInt32BE(4);
        if (code === GSSENC_REQUEST && length === 8) {
          socket.write('N');
          head = head.subarray(8);
          continue;
        }
        if (code === CANCEL_REQUEST && length === 16) {
          if (head.length < 16) return;
          hooks.cancel(head.readInt32BE(8), head.readInt32BE(12));
          socket.removeListener('data', onData);
          socket.end();
          return finish(null);
        }
        socket.removeListener('data', onData);
        if (!(code === SSL_REQUEST && length === 8) && code >>> 16 !== 3) return refuse('protocol_error', '08P01', 'breakglass: invalid startup packet');
        if (length > MAX_LOGIN_BYTES) return refuse('protocol_error', '08P01', 'breakglass: startup packet too large');
        return startGateway(head);
      }
    };
    socket.on('data', onData);
  });
}

/** FATAL ErrorResponse, then close. */
export function fatal(socket: Socket, code: string, message: string): void {
  if (socket.destroyed) return;
  socket.end(Buffer.from(BackendError.create({ severity: 'FATAL', code, message }).flush()));
}

function toArrayBuffer(pem: string): ArrayBuffer {
  const bytes = Buffer.from(pem);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

/**
 * The web-stream pair pg-gateway reads during login, over a Node socket the proxy keeps: once the
 * client is authenticated the feed is released and the socket is used directly.
 */
class SocketFeed {
  readonly duplex: DuplexStream<Uint8Array>;
  private readonly chunks: Buffer[] = [];
  private wake?: () => void;
  private ended = false;
  private released = false;
  private muted = false;
  private received = 0;

  constructor(
    readonly socket: Socket,
    initial: Buffer,
    private readonly maxBytes: number,
    private readonly overflow: () => void,
  ) {
    if (initial.length) this.onData(initial);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    this.duplex = {
      readable: new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          while (!this.chunks.length && !this.ended) await new Promise<void>((wake) => (this.wake = wake));
          const chunk = this.chunks.shift();
          // A copy at offset 0: pg-gateway reads message lengths from the chunk's ArrayBuffer without
          // its byteOffset, so a view into Node's shared buffer pool would be misread.
          if (chunk) controller.enqueue(new Uint8Array(chunk));
          else controller.close();
        },
      }),
      writable: new WritableStream<Uint8Array>({
        write: (chunk) => void (this.released || this.muted || socket.destroyed ? undefined : socket.write(chunk)),
        close: () => void (this.released || this.muted ? undefined : socket.end()),
        abort: () => void (this.released || this.muted ? undefined : socket.destroy()),
      }),
    };
  }

  /** Nothing the gateway writes reaches the client any more (the proxy answered it itself). */
  mute(): void {
    this.muted = true;
  }

  /** Stops feeding the gateway; answers what it was sent but never read. */
  release(): Buffer {
    this.released = true;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    const rest = Buffer.concat(this.chunks.splice(0));
    this.ended = true;
    this.wake?.();
    return rest;
  }

  private readonly onData = (chunk: Buffer) => {
    this.received += chunk.length;
    if (this.received > this.maxBytes) return this.overflow();
    this.chunks.push(chunk);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };
}
