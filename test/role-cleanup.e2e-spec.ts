import { escapeIdentifier } from 'pg';
import { ensureDatabase } from '../src/database/data-source';
import { startTargetServer, type TargetServer } from './support/target-server';
import { testServerUrl, withClient } from './support/test-database';
import { startTestService, type TestService } from './support/test-service';

// A hostile grantee tries to keep access after its grant: objects that would run with someone
// else's rights once the broker hands them over at revoke. Against Debian's PostgreSQL server as
// a separate target, as in production.

const ANALYST = { name: 'analyst', password: 'analyst-password-1' };
const reason = 'Restoring the ledger after a failed migration';

describe('revoking a postgres grant leaves nothing that runs with borrowed rights', () => {
  let target: TargetServer;
  let sut: TestService;

  beforeAll(async () => {
    target = await startTargetServer();
    await withClient(target.adminUrl, async (db) => {
      await db.query('CREATE DATABASE payments');
      await db.query('CREATE DATABASE reporting');
      await db.query('CREATE ROLE payments_rw NOLOGIN');
      await db.query('CREATE ROLE role_maker NOLOGIN CREATEROLE');
      await db.query(`CREATE ROLE ${ANALYST.name} LOGIN PASSWORD '${ANALYST.password}'`);
    });
    await withClient(target.urlOf('payments'), (db) =>
      db.query(`CREATE TABLE public.ledger (id serial PRIMARY KEY, amount int);
                GRANT USAGE, CREATE ON SCHEMA public TO payments_rw;
                GRANT ALL ON public.ledger TO payments_rw;
                GRANT USAGE ON SEQUENCE public.ledger_id_seq TO payments_rw;
                GRANT INSERT, SELECT ON public.ledger TO ${ANALYST.name};
                GRANT USAGE ON SEQUENCE public.ledger_id_seq TO ${ANALYST.name}`),
    );
    sut = await startTestService({
      policyYaml: `
targets:
  - name: payments
    environment: production
    credential: { type: postgres, adminUrl: '${target.adminUrl}', database: payments, grantRoles: [payments_rw] }
    access: direct   # the attacks below are run by the temporary role itself
    controls: ['SOC2:CC8.1']
  - name: payments-maker
    environment: production
    credential: { type: postgres, adminUrl: '${target.adminUrl}', database: payments, grantRoles: [role_maker] }
    access: direct
`,
    });
  });
  afterAll(async () => {
    await sut?.close();
    await target?.stop();
  });

  const superusers = () =>
    withClient(target.adminUrl, async (db) => (await db.query(`SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1`)).rows.map((r) => r.rolname));
  const roleExists = (name: string) =>
    withClient(target.adminUrl, async (db) => (await db.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name])).rowCount === 1);

  it('neutralises SECURITY DEFINER functions, trigger traps and large objects in every database, then drops the role', async () => {
    const engineer = await sut.token('oncall-1', ['engineer']);
    const security = await sut.token('sec-1', ['security', 'compliance']);
    const { body: grant } = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'payments', incident: 'INC-7', reason, durationSeconds: 600 })
      .expect(201);
    const { username, password } = grant.credential;
    const asGrantee = { name: username, password };

    await withClient(target.urlOf('payments', asGrantee), (db) =>
      db.query(`
        -- 1. A function that makes a superuser, waiting for a rightful owner.
        CREATE FUNCTION public.pwn() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
          AS $$ BEGIN EXECUTE 'CREATE ROLE evil_definer LOGIN SUPERUSER'; END $$;
        -- 2. A table open to everyone whose trigger runs as the function's owner.
        CREATE TABLE public.notes (t text);
        GRANT INSERT ON public.notes TO PUBLIC;
        CREATE FUNCTION public.on_note() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
          AS $$ BEGIN EXECUTE 'CREATE ROLE evil_trigger LOGIN SUPERUSER'; RETURN NEW; END $$;
        CREATE TRIGGER note_trap BEFORE INSERT ON public.notes FOR EACH ROW EXECUTE FUNCTION public.on_note();
        -- 3. A trap on the admin's own table (TRIGGER comes with ALL), firing as whoever inserts.
        CREATE FUNCTION public.on_ledger() RETURNS trigger LANGUAGE plpgsql
          AS $$ BEGIN IF current_setting('is_superuser') = 'on' THEN EXECUTE 'CREATE ROLE evil_invoker LOGIN SUPERUSER'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER ledger_trap BEFORE INSERT ON public.ledger FOR EACH ROW EXECUTE FUNCTION public.on_ledger();
        -- 4. The incident's actual fix, which must survive.
        CREATE TABLE public.ledger_fix (id int);`),
    );
    // 5. A large object in another database would block DROP ROLE for ever.
    await withClient(target.urlOf('reporting', asGrantee), (db) => db.query('SELECT lo_create(0)'));

    const revoked = await sut.http
      .post(`/v1/grants/${grant.id}/revoke`)
      .set('Authorization', `Bearer ${security}`)
      .send({ reason: 'incident over' })
      .expect(200);
    expect(revoked.body.credential).toMatchObject({ providerStatus: 'revoked' });
    expect(await roleExists(username)).toBe(false);

    // Another ordinary login cannot run the function, and firing either trigger makes nobody.
    await withClient(target.urlOf('payments', ANALYST), async (db) => {
      await expect(db.query('SELECT public.pwn()')).rejects.toMatchObject({ code: '42501' });
      await db.query(`INSERT INTO public.notes VALUES ('hello')`);
      await db.query('INSERT INTO public.ledger (amount) VALUES (1)');
    });
    // Nor does the admin's own everyday insert into its table.
    await withClient(target.urlOf('payments'), (db) => db.query('INSERT INTO public.ledger (amount) VALUES (2)'));
    expect(await superusers()).toEqual(['postgres']);

    // What was kept belongs to the holder role, and nothing of it runs as its definer.
    const kept = await withClient(target.urlOf('payments'), async (db) => ({
      routines: (
        await db.query(`SELECT proname, pg_get_userbyid(proowner) AS owner, prosecdef FROM pg_proc WHERE proname IN ('pwn', 'on_note', 'on_ledger') ORDER BY 1`)
      ).rows,
      tables: (await db.query(`SELECT tablename, tableowner FROM pg_tables WHERE tablename IN ('notes', 'ledger_fix', 'ledger') ORDER BY 1`)).rows,
      triggers: (await db.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)).rows,
    }));
    expect(kept.routines).toEqual([
      { proname: 'on_ledger', owner: 'breakglass_orphans', prosecdef: false },
      { proname: 'on_note', owner: 'breakglass_orphans', prosecdef: false },
      { proname: 'pwn', owner: 'breakglass_orphans', prosecdef: false },
    ]);
    expect(kept.tables).toEqual([
      { tablename: 'ledger', tableowner: 'postgres' },
      { tablename: 'ledger_fix', tableowner: 'breakglass_orphans' },
      { tablename: 'notes', tableowner: 'breakglass_orphans' },
    ]);
    expect(kept.triggers).toEqual([]);
    const largeObjectOwner = await withClient(
      target.urlOf('reporting'),
      async (db) => (await db.query(`SELECT pg_get_userbyid(lomowner) AS owner FROM pg_largeobject_metadata`)).rows,
    );
    expect(largeObjectOwner).toEqual([{ owner: 'breakglass_orphans' }]);
    const holder = await withClient(
      target.adminUrl,
      async (db) =>
        (
          await db.query(
            `SELECT rolcanlogin, rolsuper, rolcreaterole, (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships FROM pg_roles r WHERE rolname = 'breakglass_orphans'`,
          )
        ).rows[0],
    );
    expect(holder).toEqual({ rolcanlogin: false, rolsuper: false, rolcreaterole: false, memberships: 0 });

    // The cleanup is evidence: in the audit chain, in the revoke's own transaction.
    const audit = await sut.http.get(`/v1/audit?grant=${grant.id}&action=credential.cleanup`).set('Authorization', `Bearer ${security}`).expect(200);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0].data).toMatchObject({
      username,
      holder: 'breakglass_orphans',
      databases: ['payments', 'reporting'],
      routinesNeutralised: ['payments: on_ledger()', 'payments: on_note()', 'payments: pwn()'],
      triggersDropped: ['payments: ledger_trap ON ledger', 'payments: note_trap ON notes'],
      largeObjects: 1,
    });
    expect(audit.body.events[0].data.objectsReassigned).toBeGreaterThanOrEqual(6);
  });

  it('refuses a policy role that could create logins the broker would never take back', async () => {
    const engineer = await sut.token('oncall-2', ['engineer']);
    const before = await withClient(
      target.adminUrl,
      async (db) => (await db.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'bg\\_%'`)).rows[0].n,
    );
    const refused = await sut.http
      .post('/v1/grants')
      .set('Authorization', `Bearer ${engineer}`)
      .send({ target: 'payments-maker', incident: 'INC-8', reason, durationSeconds: 600 })
      .expect(403);
    expect(refused.body).toMatchObject({ error: 'grant_role_unsafe', details: { roles: ['role_maker'] } });
    const after = await withClient(
      target.adminUrl,
      async (db) => (await db.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'bg\\_%'`)).rows[0].n,
    );
    expect(after).toBe(before);
  });
});

describe("the broker's own database", () => {
  it('is closed to the logins of the demo target that live on the same server', async () => {
    const name = `bg_connect_${Date.now()}`;
    const url = await ensureDatabase(testServerUrl(), name);
    const login = { name: `bg_probe_${Date.now()}`, password: 'probe-password-1' };
    await withClient(testServerUrl(), (db) => db.query(`CREATE ROLE ${escapeIdentifier(login.name)} LOGIN PASSWORD '${login.password}'`));
    try {
      const asLogin = new URL(url);
      asLogin.username = login.name;
      asLogin.password = login.password;
      await expect(withClient(asLogin.toString(), (db) => db.query('SELECT 1'))).rejects.toMatchObject({ code: '42501' });
      // The demo target's own database stays reachable for it.
      const postgres = new URL(asLogin);
      postgres.pathname = '/postgres';
      await withClient(postgres.toString(), (db) => db.query('SELECT 1'));
    } finally {
      await withClient(testServerUrl(), async (db) => {
        await db.query(`DROP DATABASE ${escapeIdentifier(name)} WITH (FORCE)`);
        await db.query(`DROP ROLE ${escapeIdentifier(login.name)}`);
      });
    }
  });
});
