import { Module } from '@nestjs/common';
import { SlaClocks } from './sla-clocks.service';
import { SlaClocksRepository } from './sla-clocks.repository';

@Module({
  providers: [SlaClocks, SlaClocksRepository],
  exports: [SlaClocks],
})
export class SlaModule {}
