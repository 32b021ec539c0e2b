import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AnchorsRepository } from './anchors.repository';
import { CheckpointAnchors } from './checkpoint-anchors.service';
import { TransparencyLog } from './transparency-log.service';
import { TransparencyController } from './transparency.controller';
import { TransparencyRepository } from './transparency.repository';

@Module({
  imports: [AuditModule, CredentialsModule, NotificationsModule],
  controllers: [TransparencyController],
  providers: [TransparencyLog, TransparencyRepository, CheckpointAnchors, AnchorsRepository],
  exports: [TransparencyLog],
})
export class TransparencyModule implements OnModuleInit {
  constructor(
    private readonly events: DomainEventBus,
    private readonly log: TransparencyLog,
  ) {}

  onModuleInit(): void {
    // The tree follows the chain: committed audit events are hashed in at once, not at the next look.
    this.events.onCommitted('audit.appended', () => this.log.wake());
  }
}
