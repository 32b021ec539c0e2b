import { Bool, Int, ListOf, Nested, NullableNested, NullableText, OneOf, Text, Texts } from '../common/api-schema';

// GET /v1/targets: what a requester may know about a target — limits and rules, never connection secrets.

export class RetroPrRequirementsView {
  @Int({ description: 'Approvals by someone other than the requester' })
  approvals: number;
  @Bool({ description: 'The merge commit’s signature verified by the forge' })
  signedCommits: boolean;
  @Bool()
  protectedBranch: boolean;
  @Texts({ description: 'Checks that must have concluded successfully on the PR' })
  checks: string[];
}

export class RetroPrRules {
  @Text({ example: '24h' })
  window: string;
  @Int()
  windowSeconds: number;
  @OneOf(['opened', 'merged'])
  satisfiedBy: 'opened' | 'merged';
  @NullableText({ description: 'owner/name the retro PR is expected in' })
  repo: string | null;
  @NullableNested(() => RetroPrRequirementsView, { description: 'What a merged retro PR must show at the forge; null: any linked PR counts' })
  require: RetroPrRequirementsView | null;
}

export class ReviewRules {
  @Text()
  window: string;
  @Int()
  windowSeconds: number;
}

export class TargetGitops {
  @NullableText()
  cluster: string | null;
  @Texts()
  namespaces: string[];
  @Texts({ description: '`namespace/name` or `name` (any namespace)' })
  kustomizations: string[];
  @Texts({ description: 'Argo CD Applications' })
  apps: string[];
  @Int()
  driftGraceSeconds: number;
  @Text()
  driftGrace: string;
}

export class TargetKubernetes {
  @Text()
  cluster: string;
  @Text()
  server: string;
  @Text()
  usernamePrefix: string;
}

export class TargetView {
  @Text()
  name: string;
  @Text()
  environment: string;
  @OneOf(['jwt', 'postgres'])
  credentialType: 'jwt' | 'postgres';
  @Int()
  maxDurationSeconds: number;
  @Text({ example: '1h' })
  maxDuration: string;
  @Int()
  maxTotalDurationSeconds: number;
  @Text()
  maxTotalDuration: string;
  @Int({ description: 'What a request without durationSeconds gets' })
  defaultDurationSeconds: number;
  @Text({ example: '30m' })
  defaultDuration: string;
  @Texts({ description: 'What `role` may narrow the credential to (JWT groups or PostgreSQL roles)' })
  roles: string[];
  @Int()
  reasonMinLength: number;
  @Text({ description: 'A regular expression the incident id must match' })
  incidentPattern: string;
  @NullableText({ description: 'An incident id that matches, to show people', example: 'INC-4821' })
  incidentExample: string | null;
  @Nested(() => RetroPrRules)
  retroPr: RetroPrRules;
  @Nested(() => ReviewRules)
  review: ReviewRules;
  @Bool()
  onCallRequired: boolean;
  @Bool()
  blockRequesterWhenOverdue: boolean;
  @Texts({ description: 'Channels told of every use' })
  notifyOnUse: string[];
  @Texts()
  controls: string[];
  @NullableNested(() => TargetGitops)
  gitops: TargetGitops | null;
  @NullableNested(() => TargetKubernetes)
  kubernetes: TargetKubernetes | null;
}

export class TargetList {
  @ListOf(() => TargetView)
  targets: TargetView[];
  @NullableText()
  next: null;
}
