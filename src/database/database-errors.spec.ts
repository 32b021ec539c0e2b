import { QueryFailedError, TypeORMError } from 'typeorm';
import { QueryRunnerProviderAlreadyReleasedError } from 'typeorm/error/QueryRunnerProviderAlreadyReleasedError';
import { isDatabaseUnavailable } from './database-errors';

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'an admin shutdown wrapped by TypeORM',
      new QueryFailedError('SELECT 1', [], Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })),
    ],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a transaction whose connection TypeORM released', new QueryRunnerProviderAlreadyReleasedError()],
  ])('recognises %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a constraint violation', new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate key'), { code: '23505' }))],
    ['a programming error', new TypeORMError('something else')],
    ['nothing', undefined],
  ])('does not mistake %s for an outage', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
