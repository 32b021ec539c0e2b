import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { DatabaseClock } from '../database/database-clock';
import { NotificationsModule } from '../notifications/notifications.module';
import { SlaModule } from '../sla/sla.module';
import { describeChanges } from './change-text';
import { Reviews } from './reviews.service';
import { SessionTokenGuard } from './session-token.guard';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { Sessions } from './sessions.service';

@Module({
  imports: [AuditModule, CredentialsModule, NotificationsModule, SlaModule],
  controllers: [SessionsController],
  providers: [Sessions, SessionsRepository, Reviews, SessionTokenGuard, DatabaseClock],
  exports: [Sessions, Reviews],
})
export class SessionsModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly sessions: Sessions,
  ) {}

  onModuleInit(): void {
    // The retro-PR reminder and breach notices name what the session changed: what the PR should cover.
    this.events.contribute('retro-pr.facts', async (_tx, { grantId }): Promise<Record<string, string>> => {
      const changes = await this.sessions.changes(grantId);
      return changes.length ? { changes: `${describeChanges(changes)} (your PR should cover them)` } : {};
    });
  }
}
