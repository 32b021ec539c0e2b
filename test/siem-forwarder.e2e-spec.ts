import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { AuditLog } from '../src/audit/audit-log.service';
import { freePort } from './support/ports';
import { startTestService, type TestService } from './support/test-service';
import { until } from './support/until';

const SECRET = 'siem-forwarder-secret-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIEM forwarding', () => {
  let sut: TestService;
  let webhookPort: number;
  let syslogPort: number;
  let lfPort: number;
  const webhookSeqs: number[] = [];
  const syslogSeqs: number[] = [];
  const lfSeqs: number[] = [];
  let badSignatures = 0;
  let webhook: Server | undefined;
  let syslog: TcpServer | undefined;
  let lfSyslog: TcpServer | undefined;

  const addEvents = async (count: number) => {
    const auditLog = sut.app.get(AuditLog);
    for (let i = 0; i < count; i++)
      await sut.dataSource.transaction((tx) => auditLog.append(tx, { actor: 'oncall-1', action: 'grant.requested', data: { i } }));
  };
  const head = async () => (await sut.app.get(AuditLog).head()).seq;

  beforeAll(async () => {
    webhookPort = await freePort();
    syslogPort = await freePort();
    lfPort = await freePort();
    sut = await startTestService({
      policyYaml: `
forwarders:
  - { name: siem-webhook, type: webhook, url: 'http://127.0.0.1:${webhookPort}/ingest', secret: '${SECRET}' }
  - { name: siem-syslog, type: syslog, host: 127.0.0.1, port: ${syslogPort} }
  - { name: siem-syslog-lf, type: syslog, host: 127.0.0.1, port: ${lfPort}, framing: lf, enterpriseNumber: 99999 }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`,
    });
  });
  afterAll(async () => {
    await sut.close();
    webhook?.close();
    syslog?.close();
    lfSyslog?.close();
  });

  it('delivers every event in order once the receivers come back after an outage', async () => {
    await addEvents(30); // both receivers are down: the forwarders retry with backoff
    // Each forwarder has tried and failed at least once (polled: a loaded machine may take a while).
    const cursors = await until(
      'every forwarder failed once',
      async () => {
        const rows = await sut.dataSource.query(`SELECT name, last_seq::int AS "lastSeq", failures FROM forwarder_cursors ORDER BY name`);
        return rows.length === 3 && rows.every((c: { failures: number }) => c.failures >= 1) ? rows : undefined;
      },
      15_000,
    );
    expect(cursors).toEqual([
      { name: 'siem-syslog', lastSeq: 0, failures: expect.any(Number) },
      { name: 'siem-syslog-lf', lastSeq: 0, failures: expect.any(Number) },
      { name: 'siem-webhook', lastSeq: 0, failures: expect.any(Number) },
    ]);
    expect(cursors.every((c: { failures: number }) => c.failures >= 1)).toBe(true);

    webhook = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
        if (req.headers['x-breakglass-signature'] !== expected) badSignatures++;
        for (const line of body.split('\n').filter(Boolean)) webhookSeqs.push(JSON.parse(line).seq);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => webhook!.listen(webhookPort, '127.0.0.1', resolve));
    syslog = createTcpServer((socket) => {
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        buffer += chunk;
        for (let space = buffer.indexOf(' '); space > 0; space = buffer.indexOf(' ')) {
          const length = Number(buffer.slice(0, space));
          const frame = Buffer.from(buffer.slice(space + 1));
          if (frame.length < length) break;
          const message = frame.subarray(0, length).toString('utf8');
          buffer = frame.subarray(length).toString('utf8');
          expect(message).toMatch(/^<85>1 \S+Z \S+ breakglass - [a-z.]+ \[breakglass@32473 seq="\d+" hash="[0-9a-f]{64}"\] \ufeff\{/);
          syslogSeqs.push(Number(/seq="(\d+)"/.exec(message)![1]));
        }
      });
    });
    await new Promise<void>((resolve) => syslog!.listen(syslogPort, '127.0.0.1', resolve));
    // A receiver set to LF framing: every line one whole message, the MSG a BOM and the event's JSON.
    lfSyslog = createTcpServer((socket) => {
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        buffer += chunk;
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const parsed = /^<85>1 \S+Z \S+ breakglass - [a-z.]+ \[breakglass@99999 seq="(\d+)" hash="[0-9a-f]{64}"\] \ufeff(\{.*\})$/.exec(line);
          expect(parsed).not.toBeNull();
          expect(JSON.parse(parsed![2]).seq).toBe(Number(parsed![1]));
          lfSeqs.push(Number(parsed![1]));
        }
      });
    });
    await new Promise<void>((resolve) => lfSyslog!.listen(lfPort, '127.0.0.1', resolve));
    await addEvents(5);

    const last = await head();
    const deadline = Date.now() + 15_000;
    while ((webhookSeqs.at(-1) !== last || syslogSeqs.at(-1) !== last || lfSeqs.at(-1) !== last) && Date.now() < deadline) await sleep(100);
    const everything = Array.from({ length: last }, (_, i) => i + 1);
    expect(webhookSeqs).toEqual(everything);
    expect(syslogSeqs).toEqual(everything);
    expect(lfSeqs).toEqual(everything);
    expect(badSignatures).toBe(0);
  });
});
