import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { ProxyAddress } from '../src/credentials/proxy-address';
import { recomputeSessionChain } from './support/session-chain';
import { startTargetServer, type TargetServer } from './support/target-server';
import { testCertificate } from './support/test-certificate';
import { withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

// The recording PostgreSQL pathway against Debian's PostgreSQL as a separate target, with real
// clients: psql, pgbench and node-postgres.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const reason = 'Repairing ledger rows after a failed deploy';
type SessionRecord = {
  [key: string]: unknown;
  seq: number;
  type: string;
  command: string | null;
  detail?: { [key: string]: unknown } | null;
  prevHash: string;
  hash: string;
};

describe('the recording PostgreSQL proxy', () => {
  jest.setTimeout(120_000);
  let target: TargetServer;
  let sut: TestService;
  let engineer: string;
  let security: string;

  const policyYaml = (adminUrl: string) => `
notify: { security: [log] }
channels: { log: { type: log } }
targets:
  - name: payments
    environment: production
    credential: { type: postgres, adminUrl: '${adminUrl}', database: payments, grantRoles: [payments_rw] }
    controls: ['SOC2:CC8.1']
  - name: payments-params
    environment: production
    credential: { type: postgres, adminUrl: '${adminUrl}', database: payments, grantRoles: [payments_rw] }
    recordParameters: true
  - name: payments-fast
    environment: production
    credential: { type: postgres, adminUrl: '${adminUrl}', database: payments, grantRoles: [payments_rw] }
    recording: best-effort
`;

  beforeAll(async () => {
    target = await startTargetServer();
    await withClient(target.adminUrl, async (db) => {
      await db.query('CREATE DATABASE payments');
      await db.query('CREATE ROLE payments_rw NOLOGIN');
    });
    await withClient(target.urlOf('payments'), (db) =>
      db.query(`CREATE TABLE ledger (id serial PRIMARY KEY, amount int);
                GRANT USAGE ON SCHEMA public TO payments_rw;
                GRANT ALL ON ledger TO payments_rw;
                GRANT USAGE ON SEQUENCE ledger_id_seq TO payments_rw;
                CREATE SCHEMA payments AUTHORIZATION payments_rw;
                CREATE TABLE payments.ledger (id int PRIMARY KEY, amount int);
                INSERT INTO payments.ledger VALUES (1, 10);
                ALTER TABLE payments.ledger OWNER TO payments_rw`),
    );
    const init = await run('pgbench', ['-i', '-s', '1', '-q', target.urlOf('payments')]);
    expect(init.code).toBe(0);
    await withClient(target.urlOf('payments'), (db) =>
      db.query('GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers TO payments_rw; GRANT INSERT ON pgbench_history TO payments_rw'),
    );
    sut = await startTestService({ policyYaml: policyYaml(target.adminUrl), env: { BREAKGLASS_PG_PROXY_LOGIN_TIMEOUT_MS: '1000' } });
    engineer = await sut.token('oncall-1', ['engineer']);
    security = await sut.token('sec-1', ['security', 'compliance']);
  });
  afterAll(async () => {
    await sut?.close();
    await target?.stop();
  });

  const breakGlass = async (targetName = 'payments', service = sut) =>
    (
      await service.http
        .post('/v1/grants')
        .set('Authorization', `Bearer ${engineer}`)
        .send({ target: targetName, incident: 'INC-42', reason, durationSeconds: 600 })
        .expect(201)
    ).body;
  const records = async (grantId: string, service = sut): Promise<SessionRecord[]> => {
    const all: SessionRecord[] = [];
    for (let after = 0; ;) {
      const page = (await service.http.get(`/v1/grants/${grantId}/events?limit=1000&after=${after}`).set('Authorization', `Bearer ${security}`).expect(200))
        .body;
      all.push(...page.events);
      if (page.next === null) return all;
      after = page.next;
    }
  };
  /** Records settle after the answers reach the client (results are written alongside): wait for them. */
  const settled = async (grantId: string, count: (records: SessionRecord[]) => boolean, service = sut) => {
    for (let i = 0; i < 100; i++) {
      const found = await records(grantId, service);
      if (count(found)) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`records of ${grantId} did not settle: ${JSON.stringify(await records(grantId, service)).slice(0, 2000)}`);
  };
  const pairs = (found: SessionRecord[]) =>
    found.filter((r) => r.type === 'sql').map((sql) => ({ sql, result: found.find((r) => r.type === 'sql.result' && r.detail?.statementSeq === sql.seq) }));

  it('hands out a proxy login and records psql statements, failures and \\copy server-side', async () => {
    const grant = await breakGlass();
    const { credential } = grant;
    expect(credential).toMatchObject({
      type: 'postgres',
      access: 'proxy',
      host: '127.0.0.1',
      port: expect.any(Number),
      database: 'payments',
      username: expect.stringMatching(/^bg_/),
    });
    expect(credential.url).toBe(`postgres://${credential.username}:${credential.password}@127.0.0.1:${credential.port}/payments`);

    expect((await run('psql', [credential.url, '-XAtc', 'select 1'])).stdout.trim()).toBe('1');
    // The client's startup options reach the target (PGOPTIONS).
    expect((await run('psql', [credential.url, '-XAtc', 'show work_mem'], { env: { PGOPTIONS: '-c work_mem=12MB' } })).stdout.trim()).toBe('12MB');
    expect((await run('psql', [credential.url, '-XAtc', 'select 1; select current_user'])).stdout.trim().split('\n')).toEqual(['1', credential.username]);
    const failing = await run('psql', [credential.url, '-XAtc', 'select 1/0']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('division by zero');
    expect((await run('psql', [credential.url, '-XAtc', '\\copy ledger (amount) from stdin'], { input: '5\n6\n' })).code).toBe(0);
    const copiedOut = await run('psql', [credential.url, '-XAtc', '\\copy (select amount from ledger order by id) to stdout']);
    expect(copiedOut.stdout).toBe('5\n6\n');

    const found = await settled(grant.id, (r) => r.filter((x) => x.type === 'sql.result').length >= 6);
    const byCommand: { [command: string]: ReturnType<typeof pairs>[number] } = Object.fromEntries(pairs(found).map((pair) => [pair.sql.command, pair]));
    expect(byCommand['select 1'].result).toMatchObject({ exitCode: 0, detail: { tag: 'SELECT 1', rows: 1, sqlstate: null } });
    expect(byCommand['select 1; select current_user'].result).toMatchObject({ exitCode: 0, detail: { tag: 'SELECT 1; SELECT 1', rows: 2 } });
    expect(byCommand['select 1/0'].result).toMatchObject({ exitCode: 1, detail: { sqlstate: '22012', message: 'division by zero', tag: null } });
    const copyIn = Object.values(byCommand).find(({ sql }) => /^COPY\s+ledger/i.test(sql.command ?? ''));
    expect(copyIn?.result).toMatchObject({ exitCode: 0, detail: { tag: 'COPY 2', bytes: 4 } });
    expect(JSON.stringify(found)).not.toContain('"5\\n6\\n"'); // the data itself is not recorded
    const copyOut = Object.values(byCommand).find(({ sql }) => /^COPY\s*\(\s*select amount/i.test(sql.command ?? ''));
    expect(copyOut?.result).toMatchObject({ exitCode: 0, detail: { tag: 'COPY 2', bytes: 4 } });
    for (const { sql } of pairs(found))
      expect(sql).toMatchObject({ cwd: 'payments', user: 'oncall-1', host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), detail: { protocol: 'simple' } });

    const head = recomputeSessionChain(found);
    expect((await sut.http.get(`/v1/grants/${grant.id}/events/verify`).set('Authorization', `Bearer ${security}`).expect(200)).body).toMatchObject({
      valid: true,
      headHash: head,
    });
    const transcript = (await sut.http.get(`/v1/grants/${grant.id}/events?format=text`).set('Authorization', `Bearer ${security}`).expect(200)).text;
    expect(transcript).toMatch(/oncall-1@127\.0\.0\.1:\d+ payments SQL> select 1\/0\n.* payments ← ERROR 22012 division by zero \(\d+ ms\)/);

    // Opened and closed sessions are audited with the target's controls.
    const audit = (await sut.http.get(`/v1/audit?grant=${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    const opened = audit.filter((e: { action: string }) => e.action === 'proxy.session_opened');
    expect(opened.length).toBe(6);
    expect(opened[0]).toMatchObject({
      actor: 'oncall-1',
      controls: expect.arrayContaining(['SOC2:CC8.1']),
      data: { tls: false, applicationName: 'psql', database: 'payments' },
    });
    expect(audit.filter((e: { action: string }) => e.action === 'proxy.session_closed')[0].data).toMatchObject({
      statements: 1,
      reason: 'client terminated the session',
    });

    // What the session changed (parsed with PostgreSQL's parser): the COPY into ledger and the two
    // updates that went through, not the reads, not the COPY out, not the update the target refused.
    await run('psql', [credential.url, '-XAtc', "update ledger set amount = amount + 1; update ledger set amount = 'x'"]);
    await run('psql', [credential.url, '-XAtc', '/* fix */ UPDATE ledger SET amount = 7 WHERE id = 1']);
    await run('psql', [credential.url, '-XAtc', 'UPDATE public.ledger SET amount = 8 WHERE id = 2']);
    // The session: UPDATE payments.ledger ×3 and an ALTER TABLE, with a read between.
    for (const sql of [
      'UPDATE payments.ledger SET amount = amount + 1 WHERE id = 1',
      'SELECT amount FROM payments.ledger',
      'UPDATE payments.ledger SET amount = amount + 1 WHERE id = 1',
      'ALTER TABLE payments.ledger ADD COLUMN note text',
      'UPDATE payments.ledger SET note = $$fixed$$ WHERE id = 1',
    ]) {
      expect((await run('psql', [credential.url, '-XAtc', sql])).code).toBe(0);
    }
    await settled(grant.id, (r) => r.filter((x) => x.type === 'sql.result').length >= 14);
    const detail = (await sut.http.get(`/v1/grants/${grant.id}`).set('Authorization', `Bearer ${security}`).expect(200)).body;
    const at = expect.stringMatching(/^\d{4}-/);
    expect(detail.changes).toEqual([
      { object: 'ledger', operation: 'COPY FROM', count: 1, firstAt: at, lastAt: at },
      { object: 'ledger', operation: 'UPDATE', count: 1, firstAt: at, lastAt: at },
      { object: 'public.ledger', operation: 'UPDATE', count: 1, firstAt: at, lastAt: at },
      { object: 'payments.ledger', operation: 'UPDATE', count: 3, firstAt: at, lastAt: at },
      { object: 'payments.ledger', operation: 'ALTER TABLE', count: 1, firstAt: at, lastAt: at },
    ]);
  });

  it('records prepared statements of node-postgres per Execute, with parameter values only when the policy says so', async () => {
    for (const [targetName, expected] of [
      ['payments', 1],
      ['payments-params', ['42']],
    ] as const) {
      const grant = await breakGlass(targetName);
      const client = new Client({ connectionString: grant.credential.url });
      await client.connect();
      for (let i = 0; i < 2; i++) {
        const inserted = await client.query({ name: 'add', text: 'insert into ledger (amount) values ($1) returning amount', values: [42] });
        expect(inserted.rows).toEqual([{ amount: 42 }]);
      }
      await expect(client.query('select * from nowhere')).rejects.toMatchObject({ code: '42P01' });
      await client.end();
      const found = await settled(grant.id, (r) => r.filter((x) => x.type === 'sql.result').length >= 3);
      const statements = pairs(found);
      expect(statements.map(({ sql }) => [sql.command, sql.detail])).toEqual([
        ['insert into ledger (amount) values ($1) returning amount', { protocol: 'extended', parameters: expected }],
        ['insert into ledger (amount) values ($1) returning amount', { protocol: 'extended', parameters: expected }],
        ['select * from nowhere', { protocol: 'simple' }],
      ]);
      expect(statements.map(({ result }) => result?.detail?.tag)).toEqual(['INSERT 0 1', 'INSERT 0 1', null]);
      expect(statements[2].result).toMatchObject({ exitCode: 1, detail: { sqlstate: '42P01' } });
      recomputeSessionChain(found);
    }
  });

  it('carries pgbench -S through the proxy, one record pair per transaction', async () => {
    for (const targetName of ['payments', 'payments-fast']) {
      const grant = await breakGlass(targetName);
      const bench = await run('pgbench', ['-S', '-n', '-c', '2', '-T', '2', grant.credential.url]);
      expect(bench.code).toBe(0);
      const transactions = Number(/number of transactions actually processed: (\d+)/.exec(bench.stdout)?.[1]);
      expect(transactions).toBeGreaterThan(10);
      const found = await settled(grant.id, (r) => {
        const selects = new Set(r.filter((x) => x.type === 'sql' && /^SELECT abalance/.test(x.command ?? '')).map((x) => x.seq));
        const results = r.filter((x) => x.type === 'sql.result' && selects.has(x.detail?.statementSeq as number)).length;
        return results >= transactions;
      });
      expect(found.filter((r) => r.type === 'sql' && /^SELECT abalance FROM pgbench_accounts/.test(r.command ?? '')).length).toBe(transactions);
      expect(found.some((r) => r.type === 'gap')).toBe(false);
      recomputeSessionChain(found);
    }
  });

  it('gives a login that works only at the proxy: the target refuses it, and its own password never leaves the broker', async () => {
    const grant = await breakGlass();
    const direct = await run('psql', [target.urlOf('payments', { name: grant.credential.username, password: grant.credential.password }), '-XAtc', 'select 1']);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/password authentication failed/);
    const stored = await sut.dataSource.query(
      `SELECT proxy_scram::text AS scram, upstream_secret FROM credentials WHERE grant_id = $1 AND purpose = 'access'`,
      [grant.id],
    );
    expect(stored[0].scram).not.toContain(grant.credential.password);
    expect(stored[0].upstream_secret).toMatch(/^[A-Za-z0-9+/=]+$/);
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'done' }).expect(200);
    expect(await sut.dataSource.query(`SELECT proxy_scram, upstream_secret FROM credentials WHERE grant_id = $1 AND purpose = 'access'`, [grant.id])).toEqual([
      { proxy_scram: null, upstream_secret: null },
    ]);
  });

  it('ends an open session with 57P01 within a second of revoke; the login is refused afterwards and the role is gone', async () => {
    const grant = await breakGlass();
    const client = new Client({ connectionString: grant.credential.url });
    await client.connect();
    await client.query('select 1');
    const ended = new Promise<{ error: Error & { code?: string }; at: number }>((resolve) => client.on('error', (error) => resolve({ error, at: Date.now() })));
    const revokedAt = Date.now();
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'suspicious activity' }).expect(200);
    const { error, at } = await ended;
    expect(error.code).toBe('57P01');
    expect(at - revokedAt).toBeLessThan(1000);
    const again = await run('psql', [grant.credential.url, '-XAtc', 'select 1']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/password authentication failed/); // as for any unknown name; the audit says why
    const roles = await withClient(target.adminUrl, (db) => db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [grant.credential.username]));
    expect(roles.rowCount).toBe(0);
    const refused = (await sut.http.get('/v1/audit?action=proxy.login_refused&limit=1000').set('Authorization', `Bearer ${security}`).expect(200)).body.events;
    expect(
      refused.some((e: { data: { username: string; reason: string } }) => e.data.username === grant.credential.username && e.data.reason === 'grant_ended'),
    ).toBe(true);
  });

  it('interleaves the statements of one grant through two instances into one valid chain', async () => {
    const second = await startTestService({ policyYaml: policyYaml(target.adminUrl), alongside: sut });
    try {
      const grant = await breakGlass();
      // The same login at the other instance's proxy.
      const secondPort = second.app.get(ProxyAddress).get().port;
      const viaFirst = new Client({ connectionString: grant.credential.url });
      const viaSecond = new Client({ connectionString: grant.credential.url.replace(`:${grant.credential.port}/`, `:${secondPort}/`) });
      await Promise.all([viaFirst.connect(), viaSecond.connect()]);
      // Both connections at once, each with its own statements in order.
      await Promise.all(
        [viaFirst, viaSecond].map(async (client, k) => {
          for (let i = k; i < 20; i += 2) await client.query(`select ${i}`);
        }),
      );
      await Promise.all([viaFirst.end(), viaSecond.end()]);
      const found = await settled(grant.id, (r) => r.filter((x) => x.type === 'sql.result').length >= 20);
      expect(
        found
          .filter((r) => r.type === 'sql')
          .map((r) => r.command)
          .sort(),
      ).toEqual(Array.from({ length: 20 }, (_, i) => `select ${i}`).sort());
      recomputeSessionChain(found);
      expect((await sut.http.get(`/v1/grants/${grant.id}/events/verify`).set('Authorization', `Bearer ${security}`).expect(200)).body.valid).toBe(true);
    } finally {
      await second.close();
    }
  });
  it('shows an open psql session the 57P01 of its revoked grant', async () => {
    const grant = await breakGlass();
    const psql = spawn('psql', [grant.credential.url, '-X', '-v', 'VERBOSITY=verbose']);
    let output = '';
    psql.stdout.on('data', (chunk) => (output += chunk));
    psql.stderr.on('data', (chunk) => (output += chunk));
    psql.stdin.write('select 11 * 11;\n');
    for (let i = 0; i < 100 && !output.includes('121'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(output).toContain('121');
    await sut.http.post(`/v1/grants/${grant.id}/revoke`).set('Authorization', `Bearer ${security}`).send({ reason: 'incident closed' }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    psql.stdin.end('select 2;\n');
    await new Promise((resolve) => psql.once('close', resolve));
    expect(output).toMatch(/FATAL:\s+57P01/);
    // Who ended it, when and why: not just "terminating connection due to administrator command".
    expect(output).toMatch(new RegExp(`57P01: breakglass: ${grant.id} was revoked by sec-1 at \\S+Z: incident closed — request a new grant`));
  });

  it('stays up for hostile clients: garbage, an unknown protocol, an oversized message, password guessing, a client that never logs in', async () => {
    const grant = await breakGlass();
    const { port, username } = grant.credential;
    const rawExchange = (bytes: Buffer, waitMs = 2000) =>
      new Promise<{ data: Buffer; closed: boolean }>((resolve) => {
        const socket: Socket = connect(port, '127.0.0.1', () => socket.write(bytes));
        let data = Buffer.alloc(0);
        socket.on('data', (chunk) => (data = Buffer.concat([data, chunk])));
        socket.on('error', () => undefined);
        const timer = setTimeout(() => (socket.destroy(), resolve({ data, closed: false })), waitMs);
        socket.on('close', () => (clearTimeout(timer), resolve({ data, closed: true })));
      });
    const fatalCode = (data: Buffer) => /C([0-9A-Z]{5})\0/.exec(data.toString('latin1'))?.[1];

    const garbage = await rawExchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(garbage).toMatchObject({ closed: true });
    expect(fatalCode(garbage.data)).toBe('08P01');
    const version = Buffer.alloc(8);
    version.writeInt32BE(8, 0);
    version.writeInt32BE((4 << 16) | 0, 4);
    const unknownVersion = await rawExchange(version);
    expect(unknownVersion.closed).toBe(true);
    expect(fatalCode(unknownVersion.data)).toBe('08P01');
    // Never logs in: cut off after BREAKGLASS_PG_PROXY_LOGIN_TIMEOUT_MS (1 s here).
    const silent = await rawExchange(Buffer.alloc(0), 5000);
    expect(silent.closed).toBe(true);
    expect(fatalCode(silent.data)).toBe('08006');

    // An authenticated client that announces a 1 GiB message is cut off before it is buffered.
    const client = new Client({ connectionString: grant.credential.url });
    await client.connect();
    const cut = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeUInt32BE(2 ** 30, 1);
    (client as unknown as { connection: { stream: Socket } }).connection.stream.write(header);
    expect((await cut).code).toBe('54000');

    // Password guessing: refused and audited, then the address is blocked for a while; a session
    // already open is not affected.
    const open = new Client({ connectionString: (await breakGlass()).credential.url });
    await open.connect();
    const guesses = [];
    for (let i = 0; i < 7; i++) guesses.push(await run('psql', [`postgres://${username}:wrong-${i}@127.0.0.1:${port}/payments`, '-XAtc', 'select 1']));
    expect(guesses.every((guess) => guess.code !== 0 && /password authentication failed/.test(guess.stderr))).toBe(true);
    const refused = (
      await sut.http.get('/v1/audit?action=proxy.login_refused&limit=1000').set('Authorization', `Bearer ${security}`).expect(200)
    ).body.events.filter((e: { data: { username: string | null } }) => e.data.username === username);
    expect(refused.map((e: { data: { reason: string } }) => e.data.reason)).toEqual([
      'wrong_password',
      'wrong_password',
      'wrong_password',
      'wrong_password',
      'wrong_password',
      'rate_limited',
    ]);

    // Nothing partial was recorded, and the proxy still serves.
    expect(await records(grant.id)).toHaveLength(0); // the cut-off message was never a statement
    expect((await open.query('select 42 AS answer')).rows).toEqual([{ answer: 42 }]);
    await open.end();
    const metrics = (await sut.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/breakglass_pg_proxy_logins_refused_total\{reason="wrong_password"\} [4-9]/);
    expect(metrics).toMatch(/breakglass_pg_proxy_statements_recorded_total\{recording="strict"\} \d+/);
  });
});

describe('the recording PostgreSQL proxy with TLS', () => {
  jest.setTimeout(60_000);
  let target: TargetServer;
  let sut: TestService;

  beforeAll(async () => {
    const { certFile, keyFile } = testCertificate();
    target = await startTargetServer();
    await withClient(target.adminUrl, (db) => db.query('CREATE ROLE tls_rw NOLOGIN'));
    sut = await startTestService({
      policyYaml: `targets:\n  - { name: db, environment: production, credential: { type: postgres, adminUrl: '${target.adminUrl}', grantRoles: [tls_rw] } }\n`,
      env: { BREAKGLASS_PG_PROXY_TLS_CERT: certFile, BREAKGLASS_PG_PROXY_TLS_KEY: keyFile },
    });
  });
  afterAll(async () => {
    await sut?.close();
    await target?.stop();
  });

  it('answers SSLRequest with TLS and refuses a plaintext login', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    const { body: grant } = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'db', incident: 'INC-43', reason, durationSeconds: 600 })
      .expect(201);
    const secure = await run('psql', [`${grant.credential.url}?sslmode=require`, '-XAtc', 'select 1']);
    expect(secure.stdout.trim()).toBe('1');
    expect(secure.code).toBe(0);
    const plain = await run('psql', [`${grant.credential.url}?sslmode=disable`, '-XAtc', 'select 1']);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/SSL connection is required/);
    const security = await sut.token('sec-1', ['security']);
    const opened = (await sut.http.get(`/v1/audit?grant=${grant.id}&action=proxy.session_opened`).set('Authorization', `Bearer ${security}`).expect(200)).body
      .events;
    expect(opened.map((e: { data: { tls: boolean } }) => e.data.tls)).toEqual([true]);
  });
});
