import { Module } from '@nestjs/common';
import { AuditLog } from './audit-log.service';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';

@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditRepository],
  exports: [AuditLog],
})
export class AuditModule {}
