import { Module } from '@nestjs/common';
import { SlaModule } from '../sla/sla.module';
import { GitHubWebhookController } from './github/github.controller';
import { GitLabWebhookController } from './gitlab/gitlab.controller';

@Module({
  imports: [SlaModule],
  controllers: [GitHubWebhookController, GitLabWebhookController],
})
export class IntegrationsModule {}
