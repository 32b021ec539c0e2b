import { describeChanges } from './change-text';
import { sessionChanges, sqlWrites } from './session-changes';
import type { SessionEvent } from './session-event';

describe('what a session changed', () => {
  it('classifies statements with the PostgreSQL parser: writes (DML, MERGE, COPY FROM, DDL, DCL), not reads', async () => {
    expect(await sqlWrites("UPDATE payments.ledger SET amount = 0 WHERE id = 1; select 'UPDATE x'")).toEqual([
      { object: 'payments.ledger', operation: 'UPDATE' },
    ]);
    expect(await sqlWrites('insert into ledger (amount) values (1)')).toEqual([{ object: 'ledger', operation: 'INSERT' }]);
    expect(await sqlWrites('DELETE FROM audit.trail')).toEqual([{ object: 'audit.trail', operation: 'DELETE' }]);
    expect(await sqlWrites('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE')).toEqual([{ object: 't', operation: 'MERGE' }]);
    expect(await sqlWrites('COPY ledger FROM STDIN')).toEqual([{ object: 'ledger', operation: 'COPY FROM' }]);
    expect(await sqlWrites('COPY ledger TO STDOUT')).toEqual([]);
    expect(await sqlWrites('TRUNCATE a, b.c')).toEqual([
      { object: 'a', operation: 'TRUNCATE' },
      { object: 'b.c', operation: 'TRUNCATE' },
    ]);
    expect(await sqlWrites('CREATE TABLE tmp (id int)')).toEqual([{ object: 'tmp', operation: 'CREATE TABLE' }]);
    expect(await sqlWrites('ALTER TABLE ledger ADD COLUMN note text')).toEqual([{ object: 'ledger', operation: 'ALTER TABLE' }]);
    expect(await sqlWrites('GRANT SELECT ON ledger TO public')).toEqual([{ object: '(database)', operation: 'GRANT' }]);
    // A data-modifying WITH inside a SELECT is a write; a plain one is not.
    expect(await sqlWrites('WITH gone AS (DELETE FROM queue RETURNING *) SELECT count(*) FROM gone')).toEqual([{ object: 'queue', operation: 'DELETE' }]);
    expect(await sqlWrites('WITH x AS (SELECT 1) SELECT * FROM x; BEGIN; SET search_path = a; SHOW all; EXPLAIN SELECT 1; COMMIT')).toEqual([]);
    // Comments and strings that look like writes are not; text the parser refuses is not classified.
    expect(await sqlWrites("-- UPDATE ledger\nSELECT 'DELETE FROM ledger'")).toEqual([]);
    expect(await sqlWrites('UPDATE WHERE')).toEqual([]);
  });

  it('counts per object and operation, leaves out statements the target refused, adds Kubernetes writes and CLI command lines', async () => {
    const at = (s: number) => `2026-12-02T10:00:0${s}.000Z`;
    const event = (seq: number, fields: Partial<SessionEvent>): SessionEvent =>
      ({
        grant: 'BG-2026-000001',
        seq,
        cwd: null,
        user: 'oncall-1',
        host: null,
        finishedAt: null,
        exitCode: 0,
        receivedAt: at(seq),
        startedAt: at(seq),
        detail: null,
        prevHash: '',
        hash: '',
        late: false,
        type: 'sql',
        command: null,
        ...fields,
      }) as SessionEvent;
    const events = [
      event(1, { command: 'UPDATE payments.ledger SET amount = 1' }),
      event(2, { type: 'sql.result', exitCode: 0, detail: { statementSeq: 1 } }),
      event(3, { command: 'UPDATE payments.ledger SET amount = 2' }),
      event(4, { type: 'sql.result', exitCode: 1, detail: { statementSeq: 3 } }),
      event(5, { command: 'UPDATE payments.ledger SET amount = 3' }),
      event(6, {
        type: 'k8s',
        command: 'PATCH /apis/apps/v1/namespaces/payments/deployments/api',
        exitCode: 200,
        detail: { verb: 'patch', resource: 'deployments', namespace: 'payments', name: 'api' },
      }),
      event(7, { type: 'k8s', command: 'GET /api/v1/pods', exitCode: 200, detail: { verb: 'list', resource: 'pods' } }),
      event(8, { type: 'k8s', command: 'DELETE …', exitCode: 403, detail: { verb: 'delete', resource: 'secrets', namespace: 'payments', name: 'db' } }),
      event(9, { type: 'command', command: 'psql -c "DELETE FROM ledger"' }),
    ];
    expect(await sessionChanges(events)).toEqual([
      { object: 'payments.ledger', operation: 'UPDATE', count: 2, firstAt: at(1), lastAt: at(5) },
      { object: 'deployments/payments/api', operation: 'PATCH', count: 1, firstAt: at(6), lastAt: at(6) },
      // The CLI's command record: only its line is known, marked COMMAND.
      { object: 'psql -c "DELETE FROM ledger"', operation: 'COMMAND', count: 1, firstAt: at(9), lastAt: at(9) },
    ]);
    expect(describeChanges(await sessionChanges(events))).toBe(
      'UPDATE payments.ledger ×2, PATCH deployments/payments/api, command `psql -c "DELETE FROM ledger"`',
    );
  });
});
