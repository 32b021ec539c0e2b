import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
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
export class GitopsModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly gitops: Gitops,
  ) {}

  onModuleInit(): void {
    this.events.onInTransaction('pull-request.merged', (tx, merged) => this.gitops.closeLoopAtMerge(tx, merged));
    this.events.contribute('retro-pr.facts', (tx, { grantId }) => this.gitops.retroPrFacts(tx, grantId));
  }
}
