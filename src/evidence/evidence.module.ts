import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { ForgeModule } from '../forge/forge.module';
import { GitopsModule } from '../gitops/gitops.module';
import { GrantsModule } from '../grants/grants.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { SessionsModule } from '../sessions/sessions.module';
import { SlaModule } from '../sla/sla.module';
import { TransparencyModule } from '../transparency/transparency.module';
import { ComplianceReport } from './compliance-report';
import { ComplianceReportRepository } from './compliance-report.repository';
import { EvidenceController } from './evidence.controller';
import { Evidence } from './evidence.service';
import { PeriodExport } from './period-export';
import { SiemForwarder } from './siem-forwarder';
import { SiemForwarderRepository } from './siem-forwarder.repository';

@Module({
  imports: [AuditModule, CredentialsModule, ForgeModule, GitopsModule, GrantsModule, NotificationsModule, SessionsModule, SlaModule, TransparencyModule],
  controllers: [EvidenceController],
  providers: [Evidence, PeriodExport, ComplianceReport, ComplianceReportRepository, SiemForwarder, SiemForwarderRepository],
  exports: [Evidence],
})
export class EvidenceModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly forwarder: SiemForwarder,
  ) {}

  onModuleInit(): void {
    this.events.onCommitted('audit.appended', () => this.forwarder.wake());
  }
}
