import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuditModule } from '../audit/audit.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { EvidenceModule } from '../evidence/evidence.module';
import { GrantsModule } from '../grants/grants.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PagerDutyModule } from '../pagerduty/pagerduty.module';
import { SessionsModule } from '../sessions/sessions.module';
import { CredentialProofs } from './credential-proofs';
import { DrillRunner } from './drill-runner';
import { DrillsController } from './drills.controller';
import { DrillsRepository } from './drills.repository';
import { Drills } from './drills.service';

@Module({
  imports: [ScheduleModule.forRoot(), AuditModule, CredentialsModule, EvidenceModule, GrantsModule, NotificationsModule, PagerDutyModule, SessionsModule],
  controllers: [DrillsController],
  providers: [Drills, DrillRunner, DrillsRepository, CredentialProofs],
})
export class DrillsModule {}
