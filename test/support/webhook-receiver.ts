import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface ReceivedWebhook {
  body: { id: string; notice: string; details: Record<string, unknown> };
  signatureValid: boolean;
  /** Date.now() when it arrived. */
  at: number;
}

/** A plain HTTP endpoint for the webhook channel; checks each X-Breakglass-Signature. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server?: Server;

  constructor(private readonly secret: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`;
        this.received.push({ body: JSON.parse(raw), signatureValid: req.headers['x-breakglass-signature'] === expected, at: Date.now() });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
