import { createServer, type Server } from 'node:http';

export interface PagerDutyDirectory {
  users: { id: string; name: string; email: string }[];
  /** user id → schedule ids they are on call for now */
  onCall: Record<string, string[]>;
}

/**
 * A local stand-in for the PagerDuty REST API answering `/users` and `/oncalls` in PagerDuty's
 * documented response formats (offset pagination envelope, schedule/escalation_policy references).
 */
export class FakePagerDutyApi {
  private server?: Server;
  mode: 'normal' | 'error' = 'normal';
  readonly requests: { path: string; query: URLSearchParams; authorization?: string }[] = [];

  constructor(public directory: PagerDutyDirectory) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
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
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
