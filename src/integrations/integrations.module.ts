import { Module } from '@nestjs/common';
import { GitopsModule } from '../gitops/gitops.module';
import { SlaModule } from '../sla/sla.module';
import { ArgoCdWebhookController } from './argocd/argocd.controller';
import { FluxWebhookController } from './flux/flux.controller';
import { GitHubWebhookController } from './github/github.controller';
import { GitLabWebhookController } from './gitlab/gitlab.controller';

@Module({
  imports: [SlaModule, GitopsModule],
  controllers: [GitHubWebhookController, GitLabWebhookController, FluxWebhookController, ArgoCdWebhookController],
})
export class IntegrationsModule {}
