import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/audit-log.service';
import { freePort } from './support/ports';
import { startTestService, type TestService } from './support/test-service';
import { hasTool } from './support/tools';
import { until } from './support/until';

// A real receiver instead of our own parser: Debian's rsyslogd with imtcp set to LF framing only
// (octet counting off), parsing RFC 5424, writing the fields it parsed to a file.

const hasRsyslog = hasTool('rsyslogd', ['-v']);

(hasRsyslog ? describe : describe.skip)('syslog forwarding into a real rsyslogd (LF framing)', () => {
  let sut: TestService;
  let rsyslogd: ChildProcess;
  let workdir: string;
  let output: string;

  const portOpen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).on('error', () => resolve(false));
    });

  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'rsyslogd-'));
    output = join(workdir, 'received.log');
    const port = await freePort();
    const config = join(workdir, 'rsyslog.conf');
    writeFileSync(
      config,
      `global(workDirectory="${workdir}" maxMessageSize="64k")
module(load="imtcp")
template(name="fields" type="list") {
  property(name="app-name") constant(value="\\t") property(name="msgid") constant(value="\\t")
  property(name="structured-data") constant(value="\\t") property(name="msg") constant(value="\\n")
}
ruleset(name="breakglass") { action(type="omfile" file="${output}" template="fields") }
input(type="imtcp" address="127.0.0.1" port="${port}" supportOctetCountedFraming="off" ruleset="breakglass")
`,
    );
    rsyslogd = spawn('rsyslogd', ['-n', '-f', config, '-i', join(workdir, 'rsyslogd.pid')], { stdio: ['ignore', 'inherit', 'inherit'] });
    await until('rsyslogd listening', async () => (await portOpen(port)) || undefined);
    sut = await startTestService({
      policyYaml: `
forwarders:
  - { name: rsyslog, type: syslog, host: 127.0.0.1, port: ${port}, framing: lf }
targets:
  - { name: cluster, environment: production, credential: { type: jwt, audience: kubernetes } }
`,
    });
  });
  afterAll(async () => {
    await sut?.close();
    rsyslogd?.kill('SIGTERM');
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('receives every audit event as one whole RFC 5424 message, UTF-8 intact', async () => {
    const auditLog = sut.app.get(AuditLog);
    const names = ['Zoë Ångström', '事故対応', 'emoji 🚨 and a "quote"', 'line\nbreak and tab\t'];
    for (const name of names) await sut.dataSource.transaction((tx) => auditLog.append(tx, { actor: 'oncall-1', action: 'grant.requested', data: { name } }));
    const last = (await auditLog.head()).seq;

    const lines = await until('rsyslogd wrote every event', () => {
      const received = existsSync(output) ? readFileSync(output, 'utf8').split('\n').filter(Boolean) : [];
      return received.length >= last ? received : undefined;
    });
    expect(lines).toHaveLength(last);
    const events = lines.map((line) => {
      const [appName, msgid, structuredData, msg] = line.split('\t');
      expect(appName).toBe('breakglass');
      const sd = /^\[breakglass@32473 seq="(\d+)" hash="([0-9a-f]{64})"\]$/.exec(structuredData);
      expect(sd).not.toBeNull();
      const event = JSON.parse(msg.replace(/^\ufeff/, ''));
      expect(event).toMatchObject({ seq: Number(sd![1]), hash: sd![2], action: msgid });
      return event;
    });
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(events.slice(-names.length).map((event) => event.data.name)).toEqual(names);
  });
});
