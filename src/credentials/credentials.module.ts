import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditModule } from '../audit/audit.module';
import { ServiceConfig } from '../config/config.providers';
import { CredentialReconciler } from './credential-reconciler';
import { CredentialsController } from './credentials.controller';
import { CredentialsRepository } from './credentials.repository';
import { Credentials } from './credentials.service';
import { Installation, loadInstallation } from './installation';
import { KeyStore } from './key-store.service';
import { JwtCredentials } from './providers/jwt-credentials';
import { PostgresCredentials } from './providers/postgres-credentials';
import { ProxyAddress } from './proxy-address';
import { ProxyLogins } from './proxy-logins';
import { SigningKeysRepository } from './signing-keys.repository';

@Module({
  imports: [AuditModule],
  controllers: [CredentialsController],
  providers: [
    Credentials,
    CredentialsRepository,
    CredentialReconciler,
    KeyStore,
    SigningKeysRepository,
    JwtCredentials,
    PostgresCredentials,
    { provide: Installation, inject: [DataSource], useFactory: loadInstallation },
    { provide: ProxyAddress, inject: [ServiceConfig], useFactory: (config: ServiceConfig) => new ProxyAddress(config.pgProxy.publicAddress) },
    ProxyLogins,
  ],
  exports: [Credentials, KeyStore, ProxyAddress, ProxyLogins],
})
export class CredentialsModule {}
