import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { Metrics } from '../health/metrics.service';
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
    private readonly repository: TransparencyRepository,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    // The tree follows the chain: committed audit events are hashed in at once, not at the next look.
    this.events.onCommitted('audit.appended', () => this.log.wake());
    this.metrics.observe(
      'breakglass_audit_tree_lag_events',
      'Audit events appended but not yet in the Merkle tree (signed checkpoints lag by this much)',
      [],
      async () => [{ value: await this.repository.treeLag() }],
    );
    this.metrics.observe(
      'breakglass_audit_tree_nodes_in_memory',
      'Merkle tree nodes this instance holds for proofs, 32 bytes each (BREAKGLASS_TREE_CACHE_MB)',
      [],
      async () => [{ value: this.log.nodesInMemory() }],
    );
  }
}
