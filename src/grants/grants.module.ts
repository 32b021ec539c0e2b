import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { LoadedPolicy } from '../config/config.providers';
import { CredentialsModule } from '../credentials/credentials.module';
import { ForgeModule } from '../forge/forge.module';
import { GitopsModule } from '../gitops/gitops.module';
import { Metrics } from '../health/metrics.service';
import { NotificationsModule } from '../notifications/notifications.module';
import { PagerDutyModule } from '../pagerduty/pagerduty.module';
import { SessionsModule } from '../sessions/sessions.module';
import { SlaModule } from '../sla/sla.module';
import { GrantsController } from './grants.controller';
import { GrantsRepository } from './grants.repository';
import { Grants } from './grants.service';
import { TargetsController } from './targets.controller';

@Module({
  imports: [AuditModule, CredentialsModule, ForgeModule, SlaModule, NotificationsModule, SessionsModule, GitopsModule, PagerDutyModule],
  controllers: [TargetsController, GrantsController],
  providers: [Grants, GrantsRepository],
  exports: [Grants],
})
export class GrantsModule implements OnModuleInit {
  constructor(
    private readonly repository: GrantsRepository,
    private readonly metrics: Metrics,
    private readonly policy: LoadedPolicy,
  ) {}

  onModuleInit(): void {
    this.metrics.observe('breakglass_grants_active', 'Grants whose access is live, by target', ['target'], async () => {
      const counts = new Map((await this.repository.activeByTarget()).map((row) => [row.target, row.count]));
      return this.policy.targets.map(({ name }) => ({ labels: { target: name }, value: counts.get(name) ?? 0 }));
    });
  }
}
