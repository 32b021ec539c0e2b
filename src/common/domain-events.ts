import { Global, Injectable, Module } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { afterCommit } from '../database/after-commit';

/*
 * The events domains tell each other, by name. A domain declares the events it publishes by
 * augmenting one of these interfaces next to the code that publishes them (`declare module
 * '../common/domain-events' { interface CommittedEvents { 'audit.appended': true } }`), so the bus
 * stays below every domain and every payload stays typed. Listeners are registered in module files
 * (`onModuleInit`), where a reader of the module sees who listens to what.
 */
/* eslint-disable @typescript-eslint/no-empty-object-type -- filled by module augmentation */

/** Listeners run once the publishing transaction has committed (never after a rollback), e.g. to wake a loop. */
export interface CommittedEvents {}

/** Listeners run in order inside the publishing transaction: what they write commits or rolls back with it. */
export interface TransactionEvents {}

/** Every contributor gives a part of an answer (in the transaction); the publisher collects them. */
export interface Contributions {}
/* eslint-enable @typescript-eslint/no-empty-object-type */

type Committed = keyof CommittedEvents & string;
type InTransaction = keyof TransactionEvents & string;
type Contribution = keyof Contributions & string;
type ContributionOf<K extends Contribution> = Contributions[K] extends { request: infer R; part: infer P } ? { request: R; part: P } : never;

@Injectable()
export class DomainEventBus {
  private readonly committedListeners = new Map<string, (() => void)[]>();
  private readonly transactionListeners = new Map<string, ((tx: EntityManager, payload: unknown) => Promise<void>)[]>();
  private readonly contributors = new Map<string, ((tx: EntityManager, request: unknown) => Promise<unknown>)[]>();

  onCommitted<K extends Committed>(name: K, listener: () => void): void {
    listFor(this.committedListeners, name).push(listener);
  }

  onInTransaction<K extends InTransaction>(name: K, listener: (tx: EntityManager, payload: TransactionEvents[K]) => Promise<void>): void {
    listFor(this.transactionListeners, name).push(listener as (tx: EntityManager, payload: unknown) => Promise<void>);
  }

  contribute<K extends Contribution>(
    name: K,
    contributor: (tx: EntityManager, request: ContributionOf<K>['request']) => Promise<ContributionOf<K>['part']>,
  ): void {
    listFor(this.contributors, name).push(contributor as (tx: EntityManager, request: unknown) => Promise<unknown>);
  }

  /** Every listener of `name` runs after `tx` commits. */
  publishAfterCommit<K extends Committed>(tx: EntityManager, name: K): void {
    const listeners = this.committedListeners.get(name);
    if (listeners?.length) afterCommit(tx, () => this.publishCommitted(name));
  }

  /** Every listener of `name` runs now: for work committed by a statement outside any transaction of the caller. */
  publishCommitted<K extends Committed>(name: K): void {
    this.committedListeners.get(name)?.forEach((listener) => listener());
  }

  /** Every listener of `name` runs now, in order, inside `tx`. */
  async publish<K extends InTransaction>(tx: EntityManager, name: K, payload: TransactionEvents[K]): Promise<void> {
    for (const listener of this.transactionListeners.get(name) ?? []) await listener(tx, payload);
  }

  /** The parts every contributor of `name` gives for `request`, in registration order. */
  collect<K extends Contribution>(tx: EntityManager, name: K, request: ContributionOf<K>['request']): Promise<ContributionOf<K>['part'][]> {
    return Promise.all((this.contributors.get(name) ?? []).map((contributor) => contributor(tx, request) as Promise<ContributionOf<K>['part']>));
  }
}

function listFor<T>(map: Map<string, T[]>, name: string): T[] {
  if (!map.has(name)) map.set(name, []);
  return map.get(name)!;
}

/** The bus, one per application, for every module. */
@Global()
@Module({ providers: [DomainEventBus], exports: [DomainEventBus] })
export class DomainEventsModule {}
