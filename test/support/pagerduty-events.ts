import { createServer, type Server } from 'node:https';
import { testCertificate } from './test-certificate';

export interface ReceivedEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve' | 'acknowledge';
  dedup_key: string;
  payload: { summary: string; source: string; severity: string; component?: string; timestamp?: string; custom_details: Record<string, unknown> };
  links?: { href: string; text?: string }[];
  receivedAt: number;
}

/**
 * A local HTTPS receiver standing in for PagerDuty's Events API v2 (`POST /v2/enqueue`), answering
 * 202 with PagerDuty's body — or 500s, or holding requests open, to simulate outages.
 */
export class PagerDutyEventsReceiver {
  readonly accepted: ReceivedEvent[] = [];
  /** Every request's dedup_key (answered or not), in arrival order. */
  readonly requests: string[] = [];
  failNext = 0;
  /** Only requests whose dedup_key matches count against failNext. */
  failMatching = /./;
  hold = false;
  private server?: Server;

  async start(): Promise<{ server: string; caFile: string }> {
    const { cert, key, certFile } = testCertificate();
    this.server = createServer({ cert, key }, (req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        this.requests.push(safeDedupKey(body));
        if (this.hold) return; // never answers: the sender's process is about to die
        res.setHeader('content-type', 'application/json');
        if (req.url !== '/v2/enqueue') {
          res.statusCode = 404;
          return res.end('{}');
        }
        if (this.failNext > 0 && this.failMatching.test(safeDedupKey(body))) {
          this.failNext--;
          res.statusCode = 500;
          return res.end(JSON.stringify({ status: 'error', message: 'Internal error' }));
        }
        const event = JSON.parse(body) as ReceivedEvent;
        this.accepted.push({ ...event, receivedAt: Date.now() });
        res.statusCode = 202;
        res.end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: event.dedup_key }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return { server: `127.0.0.1:${(this.server.address() as { port: number }).port}`, caFile: certFile };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function safeDedupKey(body: string): string {
  try {
    return String(JSON.parse(body).dedup_key);
  } catch {
    return '';
  }
}
