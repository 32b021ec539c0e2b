import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { DURATION_EXAMPLES, DURATION_PATTERN, POSITIVE_DURATION } from './duration';

// The shape of the policy file (docs/policy.md). Unknown keys are reported as problems,
// so a typo such as `maxDurration` cannot silently fall back to a default. The loader stops at the
// first failing rule of each field, and class-validator runs a field's decorators bottom-up: the
// presence check goes lowest.

const durationMessage = { message: `must be a duration like ${DURATION_EXAMPLES}` };
export const TARGET_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** `FRAMEWORK:CONTROL`, e.g. `SOC2:CC8.1`, `NIST-800-53:AC-6(9)`, `ISO27001-2022:A.8.32`. */
export const CONTROL_ID = /^[A-Za-z0-9.-]+:[A-Za-z0-9.()-]+$/;
export const POSTGRES_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export class ReasonRuleSpec {
  @IsInt()
  @Min(1)
  @Max(10000)
  minLength: number;
}

/** `incident.pagerduty`: the incident id is looked up in PagerDuty and must be open (docs/incidents.md). */
export class IncidentPagerDutySpec {
  @IsOptional()
  @IsIn(['open'], { message: 'must be "open" (triggered or acknowledged)' })
  require?: 'open';

  /** The requester must be assigned to the incident or on call for its escalation policy. */
  @IsOptional()
  @IsBoolean()
  requesterMustBeResponder?: boolean;
}

export class IncidentRuleSpec {
  @IsOptional()
  @IsString()
  @MaxLength(500)
  pattern?: string;

  /** An id that matches the pattern, shown to people instead of the regular expression. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  example?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => IncidentPagerDutySpec)
  pagerduty?: IncidentPagerDutySpec;
}

/** What a merged retro PR must show at the forge to satisfy the clock (docs/forge-evidence.md). */
export class RetroPrRequirementsSpec {
  @IsOptional()
  @Min(0)
  @Max(10)
  @IsInt({ message: 'must be a whole number of approvals' })
  approvals?: number;

  @IsOptional()
  @IsBoolean()
  signedCommits?: boolean;

  @IsOptional()
  @IsBoolean()
  protectedBranch?: boolean;

  @IsOptional()
  @IsString({ each: true, message: 'must list check names' })
  @MinLength(1, { each: true, message: 'must list check names (none empty)' })
  @IsArray()
  checks?: string[];
}

export class RetroPrRuleSpec {
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  window?: string;

  @IsOptional()
  @IsIn(['opened', 'merged'], { message: 'must be "opened" or "merged"' })
  satisfiedBy?: 'opened' | 'merged';

  @IsOptional()
  @ValidateNested()
  @Type(() => RetroPrRequirementsSpec)
  require?: RetroPrRequirementsSpec;
}

export class ReviewRuleSpec {
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  window?: string;
}

export class EscalationStepSpec {
  @Matches(DURATION_PATTERN, { message: 'must be a duration like -4h, 0s or 24h' })
  after: string;

  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  notify: string[];
}

/** Keys a target may override; `defaults` holds the same keys. */
export class LimitsSpec {
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  maxDuration?: string;

  /** What a request that names no duration gets (default: 30m, or maxDuration when shorter). */
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  defaultDuration?: string;

  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  maxTotalDuration?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => ReasonRuleSpec)
  reason?: ReasonRuleSpec;

  @IsOptional()
  @ValidateNested()
  @Type(() => IncidentRuleSpec)
  incident?: IncidentRuleSpec;

  @IsOptional()
  @ValidateNested()
  @Type(() => RetroPrRuleSpec)
  retroPr?: RetroPrRuleSpec;

  @IsOptional()
  @ValidateNested()
  @Type(() => ReviewRuleSpec)
  review?: ReviewRuleSpec;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => EscalationStepSpec)
  escalation?: EscalationStepSpec[];

  @IsOptional()
  @IsBoolean()
  blockRequesterWhenOverdue?: boolean;

  /** What a PagerDuty `incident.resolved` webhook does to the incident's active grants. */
  @IsOptional()
  @Matches(/^(notify|revoke|shorten:\d+[smhd](\d+[smhd])*)$/, { message: 'must be notify, revoke or shorten:<duration> (e.g. shorten:15m)' })
  onIncidentResolved?: string;
}

export class CredentialSpec {
  @IsIn(['jwt', 'postgres'], { message: 'must be "jwt" or "postgres"' })
  type: 'jwt' | 'postgres';

  /** jwt: the `aud` claim of issued tokens. */
  @ValidateIf((c: CredentialSpec) => c.type === 'jwt' || c.audience !== undefined)
  @IsString({ message: 'is required for a jwt credential' })
  @MinLength(1, { message: 'is required for a jwt credential' })
  audience?: string;

  /** jwt: the `groups` claim of issued tokens. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  groups?: string[];

  /** jwt: the JWS algorithm (P2.3); RS256 is the only one kube-apiserver accepts without configuration. */
  @IsOptional()
  @IsIn(['RS256', 'ES256', 'EdDSA'], { message: 'must be RS256, ES256 or EdDSA' })
  algorithm?: 'RS256' | 'ES256' | 'EdDSA';

  /** postgres: URL of a role allowed to create roles on the target server, or `embedded`. */
  @ValidateIf((c: CredentialSpec) => c.type === 'postgres' || c.adminUrl !== undefined)
  @Matches(/^(embedded|postgres(ql)?:\/\/\S+)$/, { message: 'must be a postgres:// URL or "embedded" (the broker\'s own database server)' })
  adminUrl?: string;

  /** postgres: the database the credential URL points at (default: the one in adminUrl, else `postgres`). */
  @ValidateIf((c: CredentialSpec) => c.database !== undefined)
  @Matches(/^[A-Za-z0-9_-]{1,63}$/, { message: 'must be a database name (letters, digits, _ and -)' })
  database?: string;

  /** postgres: roles granted to the temporary login role. */
  @ValidateIf((c: CredentialSpec) => c.type === 'postgres' || c.grantRoles !== undefined)
  @Matches(POSTGRES_IDENTIFIER, { each: true, message: 'each role must be a lower-case PostgreSQL identifier' })
  @ArrayMinSize(1, { message: 'must list at least one role to grant' })
  @IsArray({ message: 'must list at least one role to grant' })
  grantRoles?: string[];
}

export class OnCallSpec {
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  pagerdutyScheduleIds: string[];

  @IsOptional()
  @IsIn(['deny', 'allow-and-flag'], { message: 'must be "deny" or "allow-and-flag"' })
  whenUnavailable?: 'deny' | 'allow-and-flag';
}

/** Which reconciler objects (Flux, Argo CD) a target's access can change: drift there is attributed to its grants. */
export class GitopsScopeSpec {
  /** Argo CD destination (name or server URL) or the `cluster` metadata a Flux Alert adds; unset = any. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(253)
  cluster?: string;

  /** Kubernetes namespaces: drifted resources, the Argo CD destination or the Flux object in them. */
  @IsOptional()
  @IsArray()
  @Matches(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { each: true, message: 'each namespace must be a Kubernetes namespace name' })
  namespaces?: string[];

  /** Flux Kustomizations or HelmReleases, as `namespace/name` (or `name` in any namespace). */
  @IsOptional()
  @IsArray()
  @Matches(/^([a-z0-9][-a-z0-9]*\/)?[a-z0-9][-a-z0-9.]*$/, { each: true, message: 'each must be namespace/name or name' })
  kustomizations?: string[];

  /** Argo CD Applications, by name. */
  @IsOptional()
  @IsArray()
  @Matches(/^[a-z0-9][-a-z0-9.]*$/, { each: true, message: 'each must be an Argo CD application name' })
  apps?: string[];

  /** Drift seen this long after a grant ended is still attributed to it (default 15m). */
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  driftGrace?: string;
}

/** The Kubernetes cluster a jwt target's tokens are for: what the kubeconfig and the audit webhook need. */
export class KubernetesSpec {
  /** Names the cluster in kubeconfigs and in the audit webhook's `?cluster=`. */
  @Matches(TARGET_NAME, { message: 'must be lower-case letters, digits and dashes (at most 63)' })
  cluster: string;

  @Matches(/^https:\/\/[^\s/?#]+(\/\S*)?$/, { message: "must be the https:// URL of the cluster's API server" })
  server: string;

  /** Base64 of the PEM CA bundle of the API server (as in a kubeconfig); unset = the system's CAs. */
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  certificateAuthorityData?: string;

  /** What the cluster's AuthenticationConfiguration puts before `sub` (default `breakglass:`). */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  usernamePrefix?: string;
}

export class TargetSpec extends LimitsSpec {
  @Matches(TARGET_NAME, { message: 'must be lower-case letters, digits and dashes (at most 63)' })
  name: string;

  @IsString()
  @MaxLength(63)
  environment: string;

  @ValidateNested()
  @Type(() => CredentialSpec)
  credential: CredentialSpec;

  @IsOptional()
  @ValidateNested()
  @Type(() => OnCallSpec)
  onCall?: OnCallSpec;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/, { message: 'must be a repository path such as acme/infra' })
  repo?: string;

  /** postgres (direct access): the `host[:port]` credentials tell clients, when the admin URL's host is not what they reach. */
  @IsOptional()
  @Matches(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, { message: 'must be host or host:port, e.g. db.example.com:5432' })
  connectHost?: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  notifyOnUse?: string[];

  @IsOptional()
  @IsArray()
  @Matches(CONTROL_ID, { each: true, message: 'each control must look like FRAMEWORK:ID, e.g. SOC2:CC8.1' })
  controls?: string[];

  @IsOptional()
  @ValidateNested()
  @Type(() => GitopsScopeSpec)
  gitops?: GitopsScopeSpec;

  /** jwt: the Kubernetes cluster that trusts this target's tokens (kubeconfig, audit webhook). */
  @IsOptional()
  @ValidateNested()
  @Type(() => KubernetesSpec)
  kubernetes?: KubernetesSpec;

  /** postgres: `proxy` (default) hands out a login at the broker's recording proxy; `direct` the target role itself. */
  @IsOptional()
  @IsIn(['proxy', 'direct'], { message: 'must be "proxy" or "direct"' })
  access?: 'proxy' | 'direct';

  /** postgres via proxy: `strict` (default) forwards a statement only once its record is committed. */
  @IsOptional()
  @IsIn(['strict', 'best-effort'], { message: 'must be "strict" or "best-effort"' })
  recording?: 'strict' | 'best-effort';

  /** postgres via proxy: record extended-protocol parameter values (default: only their count). */
  @IsOptional()
  @IsBoolean()
  recordParameters?: boolean;
}

export const CHANNEL_TYPES = ['email', 'pagerduty', 'webhook', 'log', 'slack', 'teams'] as const;

export class ChannelSpec {
  @IsIn(CHANNEL_TYPES, { message: `must be one of ${CHANNEL_TYPES.join(', ')}` })
  type: (typeof CHANNEL_TYPES)[number];

  @ValidateIf((c: ChannelSpec) => c.type === 'email' || c.to !== undefined)
  @IsEmail({}, { each: true, message: 'each recipient must be an email address' })
  @ArrayMinSize(1, { message: 'must list at least one address' })
  @IsArray({ message: 'is required for an email channel: a list of addresses' })
  to?: string[];

  @ValidateIf((c: ChannelSpec) => c.type === 'pagerduty' || c.routingKey !== undefined)
  @IsString({ message: 'is required for a pagerduty channel' })
  @MinLength(1, { message: 'is required for a pagerduty channel' })
  routingKey?: string;

  @IsOptional()
  @IsIn(['critical', 'error', 'warning', 'info'], { message: 'must be one of critical, error, warning, info' })
  severity?: 'critical' | 'error' | 'warning' | 'info';

  @ValidateIf((c: ChannelSpec) => c.type === 'webhook' || c.type === 'teams' || c.url !== undefined)
  @Matches(/^https?:\/\/\S+$/, { message: 'is required for a webhook or teams channel: an http:// or https:// URL' })
  url?: string;

  @IsOptional()
  @IsString()
  secret?: string;

  /** slack: the bot token (xoxb-…, scope chat:write), usually `${SLACK_BOT_TOKEN}`. */
  @ValidateIf((c: ChannelSpec) => c.type === 'slack' || c.token !== undefined)
  @IsString({ message: 'is required for a slack channel: the bot token' })
  @MinLength(1, { message: 'is required for a slack channel: the bot token' })
  token?: string;

  /** slack: the conversation to post in (#name or its id). */
  @ValidateIf((c: ChannelSpec) => c.type === 'slack' || c.channel !== undefined)
  @Matches(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{6,})$/, { message: 'is required for a slack channel: #name or a conversation id such as C0123456789' })
  channel?: string;
}

export class ForwarderSpec {
  @Matches(CHANNEL_NAME, { message: 'must be letters, digits, - and _' })
  name: string;

  @IsIn(['webhook', 'syslog'], { message: 'must be "webhook" or "syslog"' })
  type: 'webhook' | 'syslog';

  /** webhook: receives POSTs of JSON lines, signed like notification webhooks. */
  @ValidateIf((f: ForwarderSpec) => f.type === 'webhook' || f.url !== undefined)
  @Matches(/^https?:\/\/\S+$/, { message: 'is required for a webhook forwarder: an http:// or https:// URL' })
  url?: string;

  @IsOptional()
  @IsString()
  secret?: string;

  /** syslog: RFC 5424 messages over TCP (RFC 6587 octet counting). */
  @ValidateIf((f: ForwarderSpec) => f.type === 'syslog' || f.host !== undefined)
  @IsString({ message: 'is required for a syslog forwarder' })
  @MinLength(1, { message: 'is required for a syslog forwarder' })
  host?: string;

  @ValidateIf((f: ForwarderSpec) => f.type === 'syslog' || f.port !== undefined)
  @IsInt({ message: 'is required for a syslog forwarder: a TCP port' })
  @Min(1)
  @Max(65535)
  port?: number;

  /** syslog: RFC 6587 octet counting (default) or one message per line (receivers set to LF framing). */
  @IsOptional()
  @IsIn(['octet-counting', 'lf'], { message: 'must be "octet-counting" or "lf"' })
  framing?: 'octet-counting' | 'lf';

  /** syslog: the IANA private enterprise number of the SD-ID `breakglass@<number>` (docs/policy.md). */
  @IsOptional()
  @IsInt({ message: 'must be an IANA private enterprise number' })
  @Min(1)
  @Max(4294967295)
  enterpriseNumber?: number;
}

export class StandingAudiencesSpec {
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  security?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  compliance?: string[];
}

/** Top level. `roles` and `channels` are maps and are validated entry by entry by the loader. */
/** `audit.checkpoint`: how often a signed checkpoint of the audit log's Merkle tree is made (docs/transparency.md). */
export class CheckpointSpec {
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  interval?: string;
}

/** `audit.anchors[]`: where each checkpoint is published outside the broker's control. */
export class AnchorSpec {
  @IsOptional()
  @Matches(CHANNEL_NAME, { message: 'must be letters, digits, - and _' })
  name?: string;

  @IsIn(['git', 'webhook'], { message: 'must be "git" or "webhook"' })
  type: 'git' | 'webhook';

  /** git: a repository path or URL the `git` CLI can push to. */
  @ValidateIf((a: AnchorSpec) => a.type === 'git' || a.repo !== undefined)
  @IsString({ message: 'is required for a git anchor: a repository path or URL' })
  @MinLength(1, { message: 'is required for a git anchor: a repository path or URL' })
  repo?: string;

  @IsOptional()
  @Matches(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,100}$/, { message: 'must be a branch name such as breakglass-checkpoints' })
  branch?: string;

  @IsOptional()
  @Matches(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,100}$/, { message: 'must be a relative directory such as checkpoints' })
  path?: string;

  @ValidateIf((a: AnchorSpec) => a.type === 'webhook' || a.url !== undefined)
  @Matches(/^https?:\/\/\S+$/, { message: 'is required for a webhook anchor: an http:// or https:// URL' })
  url?: string;

  @IsOptional()
  @IsString()
  secret?: string;
}

export class AuditSpec {
  @IsOptional()
  @ValidateNested()
  @Type(() => CheckpointSpec)
  checkpoint?: CheckpointSpec;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AnchorSpec)
  anchors?: AnchorSpec[];

  /** Security is told when a checkpoint has waited longer than this for an anchor. */
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  anchorAlertAfter?: string;
}

/** `drills[]`: a scheduled proof that the break-glass path of some targets works (docs/drills.md). */
export class DrillSpec {
  @Matches(TARGET_NAME, { message: 'must be lower-case letters, digits and dashes (at most 63)' })
  name: string;

  @IsArray({ message: 'must list the targets the drill breaks the glass on' })
  @ArrayMinSize(1, { message: 'must list at least one target' })
  @IsString({ each: true })
  targets: string[];

  /** Cron, 5 fields (minute first) or 6 (seconds first), in UTC; checked by the loader. */
  @IsString({ message: "must be a cron expression such as '0 9 * * 1'" })
  @MinLength(1, { message: "must be a cron expression such as '0 9 * * 1'" })
  schedule: string;

  /** Channels the drill's [DRILL] notices go to (default: each target's notifyOnUse). */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  notify?: string[];

  /** The whole drill must finish within this (default 2m); also the drill grant's duration cap. */
  @IsOptional()
  @Matches(POSITIVE_DURATION, durationMessage)
  timeout?: string;
}

export class PolicySpec {
  @IsOptional()
  roles?: Record<string, string[]>;

  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsSpec)
  defaults?: LimitsSpec;

  @IsOptional()
  @ValidateNested()
  @Type(() => StandingAudiencesSpec)
  notify?: StandingAudiencesSpec;

  @IsOptional()
  channels?: Record<string, unknown>;

  /** Each target is validated on its own by the loader, so one bad target hides no other problem. */
  @IsArray()
  targets: unknown[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ForwarderSpec)
  forwarders?: ForwarderSpec[];

  @IsOptional()
  @ValidateNested()
  @Type(() => AuditSpec)
  audit?: AuditSpec;

  /** Each drill is validated on its own by the loader, like targets. */
  @IsOptional()
  @IsArray()
  drills?: unknown[];
}
