import { Module } from '@nestjs/common';
import { GitopsModule } from '../gitops/gitops.module';
import { GrantsModule } from '../grants/grants.module';
import { KubernetesModule } from '../kubernetes/kubernetes.module';
import { SlaModule } from '../sla/sla.module';
import { ArgoCdWebhookController } from './argocd/argocd.controller';
import { FluxWebhookController } from './flux/flux.controller';
import { GitHubWebhookController } from './github/github.controller';
import { GitLabWebhookController } from './gitlab/gitlab.controller';
import { KubernetesAuditController } from './kubernetes/kubernetes-audit.controller';
import { PagerDutyWebhookController } from './pagerduty/pagerduty-webhook.controller';

@Module({
  imports: [SlaModule, GitopsModule, KubernetesModule, GrantsModule],
  controllers: [
    GitHubWebhookController,
    GitLabWebhookController,
    FluxWebhookController,
    ArgoCdWebhookController,
    KubernetesAuditController,
    PagerDutyWebhookController,
  ],
})
export class IntegrationsModule {}
