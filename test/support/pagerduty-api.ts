import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

export interface PagerDutyDirectory {
  users: { id: string; name: string; email: string }[];
  /** user id → schedule ids they are on call for now */
  onCall: Record<string, string[]>;
  /** incident id → the incident (`GET /incidents/{id}`); user id → escalation policies they are on call for */
  incidents?: Record<string, { status: 'triggered' | 'acknowledged' | 'resolved'; title: string; assignees: string[]; escalationPolicy: string }>;
  escalationOnCall?: Record<string, string[]>;
}

/**
 * A local stand-in for the PagerDuty REST API answering `/users`, `/oncalls` and `/incidents/{id}` in
 * PagerDuty's documented response formats (offset pagination envelope, references, the incident object).
 */
export class FakePagerDutyApi {
  private server?: Server;
  mode: 'normal' | 'error' = 'normal';
  readonly requests: { path: string; query: URLSearchParams; authorization?: string }[] = [];

  /** With `tls`, the stand-in speaks HTTPS with that certificate (the service must trust it). */
  constructor(
    public directory: PagerDutyDirectory,
    private readonly tls?: { cert: Buffer; key: Buffer },
  ) {}

  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      this.requests.push({ path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
      res.setHeader('content-type', 'application/json');
      if (this.mode === 'error') {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: { message: 'Internal Server Error', code: 2001 } }));
        return;
      }
      if (url.pathname === '/users') {
        const query = (url.searchParams.get('query') ?? '').toLowerCase();
        const users = this.directory.users
          .filter((u) => u.email.toLowerCase().includes(query) || u.name.toLowerCase().includes(query))
          .map((u) => ({ id: u.id, type: 'user', summary: u.name, name: u.name, email: u.email, time_zone: 'UTC', role: 'user' }));
        res.end(JSON.stringify({ users, limit: 25, offset: 0, total: null, more: false }));
        return;
      }
      const incident = /^\/incidents\/([^/]+)$/.exec(url.pathname);
      if (incident) {
        const found = this.directory.incidents?.[decodeURIComponent(incident[1])];
        if (!found) {
          res.statusCode = 404;
          res.end(JSON.stringify({ error: { message: 'Not Found', code: 2100, errors: ['Incident Not Found'] } }));
          return;
        }
        const id = decodeURIComponent(incident[1]);
        const reference = (type: string, refId: string, summary: string) => ({ id: refId, type, summary, self: `https://api.pagerduty.com/${type}s/${refId}` });
        res.end(
          JSON.stringify({
            incident: {
              id,
              type: 'incident',
              summary: `[#1234] ${found.title}`,
              incident_number: 1234,
              title: found.title,
              status: found.status,
              urgency: 'high',
              html_url: `https://acme.pagerduty.com/incidents/${id}`,
              service: reference('service_reference', 'PSVC001', 'Payments API'),
              escalation_policy: reference('escalation_policy_reference', found.escalationPolicy, 'Payments escalation'),
              assignments: found.assignees.map((userId) => ({ at: new Date().toISOString(), assignee: reference('user_reference', userId, userId) })),
              created_at: new Date(Date.now() - 600_000).toISOString(),
            },
          }),
        );
        return;
      }
      if (url.pathname === '/oncalls' && url.searchParams.getAll('escalation_policy_ids[]').length) {
        const policies = url.searchParams.getAll('escalation_policy_ids[]');
        const oncalls = url.searchParams.getAll('user_ids[]').flatMap((userId) =>
          (this.directory.escalationOnCall?.[userId] ?? [])
            .filter((policy) => policies.includes(policy))
            .map((policy) => ({
              escalation_policy: { id: policy, type: 'escalation_policy_reference', summary: 'Payments escalation' },
              escalation_level: 1,
              schedule: null,
              user: { id: userId, type: 'user_reference', summary: userId },
              start: null,
              end: null,
            })),
        );
        res.end(JSON.stringify({ oncalls, limit: 25, offset: 0, more: false, total: null }));
        return;
      }
      if (url.pathname === '/oncalls') {
        const userIds = url.searchParams.getAll('user_ids[]');
        const scheduleIds = url.searchParams.getAll('schedule_ids[]');
        const start = new Date(Date.now() - 3600_000).toISOString();
        const end = new Date(Date.now() + 3600_000).toISOString();
        const oncalls = userIds.flatMap((userId) =>
          (this.directory.onCall[userId] ?? [])
            .filter((scheduleId) => !scheduleIds.length || scheduleIds.includes(scheduleId))
            .map((scheduleId) => ({
              escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference', summary: 'Payments escalation' },
              escalation_level: 1,
              schedule: { id: scheduleId, type: 'schedule_reference', summary: `Schedule ${scheduleId}` },
              user: { id: userId, type: 'user_reference', summary: userId },
              start,
              end,
            })),
        );
        res.end(JSON.stringify({ oncalls, limit: 25, offset: 0, more: false, total: null }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { message: 'Not Found', code: 2100 } }));
    };
    this.server = this.tls ? createHttpsServer(this.tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
