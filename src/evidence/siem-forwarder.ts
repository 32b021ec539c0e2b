import { connect } from 'node:net';
import { hostname } from 'node:os';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuditEvent } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import { DueWorkLoop } from '../common/due-work-loop';
import { hmacSha256Signature } from '../common/signatures';
import { LoadedPolicy } from '../config/config.providers';
import type { ForwarderPolicy } from '../config/policy';
import { SiemForwarderRepository } from './siem-forwarder.repository';

const BATCH = 500;
const TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const BASE_BACKOFF_MS = 500;

/**
 * Sends every audit event, in seq order and at least once, to each policy forwarder (a SIEM):
 * signed JSON lines to a webhook, or RFC 5424 syslog over TCP. A persisted cursor advances only
 * after the receiver accepted a batch, so an outage delays delivery and loses nothing.
 */
@Injectable()
export class SiemForwarder implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('evidence.forwarder');
  private readonly loop = new DueWorkLoop('evidence.forwarder', {
    processDue: () => this.forwardDue(),
    millisUntilNext: () => this.repository.millisUntilNext(this.policy.forwarders.map((f) => f.name)),
  });

  constructor(
    private readonly repository: SiemForwarderRepository,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.policy.forwarders.length) return;
    await this.repository.ensure(this.policy.forwarders.map((f) => f.name));
    this.loop.start();
  }

  /** Work arrived (a commit made it visible): look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  status() {
    return this.repository.cursors();
  }

  private async forwardDue(): Promise<void> {
    for (const forwarder of this.policy.forwarders) {
      for (let sent = BATCH; sent === BATCH;) {
        sent = await this.dataSource.transaction(async (tx) => {
          const cursor = await this.repository.claim(tx, forwarder.name);
          if (!cursor) return 0;
          const events = await this.auditLog.after(cursor.lastSeq, BATCH);
          if (!events.length) return 0;
          try {
            await this.send(forwarder, events);
          } catch (error) {
            const retryInMs = Math.min(BASE_BACKOFF_MS * 2 ** cursor.failures, MAX_BACKOFF_MS);
            this.logger.warn(`${forwarder.name}: ${(error as Error).message}; retry in ${retryInMs} ms`);
            await this.repository.failed(tx, forwarder.name, (error as Error).message, retryInMs);
            return 0;
          }
          await this.repository.advance(tx, forwarder.name, events[events.length - 1].seq);
          return events.length;
        });
      }
    }
  }

  private send(forwarder: ForwarderPolicy, events: AuditEvent[]): Promise<void> {
    return forwarder.type === 'webhook' ? this.sendWebhook(forwarder, events) : sendSyslog(forwarder, events);
  }

  private async sendWebhook(forwarder: Extract<ForwarderPolicy, { type: 'webhook' }>, events: AuditEvent[]): Promise<void> {
    const body = events.map((event) => JSON.stringify(event)).join('\n') + '\n';
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      'x-breakglass-first-seq': String(events[0].seq),
      'x-breakglass-last-seq': String(events[events.length - 1].seq),
    };
    if (forwarder.secret) headers['x-breakglass-signature'] = hmacSha256Signature(forwarder.secret, body);
    let response: Response;
    try {
      response = await fetch(forwarder.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new Error(`webhook unreachable: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`, { cause: error });
    }
    await response.body?.cancel();
    if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
  }
}

/**
 * RFC 5424 messages, PRI 85 = facility authpriv (10) × 8 + severity notice (5), the MSG a UTF-8 BOM
 * and the event's JSON (RFC 5424 §6.4), framed with RFC 6587 octet counting or one per line.
 */
function sendSyslog(forwarder: Extract<ForwarderPolicy, { type: 'syslog' }>, events: AuditEvent[]): Promise<void> {
  const host = hostname().replace(/\s/g, '') || '-';
  const frames = events.map((event) => {
    // JSON.stringify escapes every control character, so a message never holds a raw LF.
    const message = `<85>1 ${event.at} ${host} breakglass - ${event.action} [breakglass@${forwarder.enterpriseNumber} seq="${event.seq}" hash="${event.hash}"] \ufeff${JSON.stringify(event)}`;
    return forwarder.framing === 'lf' ? `${message}\n` : `${Buffer.byteLength(message)} ${message}`;
  });
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: forwarder.host, port: forwarder.port });
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('syslog timed out')));
    socket.once('error', (error) => reject(new Error(`syslog ${forwarder.host}:${forwarder.port}: ${error.message}`)));
    socket.once('connect', () => socket.end(frames.join('')));
    socket.once('close', (hadError) => !hadError && resolve());
  });
}
