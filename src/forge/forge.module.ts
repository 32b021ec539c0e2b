import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { SlaModule } from '../sla/sla.module';
import { ForgeClients } from './forge-clients';
import { PrVerificationsRepository } from './pr-verifications.repository';
import { PrVerifications } from './pr-verifications.service';

/** Evidence from GitHub and GitLab about merged retro PRs (P2.7, docs/forge-evidence.md). */
@Module({
  imports: [AuditModule, SlaModule],
  providers: [ForgeClients, PrVerifications, PrVerificationsRepository],
  exports: [PrVerifications],
})
export class ForgeModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly verifications: PrVerifications,
  ) {}

  onModuleInit(): void {
    this.events.onInTransaction('pull-request.merged', (tx, merged) => this.verifications.request(tx, merged));
    // Only the forge knows whether a hand-linked PR is merged: it is asked (and, if merged, verified).
    this.events.onInTransaction('pull-request.linked-by-hand', (tx, linked) => this.verifications.request(tx, linked));
  }
}
