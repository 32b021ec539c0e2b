import { afterCommit } from '../src/database/after-commit';
import { createDataSource } from '../src/database/data-source';
import { createTestDatabase, type TestDatabase } from './support/test-database';

describe(afterCommit.name, () => {
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
