import { DomainEventBus } from '../src/common/domain-events';
import { afterCommit } from '../src/database/after-commit';
import { createDataSource } from '../src/database/data-source';
import { createTestDatabase, type TestDatabase } from './support/test-database';

// One test database for both subjects: the after-commit hook and the domain event bus built on it.
let database: TestDatabase;
let dataSource: ReturnType<typeof createDataSource>;

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = createDataSource(database.url, 2);
  await dataSource.initialize();
});
afterAll(async () => {
  await dataSource.destroy();
  await database.drop();
});

describe(afterCommit.name, () => {
  it('runs the callback after the transaction commits, when its writes are visible', async () => {
    const seen = await new Promise<number>((resolve, reject) => {
      dataSource
        .transaction(async (tx) => {
          await tx.query(`INSERT INTO installation (id) VALUES ('abc123')`);
          afterCommit(tx, () => dataSource.query(`SELECT count(*)::int AS n FROM installation`).then(([row]) => resolve(row.n), reject));
        })
        .catch(reject);
    });
    expect(seen).toBe(1);
  });

  it('never runs it when the transaction rolls back', async () => {
    const calls: string[] = [];
    await expect(
      dataSource.transaction(async (tx) => {
        afterCommit(tx, () => calls.push('called'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([]);
  });
});

// Test-only events, declared the way domains declare theirs.
declare module '../src/common/domain-events' {
  interface CommittedEvents {
    'test.committed': true;
  }
  interface TransactionEvents {
    'test.in-transaction': { id: string };
  }
  interface Contributions {
    'test.parts': { request: { n: number }; part: number };
  }
}

describe(DomainEventBus.name, () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('runs every committed-event listener after the commit, none after a rollback', async () => {
    const bus = new DomainEventBus();
    const calls: string[] = [];
    bus.onCommitted('test.committed', () => calls.push('first'));
    bus.onCommitted('test.committed', () => calls.push('second'));
    await dataSource.transaction(async (tx) => {
      bus.publishAfterCommit(tx, 'test.committed');
      await settle();
      expect(calls).toEqual([]); // not before the commit
    });
    await settle();
    expect(calls).toEqual(['first', 'second']);
    await expect(
      dataSource.transaction(async (tx) => {
        bus.publishAfterCommit(tx, 'test.committed');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await settle();
    expect(calls).toEqual(['first', 'second']);
  });

  it('runs in-transaction listeners inside the transaction: their writes roll back with it', async () => {
    const bus = new DomainEventBus();
    bus.onInTransaction('test.in-transaction', async (tx, { id }) => void (await tx.query(`INSERT INTO installation (id) VALUES ($1)`, [id])));
    await dataSource.transaction((tx) => bus.publish(tx, 'test.in-transaction', { id: 'cafe01' }));
    await expect(
      dataSource.transaction(async (tx) => {
        await bus.publish(tx, 'test.in-transaction', { id: 'dead02' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const ids = (await dataSource.query(`SELECT id FROM installation WHERE id IN ('cafe01', 'dead02')`)).map((row: { id: string }) => row.id);
    expect(ids).toEqual(['cafe01']);
  });

  it('collects every contribution, in registration order', async () => {
    const bus = new DomainEventBus();
    bus.contribute('test.parts', async (_tx, { n }) => n * 2);
    bus.contribute('test.parts', async (_tx, { n }) => n + 1);
    expect(await dataSource.transaction((tx) => bus.collect(tx, 'test.parts', { n: 5 }))).toEqual([10, 6]);
  });
});
