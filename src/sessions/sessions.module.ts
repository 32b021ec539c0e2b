import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { DatabaseClock } from '../database/database-clock';
import { NotificationsModule } from '../notifications/notifications.module';
import { SlaModule } from '../sla/sla.module';
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
export class SessionsModule {}
