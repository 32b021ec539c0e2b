import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { AccessModule } from './access/access.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { DomainEventsModule } from './common/domain-events';
import { ErrorFilter } from './common/error.filter';
import { rateLimitOptions } from './common/rate-limit';
import { LoadedPolicy, ServiceConfig } from './config/config.providers';
import type { AppConfig } from './config/env';
import type { Policy } from './config/policy';
import { BrokerDatabaseServer } from './database/broker-database-server';
import { DrillsModule } from './drills/drills.module';
import { EvidenceModule } from './evidence/evidence.module';
import { GrantsModule } from './grants/grants.module';
import { HealthModule } from './health/health.module';
import { IntegrationsModule } from './integrations/integrations.module';
import { ProxyModule } from './proxy/proxy.module';
import { TransparencyModule } from './transparency/transparency.module';

export interface AppModuleOptions {
  config: AppConfig;
  policy: Policy;
  dataSource: DataSource;
  /** A URL with rights to create roles on the broker's own database server. */
  brokerAdminUrl: string;
}

/** Configuration and the database connection are made before Nest starts and handed in here. */
@Global()
@Module({})
export class AppModule {
  static forRoot({ config, policy, dataSource, brokerAdminUrl }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ThrottlerModule.forRoot(rateLimitOptions(config)),
        HealthModule,
        DomainEventsModule,
        AuthModule,
        AccessModule,
        AuditModule,
        GrantsModule,
        IntegrationsModule,
        EvidenceModule,
        ProxyModule,
        TransparencyModule,
        DrillsModule,
      ],
      providers: [
        { provide: ServiceConfig, useValue: config },
        { provide: LoadedPolicy, useValue: policy },
        { provide: DataSource, useValue: dataSource },
        { provide: BrokerDatabaseServer, useValue: { adminUrl: brokerAdminUrl } },
        { provide: APP_FILTER, useClass: ErrorFilter },
      ],
      exports: [ServiceConfig, LoadedPolicy, DataSource, BrokerDatabaseServer],
    };
  }
}
