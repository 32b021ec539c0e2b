import { Module, type OnModuleInit } from '@nestjs/common';
import { DomainEventBus } from '../common/domain-events';
import { CredentialsModule } from '../credentials/credentials.module';
import { TransparencyLog } from './transparency-log.service';
import { TransparencyController } from './transparency.controller';
import { TransparencyRepository } from './transparency.repository';

@Module({
  imports: [CredentialsModule],
  controllers: [TransparencyController],
  providers: [TransparencyLog, TransparencyRepository],
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
