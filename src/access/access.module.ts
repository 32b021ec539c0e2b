import { Global, Module } from '@nestjs/common';
import { GrantReader } from './grant-reader';

/** The grant kernel every grant-scoped domain uses: ids, errors, the access table, the reader. */
@Global()
@Module({ providers: [GrantReader], exports: [GrantReader] })
export class AccessModule {}
