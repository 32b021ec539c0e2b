import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { SessionsModule } from '../sessions/sessions.module';
import { PgProxyServer } from './pg-proxy.server';
import { StatementRecorder } from './statement-recorder';

/** The recording PostgreSQL proxy (docs/proxy.md). */
@Module({
  imports: [AuditModule, CredentialsModule, SessionsModule],
  providers: [PgProxyServer, StatementRecorder],
})
export class ProxyModule {}
