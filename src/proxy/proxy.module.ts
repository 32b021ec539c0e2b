import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { SessionsModule } from '../sessions/sessions.module';
import { PgProxyServer } from './pg-proxy.server';
import { StatementRecorder } from './statement-recorder';

/** The recording PostgreSQL proxy (docs/proxy.md). */
@Module({
  imports: [AuditModule, CredentialsModule, SessionsModule],
  providers: [PgProxyServer, StatementRecorder],
})
export class ProxyModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly proxy: PgProxyServer,
  ) {}

  onModuleInit(): void {
    // This instance's sessions end with the broker's own FATAL before the target's backends are terminated.
    this.events.onInTransaction('grant.ending', async (_tx, grant) => this.proxy.endSessionsOf(grant));
  }
}
