import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Answers } from '../common/api-schema';
import { LoadedPolicy } from '../config/config.providers';
import { formatDuration } from '../config/duration';
import type { TargetPolicy } from '../config/policy';
import { TargetList, type TargetView } from './targets.views';

@ApiTags('targets')
@ApiBearerAuth()
@Controller('v1/targets')
export class TargetsController {
  constructor(private readonly policy: LoadedPolicy) {}

  @Get()
  @ApiOperation({ summary: 'Targets from the policy with their effective limits (defaults merged)' })
  @Answers(TargetList)
  list(): TargetList {
    return { targets: this.policy.targets.map(describeTarget), next: null };
  }
}

/** What a requester may know about a target: limits and rules, never connection secrets. */
function describeTarget(target: TargetPolicy): TargetView {
  return {
    name: target.name,
    environment: target.environment,
    credentialType: target.credential.type,
    maxDurationSeconds: target.maxDurationSeconds,
    maxDuration: formatDuration(target.maxDurationSeconds),
    maxTotalDurationSeconds: target.maxTotalDurationSeconds,
    maxTotalDuration: formatDuration(target.maxTotalDurationSeconds),
    defaultDurationSeconds: target.defaultDurationSeconds,
    defaultDuration: formatDuration(target.defaultDurationSeconds),
    roles: target.credential.type === 'jwt' ? target.credential.groups : target.credential.grantRoles,
    reasonMinLength: target.reasonMinLength,
    incidentPattern: target.incidentPattern,
    incidentExample: target.incidentExample,
    retroPr: {
      window: formatDuration(target.retroPr.windowSeconds),
      windowSeconds: target.retroPr.windowSeconds,
      satisfiedBy: target.retroPr.satisfiedBy,
      repo: target.retroPr.repo,
      require: target.retroPr.require,
    },
    review: { window: formatDuration(target.review.windowSeconds), windowSeconds: target.review.windowSeconds },
    onCallRequired: target.onCall !== null,
    blockRequesterWhenOverdue: target.blockRequesterWhenOverdue,
    notifyOnUse: target.notifyOnUse,
    controls: target.controls,
    gitops: target.gitops && { ...target.gitops, driftGrace: formatDuration(target.gitops.driftGraceSeconds) },
    kubernetes: target.kubernetes && { cluster: target.kubernetes.cluster, server: target.kubernetes.server, usernamePrefix: target.kubernetes.usernamePrefix },
  };
}
