import type { BrokerRole } from './broker-roles';

// The loaded policy in the form the rest of the service uses: durations in seconds, defaults
// already merged into every target.

export interface EscalationStep {
  /** Seconds relative to the clock's due time; negative = reminder before due. */
  afterSeconds: number;
  notify: string[];
}

export type CredentialPolicy =
  | { type: 'jwt'; audience: string; groups: string[]; algorithm: 'RS256' | 'ES256' | 'EdDSA' }
  | {
      type: 'postgres';
      adminUrl: string;
      grantRoles: string[];
      database: string | null;
      access: 'proxy' | 'direct';
      recording: 'strict' | 'best-effort';
      recordParameters: boolean;
    };

export type ChannelPolicy =
  | { type: 'email'; to: string[] }
  | { type: 'pagerduty'; routingKey: string; severity: 'critical' | 'error' | 'warning' | 'info' }
  | { type: 'webhook'; url: string; secret?: string }
  | { type: 'log' }
  | { type: 'slack'; token: string; channel: string }
  | { type: 'teams'; url: string };

/**
 * `retroPr.require`: what a merged retro PR must show at the forge (docs/forge-evidence.md). When set,
 * only a merged PR verified against these satisfies the clock.
 */
export interface RetroPrRequirements {
  /** Approvals by someone other than the requester (and the PR's author). */
  approvals: number;
  /** The merge commit's signature verified by the forge. */
  signedCommits: boolean;
  /** The base branch protected at the forge. */
  protectedBranch: boolean;
  /** Checks (check runs or commit statuses) that must have concluded successfully. */
  checks: string[];
}

export interface TargetPolicy {
  name: string;
  environment: string;
  credential: CredentialPolicy;
  maxDurationSeconds: number;
  maxTotalDurationSeconds: number;
  /** What a request without a duration gets. */
  defaultDurationSeconds: number;
  reasonMinLength: number;
  incidentPattern: string;
  /** An incident id that matches, for messages (null: the policy gave none for its own pattern). */
  incidentExample: string | null;
  /** `incident.pagerduty`: the incident must be open in PagerDuty (null: only the pattern is checked). */
  incidentPagerDuty: { requesterMustBeResponder: boolean } | null;
  /** What PagerDuty's `incident.resolved` does to the incident's active grants (docs/incidents.md). */
  onIncidentResolved: IncidentResolvedAction;
  /** postgres, direct access: `host[:port]` credentials tell clients instead of the admin URL's. */
  connectHost: string | null;
  retroPr: { windowSeconds: number; satisfiedBy: 'opened' | 'merged'; repo: string | null; require: RetroPrRequirements | null };
  review: { windowSeconds: number };
  escalation: EscalationStep[];
  blockRequesterWhenOverdue: boolean;
  onCall: { pagerdutyScheduleIds: string[]; whenUnavailable: 'deny' | 'allow-and-flag' } | null;
  notifyOnUse: string[];
  controls: string[];
  /** Reconciler objects this target's access can change (null: drift is never attributed to its grants). */
  gitops: GitopsScope | null;
  /** jwt targets: the cluster that trusts the tokens (null: not a Kubernetes target). */
  kubernetes: KubernetesCluster | null;
}

export type IncidentResolvedAction = { action: 'notify' } | { action: 'revoke' } | { action: 'shorten'; seconds: number };

export interface KubernetesCluster {
  cluster: string;
  server: string;
  /** Base64 PEM, as a kubeconfig's `certificate-authority-data`. */
  certificateAuthorityData: string | null;
  usernamePrefix: string;
}

/** The default `usernamePrefix`: what docs/kubernetes.md's AuthenticationConfiguration maps. */
export const DEFAULT_KUBERNETES_USERNAME_PREFIX = 'breakglass:';

export interface GitopsScope {
  cluster: string | null;
  namespaces: string[];
  /** `namespace/name` or `name` (any namespace). */
  kustomizations: string[];
  apps: string[];
  driftGraceSeconds: number;
}

export type ForwarderPolicy =
  | { name: string; type: 'webhook'; url: string; secret?: string }
  | { name: string; type: 'syslog'; host: string; port: number; framing: 'octet-counting' | 'lf'; enterpriseNumber: number };

/**
 * RFC 5612's enterprise number for documentation: the SD-ID's default until the operator sets their
 * organisation's own (`enterpriseNumber`), as RFC 5424 asks of private SD-IDs.
 */
export const DOCUMENTATION_ENTERPRISE_NUMBER = 32473;

export interface Policy {
  /** Absolute path of the file it was loaded from. */
  path: string;
  /** SHA-256 (hex) of the file's bytes as read, before interpolation: what was reviewed in Git. */
  sha256: string;
  /** Broker role → IdP groups that carry it. */
  roles: Record<BrokerRole, string[]>;
  notify: { security: string[]; compliance: string[] };
  channels: Record<string, ChannelPolicy>;
  targets: TargetPolicy[];
  /** SIEM forwarders: every audit event, in order, at least once. */
  forwarders: ForwarderPolicy[];
  /** Scheduled break-glass drills (docs/drills.md). */
  drills: DrillPolicy[];
  /** The audit log as a transparency log (docs/transparency.md). */
  audit: { checkpointIntervalSeconds: number; anchors: AnchorPolicy[]; anchorAlertAfterSeconds: number };
}

export interface DrillPolicy {
  name: string;
  targets: string[];
  /** Cron (5 or 6 fields), evaluated in UTC. */
  schedule: string;
  /** Channels of the [DRILL] notices; null: each target's notifyOnUse. */
  notify: string[] | null;
  timeoutSeconds: number;
}

/** `drills[].timeout` when the policy does not say. */
export const DEFAULT_DRILL_TIMEOUT_SECONDS = 120;

/** Where checkpoints are published (`audit.anchors`); `name` keys its delivery state. */
export type AnchorPolicy =
  { name: string; type: 'git'; repo: string; branch: string; path: string } | { name: string; type: 'webhook'; url: string; secret?: string };

export const DEFAULT_ANCHOR_ALERT_AFTER_SECONDS = 15 * 60;

/** `audit.checkpoint.interval` when the policy does not say. */
export const DEFAULT_CHECKPOINT_INTERVAL_SECONDS = 60;

/** The pseudo-channel that emails the requester (their email claim). */
export const REQUESTER_CHANNEL = 'requester';

/** `adminUrl` value that means "the broker's own database server" (the demo's postgres target). */
export const BROKER_DATABASE_ADMIN_URL = 'embedded';

export function findTarget(policy: Policy, name: string): TargetPolicy | undefined {
  return policy.targets.find((target) => target.name === name);
}

/** Targets whose tokens the cluster `name` trusts. */
export function clusterTargets(policy: Policy, name: string): TargetPolicy[] {
  return policy.targets.filter((target) => target.kubernetes?.cluster === name);
}
