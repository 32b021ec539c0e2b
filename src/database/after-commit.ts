import { EventSubscriber, type EntityManager, type EntitySubscriberInterface, type TransactionCommitEvent, type TransactionRollbackEvent } from 'typeorm';

const CALLBACKS = 'breakglass:afterCommit';

/**
 * Runs `callback` once the transaction of `tx` has committed (never if it rolls back), e.g. to
 * wake a dispatcher for outbox rows that only become visible at commit.
 */
export function afterCommit(tx: EntityManager, callback: () => void): void {
  const data = tx.queryRunner?.data;
  if (!data) return void setImmediate(callback); // not in a transaction: already visible
  ((data[CALLBACKS] ??= []) as (() => void)[]).push(callback);
}

/** Registered on every DataSource (see createDataSource); TypeORM only loads decorated subscribers. */
@EventSubscriber()
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  afterTransactionCommit(event: TransactionCommitEvent): void {
    const callbacks = (event.queryRunner.data?.[CALLBACKS] ?? []) as (() => void)[];
    delete event.queryRunner.data?.[CALLBACKS];
    for (const callback of callbacks) setImmediate(callback);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    delete event.queryRunner.data?.[CALLBACKS];
  }
}
