import { createServer, type Server, type Socket } from 'node:net';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { endedGrantMessage, type EndedGrant } from '../access/ended-grant';
import type { AuditEntry } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import { ServiceConfig } from '../config/config.providers';
import { ProxyAddress } from '../credentials/proxy-address';
import { ProxyLogins, type ProxyLogin } from '../credentials/proxy-logins';
import { Metrics } from '../health/metrics.service';
import { ReadinessChecks } from '../health/readiness';
import { authenticateClient, fatal, type AuthenticatedClient, type Refusal } from './client-login';
import { ProxySession } from './proxy-session';
import { StatementRecorder } from './statement-recorder';

/** How often open sessions are checked against their grants (revoked or expired: closed within a second). */
const GRANT_CHECK_INTERVAL_MS = 250;
/** Failed logins from one address before it is refused outright for the rest of the window. */
const MAX_FAILED_LOGINS = 5;
const FAILED_LOGIN_WINDOW_MS = 60_000;

/**
 * The recording PostgreSQL pathway (docs/proxy.md): a wire-protocol listener where the logins of
 * `access: proxy` grants work, and nowhere else. Each authenticated connection becomes a
 * ProxySession to the target as the grant's temporary role, recording every statement.
 */
@Injectable()
export class PgProxyServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('proxy');
  private readonly server: Server;
  private readonly sessions = new Set<ProxySession>();
  private readonly sockets = new Set<Socket>();
  private readonly failures = new Map<string, { count: number; since: number; audited: boolean }>();
  private readonly audits = new Set<Promise<unknown>>();
  private listening = false;
  private grantCheck?: NodeJS.Timeout;

  constructor(
    private readonly config: ServiceConfig,
    private readonly logins: ProxyLogins,
    private readonly address: ProxyAddress,
    private readonly recorder: StatementRecorder,
    private readonly auditLog: AuditLog,
    private readonly dataSource: DataSource,
    private readonly metrics: Metrics,
    readiness: ReadinessChecks,
  ) {
    this.server = createServer((socket) => this.accept(socket));
    readiness.add('pgProxy', () => (this.listening ? 'ok' : 'not listening'));
  }

  async onApplicationBootstrap(): Promise<void> {
    const { host, port } = this.config.pgProxy;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`Port ${port} on ${host} is in use, so the PostgreSQL proxy cannot listen: set BREAKGLASS_PG_PROXY_PORT to a free port`)
            : error,
        ),
      );
      this.server.listen(port, host, () => resolve());
    });
    const bound = this.server.address() as { address: string; port: number };
    this.address.listening(host, bound.port);
    this.listening = true;
    this.grantCheck = setInterval(() => void this.closeEndedGrants(), GRANT_CHECK_INTERVAL_MS);
    this.grantCheck.unref();
    this.logger.log(`PostgreSQL proxy listening on ${host}:${bound.port}${this.config.pgProxy.tls ? ' (TLS)' : ''}`);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.grantCheck);
    this.listening = false;
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const session of this.sessions) session.terminate('57P01', 'breakglass: the broker is shutting down');
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await Promise.allSettled([...this.sessions].map((session) => session.closed));
    await Promise.allSettled([...this.audits]);
  }

  private async accept(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    const clientAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    const client = await authenticateClient(socket, {
      tls: this.config.pgProxy.tls,
      timeoutMs: this.config.env.BREAKGLASS_PG_PROXY_LOGIN_TIMEOUT_MS,
      find: (username) => this.logins.find(username),
      blocked: (address) => this.isBlocked(address),
      refused: (reason, username) => this.refused(socket.remoteAddress ?? 'unknown', clientAddress, reason, username),
      cancel: (processId, secretKey) => [...this.sessions].find((s) => s.cancelKey.processId === processId && s.cancelKey.secretKey === secretKey)?.cancel(),
    });
    if (!client) return;
    await this.open(client, clientAddress);
  }

  private async open(client: AuthenticatedClient, clientAddress: string): Promise<void> {
    const { login } = client;
    const policy = login.target.credential;
    const recording = policy.type === 'postgres' ? policy.recording : 'strict';
    const session = new ProxySession(
      client,
      {
        recording,
        recordParameters: policy.type === 'postgres' && policy.recordParameters,
        record: async (record, lazy) => (await this.recorder.record(login.grantId, record, lazy)).seq,
        lost: () => this.recorder.lost(login.grantId),
        recorded: (mode, seconds) => {
          this.metrics.proxyStatements.inc({ recording: mode });
          this.metrics.proxyRecordLatency.observe({ recording: mode }, seconds);
        },
      },
      clientAddress,
    );
    try {
      await session.start(this.logins.upstreamUrl(login));
    } catch (error) {
      // The message names the target and the step, never the upstream URL (it holds the role's password).
      this.logger.warn(`upstream connection for ${login.grantId} on ${login.target.name} failed: ${(error as Error).message}`);
      fatal(client.socket, '08006', `breakglass: could not connect to target ${login.target.name}`);
      return;
    }
    this.sessions.add(session);
    this.metrics.proxyConnections.inc();
    const about = { client: clientAddress, tls: client.tls, applicationName: session.applicationName, database: login.database, username: login.username };
    this.audit(this.entry(login, 'proxy.session_opened', about));
    const summary = await session.closed;
    this.sessions.delete(session);
    this.metrics.proxyConnections.dec();
    this.audit(this.entry(login, 'proxy.session_closed', { ...about, ...summary }));
  }

  /** Ends this instance's sessions of a grant (57P01) with who ended it, when and why. */
  endSessionsOf(grant: EndedGrant): void {
    for (const session of this.sessions) if (session.grantId === grant.id) session.terminate('57P01', `breakglass: ${endedGrantMessage(grant)}`);
  }

  /** Sessions of grants that were revoked or ran out (here or at another instance) are ended (57P01). */
  private async closeEndedGrants(): Promise<void> {
    if (!this.sessions.size) return;
    const grantIds = [...new Set([...this.sessions].map((session) => session.grantId))];
    let ended;
    try {
      ended = await this.logins.endedGrants(grantIds);
    } catch {
      return; // the database is away: the target's VALID UNTIL and the role drop still apply
    }
    for (const grant of ended) this.endSessionsOf(grant);
  }

  private isBlocked(address: string): boolean {
    const entry = this.failures.get(address);
    if (!entry) return false;
    if (Date.now() - entry.since > FAILED_LOGIN_WINDOW_MS) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= MAX_FAILED_LOGINS;
  }

  private refused(address: string, clientAddress: string, reason: Refusal, username: string | null): void {
    this.metrics.proxyLoginsRefused.inc({ reason });
    // Guessing counts towards the block: wrong passwords and names that do not exist.
    if (reason === 'wrong_password' || reason === 'unknown_login' || reason === 'rate_limited') {
      const entry = this.failures.get(address) ?? { count: 0, since: Date.now(), audited: false };
      entry.count++;
      this.failures.set(address, entry);
    }
    const entry = this.failures.get(address);
    // While an address is blocked only its first refusal is audited: a flood must not flood the log.
    if (reason === 'rate_limited' && entry) {
      if (entry.audited) return;
      entry.audited = true;
    }
    this.audit({ actor: `proxy:${clientAddress}`, action: 'proxy.login_refused', data: { client: clientAddress, username, reason } });
  }

  private entry(login: ProxyLogin, action: 'proxy.session_opened' | 'proxy.session_closed', data: Record<string, unknown>): AuditEntry {
    return { actor: login.requester, action, grant: login.grantId, target: login.target.name, data };
  }

  private audit(entry: AuditEntry): void {
    const written = this.dataSource
      .transaction((tx) => this.auditLog.append(tx, entry))
      .catch((error: Error) => this.logger.error(`could not audit ${entry.action}: ${error.message}`));
    this.audits.add(written);
    void written.finally(() => this.audits.delete(written));
  }
}
