import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { SessionsModule } from '../sessions/sessions.module';
import { ClusterActivityRepository } from './cluster-activity.repository';
import { ClusterActivity } from './cluster-activity.service';

/** P2.3: what Kubernetes clusters report about breakglass identities (their audit webhook). */
@Module({
  imports: [AuditModule, NotificationsModule, SessionsModule],
  providers: [ClusterActivity, ClusterActivityRepository],
  exports: [ClusterActivity],
})
export class KubernetesModule {}
