import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { Metrics } from '../health/metrics.service';
import { NotificationsModule } from '../notifications/notifications.module';
import { PullRequestsRepository } from './pull-requests.repository';
import { PullRequests } from './pull-requests.service';
import { SlaClocksRepository } from './sla-clocks.repository';
import { SlaClocks } from './sla-clocks.service';
import { SlaController } from './sla.controller';
import { CLOCK_KINDS, OPEN_CLOCK_STATES } from './sla.views';

@Module({
  imports: [AuditModule, NotificationsModule],
  controllers: [SlaController],
  providers: [SlaClocks, SlaClocksRepository, PullRequests, PullRequestsRepository],
  exports: [SlaClocks, PullRequests],
})
export class SlaModule implements OnModuleInit {
  constructor(
    private readonly repository: SlaClocksRepository,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.metrics.observe(
      'breakglass_sla_clocks',
      'Open SLA clocks, by kind (retro_pr, review) and state (running, pr_noncompliant, breached)',
      ['kind', 'state'],
      async () => {
        const rows = await this.repository.openByState();
        return CLOCK_KINDS.flatMap((kind) =>
          OPEN_CLOCK_STATES.map((state) => ({
            labels: { kind, state },
            value: rows.find((row) => row.kind === kind && row.state === state)?.count ?? 0,
          })),
        );
      },
    );
  }
}
