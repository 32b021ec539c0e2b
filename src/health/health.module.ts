import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { Metrics } from './metrics.service';
import { ReadinessChecks } from './readiness';

@Global()
@Module({
  controllers: [HealthController],
  providers: [Metrics, ReadinessChecks],
  exports: [Metrics, ReadinessChecks],
})
export class HealthModule {}
