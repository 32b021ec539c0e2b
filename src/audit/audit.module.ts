import { Module } from '@nestjs/common';
import { AuditIntegrator } from './audit-integrator';
import { AuditLog } from './audit-log.service';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';

@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditRepository, AuditIntegrator],
  exports: [AuditLog],
})
export class AuditModule {}
