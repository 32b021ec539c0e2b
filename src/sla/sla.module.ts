import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PullRequestsRepository } from './pull-requests.repository';
import { PullRequests } from './pull-requests.service';
import { SlaClocksRepository } from './sla-clocks.repository';
import { SlaClocks } from './sla-clocks.service';
import { SlaController } from './sla.controller';

@Module({
  imports: [AuditModule, NotificationsModule],
  controllers: [SlaController],
  providers: [SlaClocks, SlaClocksRepository, PullRequests, PullRequestsRepository],
  exports: [SlaClocks, PullRequests],
})
export class SlaModule {}
