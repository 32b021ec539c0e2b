import { randomInt } from 'node:crypto';
import { BackendError } from 'pg-gateway';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import type { RecordDetail } from '../sessions/session-event';
import type { BrokerRecord } from '../sessions/sessions.service';
import type { AuthenticatedClient } from './client-login';
import { fatal } from './client-login';
import {
  bindMessage,
  executePortal,
  FrontendCode,
  HEADER_BYTES,
  functionCallOid,
  MessageFramer,
  OversizedMessage,
  parseMessage,
  queryText,
  type ParameterValue,
} from './frontend-messages';
import { ServerMessages } from './server-messages';
import { cancelUpstream, openUpstream, type Upstream } from './upstream';

/** Larger than any statement a person types or a tool generates; COPY data comes in much smaller messages. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Client messages waiting for their records before the client is paused (back-pressure). */
const MAX_QUEUED_MESSAGES = 256;
const NOT_RECORDED = 'breakglass: statement not recorded, so not sent';

export interface SessionSettings {
  recording: 'strict' | 'best-effort';
  recordParameters: boolean;
  /** Commits a record in the grant's session chain; answers its seq. `lazy`: nothing waits for it. */
  record(record: BrokerRecord, lazy?: boolean): Promise<number>;
  /** A record that could not be written and was given up (best-effort). */
  lost(): void;
  recorded(recording: 'strict' | 'best-effort', seconds: number): void;
}

export interface SessionSummary {
  statements: number;
  bytesFromClient: number;
  bytesToClient: number;
  reason: string;
}

/** A statement on its way: its `sql` record, then what the server answered. */
interface Statement {
  protocol: 'simple' | 'extended' | 'function';
  command: string;
  parameters?: ParameterValue[];
  startedAt: string;
  startedMs: number;
  /** The Sync (or simple Query) whose ReadyForQuery ends it. */
  group: number;
  seq?: Promise<number | null>;
  tags: string[];
  rows: number;
  dataRows: number;
  sqlstate: string | null;
  message: string | null;
  copyBytes: number | null;
  done: boolean;
}

/**
 * One authenticated client connection, proxied to one upstream connection as the grant's temporary
 * role. Every Query, and every Execute of the extended protocol, becomes a `sql` record and its
 * outcome a `sql.result` record. Strict recording forwards a statement only once its record is
 * committed (extended-protocol messages wait together until Sync or Flush); best-effort forwards at
 * once and records alongside. Server messages are passed on unchanged as they arrive.
 */
export class ProxySession {
  /** What the client got as BackendKeyData: cancel requests name it. */
  readonly cancelKey = { processId: randomInt(1, 2 ** 31 - 1), secretKey: randomInt(1, 2 ** 31 - 1) };
  private upstream!: Upstream;
  private readonly framer = new MessageFramer(MAX_MESSAGE_BYTES);
  private readonly prepared = new Map<string, string>();
  private readonly portals = new Map<string, { command: string; parameters: ParameterValue[] }>();
  private readonly inFlight: Statement[] = [];
  private batch: { messages: Buffer[]; statements: Statement[] } = { messages: [], statements: [] };
  private transactionStatus: 'I' | 'T' | 'E' = 'I';
  private nextGroup = 0;
  private readyGroup = 0;
  private idleWaiters: (() => void)[] = [];
  /** Client messages not handled yet: one waits for its record (strict), the rest behind it. */
  private readonly queue: Buffer[] = [];
  private waiting = false;
  private closing?: string;
  private readonly summary = { statements: 0, bytesFromClient: 0, bytesToClient: 0 };
  readonly closed: Promise<SessionSummary>;
  private resolveClosed!: (summary: SessionSummary) => void;

  constructor(
    readonly client: AuthenticatedClient,
    private readonly settings: SessionSettings,
    /** `address:port` of the client, as recorded in `host`. */
    readonly clientAddress: string,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get grantId(): string {
    return this.client.login.grantId;
  }

  get applicationName(): string | null {
    return this.client.parameters.application_name ?? null;
  }

  /** Logs in upstream, greets the client as the server would, and starts passing messages. */
  async start(upstreamUrl: string): Promise<void> {
    const label = `breakglass ${this.grantId}${this.applicationName ? ` ${this.applicationName}` : ''}`.slice(0, 63);
    this.upstream = await openUpstream(upstreamUrl, label, this.client.parameters.options);
    const { gateway, socket } = this.client;
    const keyData = Buffer.alloc(13);
    keyData.write('K', 0);
    keyData.writeInt32BE(12, 1);
    keyData.writeInt32BE(this.cancelKey.processId, 5);
    keyData.writeInt32BE(this.cancelKey.secretKey, 9);
    const hello = [
      ...this.upstream.parameters.map(([name, value]) => gateway.createParameterStatus(name, value)),
      keyData,
      gateway.createReadyForQuery('idle'),
    ];
    socket.write(Buffer.concat(hello.map((part) => Buffer.from(part))));

    socket.on('data', (chunk: Buffer) => this.fromClient(chunk));
    socket.on('close', () => this.close('client disconnected'));
    socket.on('error', () => this.close('client connection failed'));
    const server = this.upstream.socket;
    const messages = new ServerMessages(
      (message) => this.fromServer(message),
      (kind, bytes) => this.counted(kind, bytes),
    );
    server.on('data', (chunk: Buffer) => {
      this.summary.bytesToClient += chunk.length;
      if (!socket.write(chunk)) {
        server.pause();
        socket.once('drain', () => server.resume());
      }
      messages.push(chunk);
    });
    server.on('close', () => this.close('the server closed the connection'));
    server.on('error', () => this.close('the server connection failed'));
  }

  /** Ends the session with a FATAL the client sees (the grant ended, the broker stops). */
  terminate(code: string, message: string): void {
    if (this.closing) return;
    fatal(this.client.socket, code, message);
    this.close(message);
  }

  cancel(): void {
    if (this.upstream) cancelUpstream(this.upstream);
  }

  private close(reason: string): void {
    if (this.closing) return;
    this.closing = reason;
    this.client.socket.end();
    this.upstream?.socket.destroy();
    for (const statement of this.inFlight.splice(0)) this.finish(statement, 'connection closed before the server answered');
    this.resolveClosed({ ...this.summary, reason });
  }

  private fromClient(chunk: Buffer): void {
    this.summary.bytesFromClient += chunk.length;
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (error) {
      if (error instanceof OversizedMessage) return this.terminate('54000', `breakglass: ${error.message}`);
      throw error;
    }
    this.queue.push(...messages);
    // While a statement waits for its record the client may keep sending: stop reading past a limit.
    if (this.waiting && this.queue.length > MAX_QUEUED_MESSAGES) this.client.socket.pause();
    if (!this.waiting) this.pump();
  }

  /** Handles queued messages in order; a message that must wait for its record holds the ones behind it. */
  private pump(): void {
    while (this.queue.length && !this.closing) {
      let pending: Promise<void> | void;
      try {
        pending = this.handle(this.queue.shift()!);
      } catch (error) {
        return this.terminate('08P01', `breakglass: ${(error as Error).message}`);
      }
      if (pending) {
        this.waiting = true;
        pending.then(
          () => {
            this.waiting = false;
            this.client.socket.resume();
            this.pump();
          },
          (error: Error) => this.terminate('08P01', `breakglass: ${error.message}`),
        );
        return;
      }
    }
  }

  private handle(message: Buffer): Promise<void> | void {
    switch (message[0]) {
      case FrontendCode.Query:
        return this.sendStatement(message, this.statement('simple', queryText(message)));
      case FrontendCode.FunctionCall:
        return this.sendStatement(message, this.statement('function', `-- function call (fast path), function oid ${functionCallOid(message)}`));
      case FrontendCode.Parse: {
        const { statement, query } = parseMessage(message);
        this.prepared.set(statement, query);
        return this.extended(message);
      }
      case FrontendCode.Bind: {
        const { portal, statement, parameters } = bindMessage(message);
        this.portals.set(portal, { command: this.prepared.get(statement) ?? `-- unknown prepared statement "${statement}"`, parameters });
        return this.extended(message);
      }
      case FrontendCode.Execute: {
        const portal = this.portals.get(executePortal(message));
        return this.extended(message, this.statement('extended', portal?.command ?? '-- unknown portal', portal?.parameters ?? []));
      }
      case FrontendCode.Sync:
        this.extended(message);
        return this.flushBatch(true);
      case FrontendCode.Flush:
        this.extended(message);
        return this.flushBatch(false);
      case FrontendCode.Describe:
      case FrontendCode.Close:
        return this.extended(message);
      case FrontendCode.CopyData: {
        const copying = this.inFlight.find((statement) => statement.copyBytes !== null);
        if (copying) copying.copyBytes! += message.length - HEADER_BYTES;
        return this.forward(message);
      }
      case FrontendCode.Terminate:
        this.forward(message);
        return this.close('client terminated the session');
      default:
        return this.forward(message);
    }
  }

  private statement(protocol: Statement['protocol'], command: string, parameters?: ParameterValue[]): Statement {
    return {
      protocol,
      command,
      parameters,
      startedAt: new Date().toISOString(),
      startedMs: performance.now(),
      group: -1,
      tags: [],
      rows: 0,
      dataRows: 0,
      sqlstate: null,
      message: null,
      copyBytes: null,
      done: false,
    };
  }

  /** A simple Query or a function call: recorded (strict: first), then sent; ReadyForQuery ends it. */
  private sendStatement(message: Buffer, statement: Statement): Promise<void> | void {
    const recorded = this.recordStatement(statement);
    const send = () => {
      statement.group = this.nextGroup++;
      this.inFlight.push(statement);
      this.forward(message);
    };
    if (this.settings.recording !== 'strict') return send();
    return recorded.then((seq) => (seq === null ? this.refuseNotRecorded(true) : send()));
  }

  /** Extended-protocol messages: strict recording holds them until Sync/Flush, best-effort sends them now. */
  private extended(message: Buffer, statement?: Statement): void {
    if (this.settings.recording === 'strict') {
      this.batch.messages.push(message);
      if (statement) this.batch.statements.push(statement);
      return;
    }
    if (statement) {
      void this.recordStatement(statement);
      statement.group = this.nextGroup;
      this.inFlight.push(statement);
    }
    if (message[0] === FrontendCode.Sync) this.nextGroup++;
    this.forward(message);
  }

  private flushBatch(sync: boolean): Promise<void> | void {
    if (this.settings.recording !== 'strict') return;
    if (!this.batch.statements.length) return this.forwardBatch(sync);
    return this.recordBatch(sync);
  }

  private forwardBatch(sync: boolean): void {
    const { messages, statements } = this.batch;
    this.batch = { messages: [], statements: [] };
    for (const statement of statements) {
      statement.group = this.nextGroup;
      this.inFlight.push(statement);
    }
    if (sync) this.nextGroup++;
    this.forward(messages.length === 1 ? messages[0] : Buffer.concat(messages));
  }

  private async recordBatch(sync: boolean): Promise<void> {
    const { statements } = this.batch;
    const seqs = await Promise.all(statements.map((statement) => this.recordStatement(statement)));
    if (seqs.some((seq) => seq === null)) {
      this.batch = { messages: [], statements: [] };
      for (const [i, statement] of statements.entries()) if (seqs[i] !== null) this.finish(statement, NOT_RECORDED);
      return this.refuseNotRecorded(sync);
    }
    this.forwardBatch(sync);
  }

  private recordStatement(statement: Statement): Promise<number | null> {
    const detail: RecordDetail =
      statement.protocol === 'extended'
        ? { protocol: 'extended', parameters: this.settings.recordParameters ? (statement.parameters ?? []) : (statement.parameters?.length ?? 0) }
        : { protocol: statement.protocol };
    const recording = this.settings.recording;
    statement.seq = this.settings
      .record({ ...this.about(), type: 'sql', command: statement.command, startedAt: statement.startedAt, finishedAt: null, exitCode: null, detail })
      .then(
        (seq) => {
          this.summary.statements++;
          this.settings.recorded(recording, (performance.now() - statement.startedMs) / 1000);
          return seq;
        },
        () => {
          if (recording === 'best-effort') this.settings.lost();
          return null;
        },
      );
    return statement.seq;
  }

  /** What the client is told when strict recording failed: the statement never reached the server. */
  private async refuseNotRecorded(withReadyForQuery: boolean): Promise<void> {
    // Answers must stay in order: first whatever the server still owes for earlier statements.
    await this.upstreamIdle();
    const error = Buffer.from(BackendError.create({ severity: 'ERROR', code: '57P03', message: NOT_RECORDED }).flush());
    const ready = withReadyForQuery ? [Buffer.from(this.client.gateway.createReadyForQuery(readyStatus(this.transactionStatus)))] : [];
    this.client.socket.write(Buffer.concat([error, ...ready]));
  }

  private upstreamIdle(): Promise<void> {
    if (this.readyGroup >= this.nextGroup) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private forward(message: Buffer): void {
    if (this.closing) return;
    const server = this.upstream.socket;
    if (!server.write(message)) {
      this.client.socket.pause();
      server.once('drain', () => this.client.socket.resume());
    }
  }

  private fromServer(message: BackendMessage): void {
    const current = this.inFlight.find((statement) => !statement.done);
    switch (message.name) {
      case 'commandComplete': {
        if (!current) return;
        const tag = (message as unknown as { text: string }).text;
        current.tags.push(tag);
        const count = /\s(\d+)$/.exec(tag);
        current.rows += count ? Number(count[1]) : 0;
        if (current.protocol === 'extended') this.settle(current);
        return;
      }
      case 'error': {
        if (!current) return;
        const error = message as unknown as { code?: string; message: string };
        current.sqlstate = error.code ?? null;
        current.message = error.message;
        // After an error the server skips the rest of the batch up to Sync: those never ran.
        if (current.protocol === 'extended') this.settle(current);
        return;
      }
      case 'emptyQuery':
      case 'portalSuspended':
        if (current?.protocol === 'extended') {
          if (message.name === 'portalSuspended') current.tags.push('PORTAL SUSPENDED');
          this.settle(current);
        }
        return;
      case 'copyInResponse':
      case 'copyOutResponse':
        if (current) current.copyBytes = 0;
        return;
      case 'readyForQuery': {
        this.transactionStatus = (message as unknown as { status: 'I' | 'T' | 'E' }).status;
        const group = this.readyGroup++;
        while (this.inFlight.length && this.inFlight[0].group <= group) {
          const statement = this.inFlight.shift()!;
          this.finish(statement, statement.done || statement.protocol !== 'extended' ? null : 'not executed: an earlier message of its batch failed');
        }
        if (this.readyGroup >= this.nextGroup) for (const wake of this.idleWaiters.splice(0)) wake();
        return;
      }
      default:
        return;
    }
  }

  /** Rows and COPY data the server sent, counted without decoding them. */
  private counted(kind: 'row' | 'copyData', bytes: number): void {
    const current = this.inFlight.find((statement) => !statement.done);
    if (!current) return;
    if (kind === 'row') current.dataRows++;
    else if (current.copyBytes !== null) current.copyBytes += bytes;
  }

  /** An Execute's outcome is known (its result record is written when its batch's ReadyForQuery comes). */
  private settle(statement: Statement): void {
    statement.done = true;
  }

  /** Writes the `sql.result` record of a statement whose outcome is known. */
  private finish(statement: Statement, failure: string | null): void {
    const failed = failure !== null || statement.sqlstate !== null;
    const finishedAt = new Date().toISOString();
    const durationMs = Math.round(performance.now() - statement.startedMs);
    void (statement.seq ?? Promise.resolve(null)).then((statementSeq) => {
      const detail: RecordDetail = {
        statementSeq,
        tag: statement.tags.length ? statement.tags.join('; ') : null,
        sqlstate: statement.sqlstate,
        message: statement.message ?? failure,
        rows: statement.tags.length ? statement.rows || statement.dataRows : null,
        durationMs,
        ...(statement.copyBytes !== null ? { bytes: statement.copyBytes } : {}),
      };
      return this.settings
        .record({ ...this.about(), type: 'sql.result', command: null, startedAt: statement.startedAt, finishedAt, exitCode: failed ? 1 : 0, detail }, true)
        .catch(() => this.settings.lost());
    });
  }

  private about() {
    const login = this.client.login;
    return { cwd: login.database ?? login.target.name, user: login.requester, host: this.clientAddress };
  }
}

function readyStatus(status: 'I' | 'T' | 'E'): 'idle' | 'transaction' | 'error' {
  return status === 'T' ? 'transaction' : status === 'E' ? 'error' : 'idle';
}
