import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { SlaModule } from '../sla/sla.module';
import { GitopsController } from './gitops.controller';
import { GitopsRepository } from './gitops.repository';
import { Gitops } from './gitops.service';

@Module({
  imports: [AuditModule, NotificationsModule, SlaModule],
  controllers: [GitopsController],
  providers: [Gitops, GitopsRepository],
  exports: [Gitops],
})
export class GitopsModule {}
