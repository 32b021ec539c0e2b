import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { GitopsModule } from '../gitops/gitops.module';
import { PagerDutyOnCall } from '../integrations/pagerduty/on-call';
import { NotificationsModule } from '../notifications/notifications.module';
import { SessionsModule } from '../sessions/sessions.module';
import { SlaModule } from '../sla/sla.module';
import { GrantsController } from './grants.controller';
import { GrantsRepository } from './grants.repository';
import { Grants } from './grants.service';
import { TargetsController } from './targets.controller';

@Module({
  imports: [AuditModule, CredentialsModule, SlaModule, NotificationsModule, SessionsModule, GitopsModule],
  controllers: [TargetsController, GrantsController],
  providers: [Grants, GrantsRepository, PagerDutyOnCall],
  exports: [Grants],
})
export class GrantsModule {}
