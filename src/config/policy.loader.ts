import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { validateCronExpression } from 'cron';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { BROKER_ROLES, type BrokerRole } from './broker-roles';
import { parseDurationSeconds } from './duration';
import {
  DEFAULT_ANCHOR_ALERT_AFTER_SECONDS,
  DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
  DEFAULT_DRILL_TIMEOUT_SECONDS,
  type AnchorPolicy,
  type DrillPolicy,
  DEFAULT_KUBERNETES_USERNAME_PREFIX,
  DOCUMENTATION_ENTERPRISE_NUMBER,
  REQUESTER_CHANNEL,
  type ChannelPolicy,
  type CredentialPolicy,
  type ForwarderPolicy,
  type IncidentResolvedAction,
  type KubernetesCluster,
  type Policy,
  type RetroPrRequirements,
  type TargetPolicy,
} from './policy';
import {
  CHANNEL_NAME,
  ChannelSpec,
  type AnchorSpec,
  DrillSpec,
  type IncidentRuleSpec,
  type LimitsSpec,
  PolicySpec,
  type RetroPrRequirementsSpec,
  TargetSpec,
} from './policy.schema';
import { flattenValidationErrors } from './validation-problems';

type PathSegment = string | number;

export interface PolicyProblem {
  /** `file:line:column` of the offending node (or of its closest existing parent). */
  location: string;
  /** Dotted path inside the document, e.g. `targets[0].maxDuration`. */
  field: string;
  message: string;
}

export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(
      `Invalid policy ${file} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.location} ${p.field}: ${p.message}`).join('\n'),
    );
    this.name = 'PolicyError';
  }
}

/** Built-in values for keys that neither `defaults` nor a target sets (the values docs/policy.md documents). */
const BUILT_IN_LIMITS = {
  maxDuration: '1h',
  maxTotalDuration: '4h',
  reason: { minLength: 20 },
  incident: { pattern: '^(INC|PD)-?[A-Z0-9]+$', example: 'INC-4821' } as { pattern: string; example?: string },
  retroPr: { window: '24h', satisfiedBy: 'opened' as const },
  review: { window: '72h' },
  escalation: [] as { after: string; notify: string[] }[],
  blockRequesterWhenOverdue: true,
  onIncidentResolved: 'notify',
};

// `${VAR}` or `${VAR:-fallback}`; `$${` escapes a literal `${`.
const INTERPOLATION = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function loadPolicyFile(file: string, environment: NodeJS.ProcessEnv = process.env): Policy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new PolicyError(file, [{ location: file, field: '(file)', message: `cannot be read: ${(error as Error).message}` }]);
  }
  return parsePolicy(bytes.toString('utf8'), file, environment, createHash('sha256').update(bytes).digest('hex'));
}

export function parsePolicy(text: string, file: string, environment: NodeJS.ProcessEnv, sha256: string): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const relative = path.relative(process.cwd(), file);
  const displayFile = relative && !relative.startsWith('..') ? relative : file;
  const locate = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${displayFile}:${line}:${col}`;
  };
  if (doc.errors.length) {
    throw new PolicyError(
      file,
      doc.errors.map((error) => ({ location: locate(error.pos[0]), field: '(yaml)', message: error.message.split('\n')[0] })),
    );
  }

  const problems: PolicyProblem[] = [];
  interpolate(doc, environment, (offset, variable) =>
    problems.push({ location: locate(offset), field: '(interpolation)', message: `environment variable ${variable} is not set` }),
  );
  if (problems.length) throw new PolicyError(file, problems);

  const report = (segments: PathSegment[], message: string) =>
    problems.push({ location: locate(offsetOf(doc, segments)), field: formatPath(segments), message });

  const raw = doc.toJS() as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    report([], 'the policy must be a YAML mapping with at least `targets`');
    throw new PolicyError(file, problems);
  }
  const document = raw as Record<string, unknown>;
  const spec = validateSpec(PolicySpec, document, [], report);
  const roles = readRoles(document.roles, report);
  const channels = readChannels(document.channels, report);
  const targetSpecs = (Array.isArray(document.targets) ? document.targets : []).map((target, index) =>
    validateSpec(TargetSpec, target, ['targets', index], report),
  );

  const channelExists = (name: string) => name in channels || name === REQUESTER_CHANNEL;
  const checkChannelRefs = (names: string[] | undefined, at: PathSegment[]) =>
    names?.forEach((name, index) => {
      if (!channelExists(name)) report([...at, index], `channel "${name}" is not defined under channels`);
    });
  // References are checked on the raw document too, so a shape problem elsewhere hides none of them.
  const rawNotify = asRecord(document.notify);
  checkChannelRefs(stringList(rawNotify.security), ['notify', 'security']);
  checkChannelRefs(stringList(rawNotify.compliance), ['notify', 'compliance']);
  asList(asRecord(document.defaults).escalation).forEach((step, index) =>
    checkChannelRefs(stringList(asRecord(step).notify), ['defaults', 'escalation', index, 'notify']),
  );

  const seen = new Set<string>();
  const targets: TargetPolicy[] = [];
  targetSpecs.forEach((targetSpec, index) => {
    if (!targetSpec) return;
    const at: PathSegment[] = ['targets', index];
    if (seen.has(targetSpec.name)) report([...at, 'name'], `target name "${targetSpec.name}" is used twice`);
    seen.add(targetSpec.name);
    checkChannelRefs(targetSpec.notifyOnUse, [...at, 'notifyOnUse']);
    targetSpec.escalation?.forEach((step, stepIndex) => checkChannelRefs(step.notify, [...at, 'escalation', stepIndex, 'notify']));
    // Effective limits need valid defaults; their own problems are already reported.
    if (!spec) return;
    const target = effectiveTarget(targetSpec, spec.defaults ?? {}, at, report);
    if (target) targets.push(target);
  });
  checkClustersAgree(targets, targetSpecs, report);
  const targetNames = asList(document.targets).map((target) => asRecord(target).name);
  const drills = readDrills(asList(document.drills), targetNames, checkChannelRefs, report);
  if (problems.length || !spec) throw new PolicyError(file, problems);

  const forwarders = (spec.forwarders ?? []).map((f): ForwarderPolicy =>
    f.type === 'webhook'
      ? { name: f.name, type: 'webhook', url: f.url!, ...(f.secret ? { secret: f.secret } : {}) }
      : {
          name: f.name,
          type: 'syslog',
          host: f.host!,
          port: f.port!,
          framing: f.framing ?? 'octet-counting',
          enterpriseNumber: f.enterpriseNumber ?? DOCUMENTATION_ENTERPRISE_NUMBER,
        },
  );
  const forwarderNames = new Set<string>();
  forwarders.forEach((f, index) => {
    if (forwarderNames.has(f.name)) report(['forwarders', index, 'name'], `forwarder name "${f.name}" is used twice`);
    forwarderNames.add(f.name);
  });
  const anchors = (spec.audit?.anchors ?? []).map(anchorPolicy);
  const anchorNames = new Set<string>();
  anchors.forEach((anchor, index) => {
    if (anchorNames.has(anchor.name)) report(['audit', 'anchors', index, 'name'], `anchor name "${anchor.name}" is used twice`);
    anchorNames.add(anchor.name);
  });
  if (problems.length) throw new PolicyError(file, problems);

  return {
    path: file,
    sha256,
    roles,
    forwarders,
    audit: {
      checkpointIntervalSeconds: parseDurationSeconds(spec.audit?.checkpoint?.interval ?? `${DEFAULT_CHECKPOINT_INTERVAL_SECONDS}s`),
      anchors,
      anchorAlertAfterSeconds: spec.audit?.anchorAlertAfter ? parseDurationSeconds(spec.audit.anchorAlertAfter) : DEFAULT_ANCHOR_ALERT_AFTER_SECONDS,
    },
    notify: { security: spec.notify?.security ?? [], compliance: spec.notify?.compliance ?? [] },
    channels,
    targets,
    drills,
  };
}

/** Drills as run: each names existing targets, a cron schedule the scheduler accepts, known channels. */
function readDrills(
  raw: unknown[],
  targetNames: unknown[],
  checkChannelRefs: (names: string[] | undefined, at: PathSegment[]) => void,
  report: (segments: PathSegment[], message: string) => void,
): DrillPolicy[] {
  const names = new Set<string>();
  return raw.flatMap((drill, index) => {
    const at: PathSegment[] = ['drills', index];
    const spec = validateSpec(DrillSpec, drill, at, report);
    if (!spec) return [];
    if (names.has(spec.name)) report([...at, 'name'], `drill name "${spec.name}" is used twice`);
    names.add(spec.name);
    spec.targets.forEach((name, targetIndex) => {
      if (!targetNames.includes(name)) {
        const known = targetNames.filter((known) => typeof known === 'string').join(', ');
        report([...at, 'targets', targetIndex], `target "${name}" is not defined under targets${known ? ` (${known})` : ''}`);
      }
    });
    const cron = validateCronExpression(spec.schedule);
    if (!cron.valid) {
      report(
        [...at, 'schedule'],
        `is not a cron expression (${cron.error?.message ?? 'unreadable'}): 5 fields from minute (e.g. '0 9 * * 1', Mondays 09:00 UTC) or 6 from second`,
      );
    }
    checkChannelRefs(spec.notify, [...at, 'notify']);
    return [
      {
        name: spec.name,
        targets: [...new Set(spec.targets)],
        schedule: spec.schedule.trim(),
        notify: spec.notify ?? null,
        timeoutSeconds: spec.timeout ? parseDurationSeconds(spec.timeout) : DEFAULT_DRILL_TIMEOUT_SECONDS,
      },
    ];
  });
}

/**
 * An anchor as delivered. Its default name is derived from where it points, so reordering the policy
 * keeps each anchor's delivery state (docs/transparency.md).
 */
function anchorPolicy(spec: AnchorSpec): AnchorPolicy {
  const derivedName = (where: unknown[]) => `${spec.type}-${createHash('sha256').update(JSON.stringify(where)).digest('hex').slice(0, 12)}`;
  if (spec.type === 'git') {
    const branch = spec.branch ?? 'breakglass-checkpoints';
    const path = (spec.path ?? 'checkpoints').replace(/\/+$/, '');
    return { name: spec.name ?? derivedName([spec.repo, branch, path]), type: 'git', repo: spec.repo!, branch, path };
  }
  return { name: spec.name ?? derivedName([spec.url]), type: 'webhook', url: spec.url!, ...(spec.secret ? { secret: spec.secret } : {}) };
}

function interpolate(doc: Document, environment: NodeJS.ProcessEnv, missing: (offset: number, variable: string) => void) {
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(INTERPOLATION, (whole, escaped: string | undefined, variable: string, fallback: string | undefined) => {
        if (escaped) return whole.slice(1);
        const value = environment[variable];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        missing(node.range?.[0] ?? 0, variable);
        return '';
      });
    },
  });
}

function validateSpec<T extends object>(
  cls: new () => T,
  raw: unknown,
  at: PathSegment[],
  report: (segments: PathSegment[], message: string) => void,
): T | undefined {
  const instance = plainToInstance(cls, raw);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true });
  for (const { field, problems } of flattenValidationErrors(errors)) {
    const segments = [...at, ...field.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part))];
    const property = String(segments[segments.length - 1]);
    for (const problem of problems) {
      // class-validator's own messages start with the property name; ours start with the verb.
      if (/^property \S+ should not exist$/.test(problem)) report(segments, 'is not a known key');
      else report(segments, problem.startsWith(`${property} `) ? problem.slice(property.length + 1) : problem);
    }
  }
  return errors.length ? undefined : instance;
}

function readRoles(raw: unknown, report: (segments: PathSegment[], message: string) => void): Record<BrokerRole, string[]> {
  const roles = Object.fromEntries(BROKER_ROLES.map((role) => [role, [] as string[]])) as Record<BrokerRole, string[]>;
  if (raw === undefined || raw === null) return roles;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    report(['roles'], 'must map broker roles to lists of IdP groups');
    return roles;
  }
  for (const [role, groups] of Object.entries(raw)) {
    if (!(BROKER_ROLES as readonly string[]).includes(role)) {
      report(['roles', role], `"${role}" is not a broker role (${BROKER_ROLES.join(', ')})`);
    } else if (!Array.isArray(groups) || !groups.every((group) => typeof group === 'string' && group !== '')) {
      report(['roles', role], 'must be a list of IdP group names');
    } else {
      roles[role as BrokerRole] = groups;
    }
  }
  return roles;
}

function readChannels(raw: unknown, report: (segments: PathSegment[], message: string) => void): Record<string, ChannelPolicy> {
  const channels: Record<string, ChannelPolicy> = {};
  if (raw === undefined || raw === null) return channels;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    report(['channels'], 'must map channel names to channel definitions');
    return channels;
  }
  for (const [name, definition] of Object.entries(raw)) {
    const at = ['channels', name];
    if (!CHANNEL_NAME.test(name) || name === REQUESTER_CHANNEL) {
      report(at, `"${name}" is not a usable channel name (letters, digits, - and _; "${REQUESTER_CHANNEL}" is reserved)`);
      continue;
    }
    const spec = validateSpec(ChannelSpec, definition, at, report);
    if (!spec) continue;
    switch (spec.type) {
      case 'email':
        channels[name] = { type: 'email', to: spec.to! };
        break;
      case 'pagerduty':
        channels[name] = { type: 'pagerduty', routingKey: spec.routingKey!, severity: spec.severity ?? 'critical' };
        break;
      case 'webhook':
        channels[name] = { type: 'webhook', url: spec.url!, ...(spec.secret ? { secret: spec.secret } : {}) };
        break;
      case 'log':
        channels[name] = { type: 'log' };
        break;
      case 'slack':
        channels[name] = { type: 'slack', token: spec.token!, channel: spec.channel! };
        break;
      case 'teams':
        channels[name] = { type: 'teams', url: spec.url! };
        break;
    }
  }
  return channels;
}

const DEFAULT_DRIFT_GRACE = '15m';
/** A request without a duration, when the policy sets no defaultDuration (capped by maxDuration). */
const DEFAULT_REQUEST_SECONDS = 1800;

/**
 * A target's incident rule over the defaults'. The built-in example belongs to the built-in pattern:
 * a policy that sets its own pattern shows its own example, or none.
 */
function incidentRule(
  defaults: IncidentRuleSpec | undefined,
  spec: IncidentRuleSpec | undefined,
): { pattern: string; example?: string; pagerduty?: IncidentRuleSpec['pagerduty'] } {
  let rule: { pattern: string; example?: string; pagerduty?: IncidentRuleSpec['pagerduty'] } = BUILT_IN_LIMITS.incident;
  for (const layer of [defaults, spec]) {
    if (!layer) continue;
    const samePattern = layer.pattern === undefined || layer.pattern === rule.pattern;
    rule = {
      pattern: layer.pattern ?? rule.pattern,
      example: layer.example ?? (samePattern ? rule.example : undefined),
      pagerduty: layer.pagerduty ? { ...rule.pagerduty, ...definedOnly(layer.pagerduty) } : rule.pagerduty,
    };
  }
  return rule;
}

function retroPrRequirements(spec: RetroPrRequirementsSpec | undefined): RetroPrRequirements | null {
  if (!spec) return null;
  return {
    approvals: spec.approvals ?? 0,
    signedCommits: spec.signedCommits ?? false,
    protectedBranch: spec.protectedBranch ?? false,
    checks: spec.checks ?? [],
  };
}

function incidentResolvedAction(text: string): IncidentResolvedAction {
  if (text.startsWith('shorten:')) return { action: 'shorten', seconds: parseDurationSeconds(text.slice('shorten:'.length)) };
  return { action: text as 'notify' | 'revoke' };
}

function effectiveTarget(
  spec: TargetSpec,
  defaults: LimitsSpec,
  at: PathSegment[],
  report: (segments: PathSegment[], message: string) => void,
): TargetPolicy | undefined {
  // A target key replaces the default key; nested rule objects merge key by key.
  const merged = {
    maxDuration: spec.maxDuration ?? defaults.maxDuration ?? BUILT_IN_LIMITS.maxDuration,
    maxTotalDuration: spec.maxTotalDuration ?? defaults.maxTotalDuration ?? BUILT_IN_LIMITS.maxTotalDuration,
    defaultDuration: spec.defaultDuration ?? defaults.defaultDuration,
    reason: { ...BUILT_IN_LIMITS.reason, ...defaults.reason, ...spec.reason },
    incident: incidentRule(defaults.incident, spec.incident),
    retroPr: { ...BUILT_IN_LIMITS.retroPr, ...definedOnly(defaults.retroPr), ...definedOnly(spec.retroPr) },
    review: { ...BUILT_IN_LIMITS.review, ...definedOnly(defaults.review), ...definedOnly(spec.review) },
    escalation: spec.escalation ?? defaults.escalation ?? BUILT_IN_LIMITS.escalation,
    blockRequesterWhenOverdue: spec.blockRequesterWhenOverdue ?? defaults.blockRequesterWhenOverdue ?? BUILT_IN_LIMITS.blockRequesterWhenOverdue,
    onIncidentResolved: spec.onIncidentResolved ?? defaults.onIncidentResolved ?? BUILT_IN_LIMITS.onIncidentResolved,
  };
  let failures = 0;
  const fail = (segments: PathSegment[], message: string) => {
    failures++;
    report(segments, message);
  };

  try {
    new RegExp(merged.incident.pattern);
  } catch (error) {
    fail([...at, 'incident', 'pattern'], `is not a valid regular expression: ${(error as Error).message}`);
  }
  const maxDurationSeconds = parseDurationSeconds(merged.maxDuration);
  const maxTotalDurationSeconds = parseDurationSeconds(merged.maxTotalDuration);
  const defaultDurationSeconds = merged.defaultDuration ? parseDurationSeconds(merged.defaultDuration) : Math.min(DEFAULT_REQUEST_SECONDS, maxDurationSeconds);
  if (defaultDurationSeconds > maxDurationSeconds) {
    fail(
      [...at, spec.defaultDuration ? 'defaultDuration' : 'maxDuration'],
      `defaultDuration (${merged.defaultDuration}) exceeds maxDuration (${merged.maxDuration})`,
    );
  }
  if (merged.incident.example !== undefined && !failures && !new RegExp(merged.incident.pattern).test(merged.incident.example)) {
    fail([...at, 'incident', 'example'], `"${merged.incident.example}" does not match the pattern ${merged.incident.pattern}`);
  }
  if (spec.connectHost && (spec.credential?.type !== 'postgres' || (spec.access ?? 'proxy') !== 'direct'))
    fail([...at, 'connectHost'], 'applies to postgres targets with access: direct only (proxy credentials name BREAKGLASS_PG_PROXY_PUBLIC)');
  if (maxDurationSeconds > maxTotalDurationSeconds) {
    fail(
      [...at, spec.maxDuration ? 'maxDuration' : 'maxTotalDuration'],
      `maxDuration (${merged.maxDuration}) exceeds maxTotalDuration (${merged.maxTotalDuration})`,
    );
  }
  const retroPrRequire = retroPrRequirements(merged.retroPr.require);
  // Requirements are checked on the merged PR: an opened one cannot satisfy the clock.
  if (retroPrRequire && (spec.retroPr?.satisfiedBy ?? defaults.retroPr?.satisfiedBy) === 'opened')
    fail([...at, 'retroPr', 'satisfiedBy'], 'must be "merged" (or left out) when retroPr.require is set: requirements are checked on the merged PR');
  const credential = credentialPolicy(spec, [...at, 'credential'], fail);
  const kubernetes = kubernetesCluster(spec, [...at, 'kubernetes'], fail);
  if (failures || !credential) return undefined;

  return {
    name: spec.name,
    environment: spec.environment,
    credential,
    maxDurationSeconds,
    maxTotalDurationSeconds,
    reasonMinLength: merged.reason.minLength,
    defaultDurationSeconds,
    incidentPattern: merged.incident.pattern,
    incidentExample: merged.incident.example ?? null,
    incidentPagerDuty: merged.incident.pagerduty ? { requesterMustBeResponder: merged.incident.pagerduty.requesterMustBeResponder ?? false } : null,
    onIncidentResolved: incidentResolvedAction(merged.onIncidentResolved),
    connectHost: spec.connectHost ?? null,
    retroPr: {
      windowSeconds: parseDurationSeconds(merged.retroPr.window),
      satisfiedBy: retroPrRequire ? 'merged' : merged.retroPr.satisfiedBy,
      repo: spec.repo ?? null,
      require: retroPrRequire,
    },
    review: { windowSeconds: parseDurationSeconds(merged.review.window) },
    escalation: merged.escalation
      .map((step) => ({ afterSeconds: parseDurationSeconds(step.after), notify: step.notify }))
      .sort((a, b) => a.afterSeconds - b.afterSeconds),
    blockRequesterWhenOverdue: merged.blockRequesterWhenOverdue,
    onCall: spec.onCall ? { pagerdutyScheduleIds: spec.onCall.pagerdutyScheduleIds, whenUnavailable: spec.onCall.whenUnavailable ?? 'allow-and-flag' } : null,
    notifyOnUse: spec.notifyOnUse ?? [],
    controls: spec.controls ?? [],
    gitops: spec.gitops
      ? {
          cluster: spec.gitops.cluster ?? null,
          namespaces: spec.gitops.namespaces ?? [],
          kustomizations: spec.gitops.kustomizations ?? [],
          apps: spec.gitops.apps ?? [],
          driftGraceSeconds: parseDurationSeconds(spec.gitops.driftGrace ?? DEFAULT_DRIFT_GRACE),
        }
      : null,
    kubernetes: kubernetes ?? null,
  };
}

/**
 * Targets naming one cluster must agree on its server and username prefix: the cluster maps one
 * prefix for this issuer, and the audit webhook attributes its events by it.
 */
function checkClustersAgree(targets: TargetPolicy[], specs: (TargetSpec | undefined)[], report: (segments: PathSegment[], message: string) => void): void {
  const first = new Map<string, TargetPolicy>();
  for (const target of targets) {
    if (!target.kubernetes) continue;
    const seen = first.get(target.kubernetes.cluster);
    if (!seen) {
      first.set(target.kubernetes.cluster, target);
      continue;
    }
    const index = specs.findIndex((spec) => spec?.name === target.name);
    for (const key of ['server', 'usernamePrefix'] as const) {
      if (seen.kubernetes![key] !== target.kubernetes[key]) {
        report(
          ['targets', index, 'kubernetes', key],
          `differs from target ${seen.name}'s for cluster ${target.kubernetes.cluster} ("${seen.kubernetes![key]}")`,
        );
      }
    }
  }
}

function kubernetesCluster(spec: TargetSpec, at: PathSegment[], fail: (segments: PathSegment[], message: string) => void): KubernetesCluster | undefined {
  const kubernetes = spec.kubernetes;
  if (!kubernetes) return undefined;
  if (spec.credential.type !== 'jwt') {
    fail(at, "applies to jwt targets only (the cluster trusts the target's tokens)");
    return undefined;
  }
  const prefix = kubernetes.usernamePrefix ?? DEFAULT_KUBERNETES_USERNAME_PREFIX;
  // kube-apiserver reserves system: for its own identities; a prefix there would impersonate them.
  if (prefix.startsWith('system:')) fail([...at, 'usernamePrefix'], 'must not start with "system:" (reserved by Kubernetes)');
  const caData = kubernetes.certificateAuthorityData?.replace(/\s+/g, '');
  if (caData !== undefined && !isBase64PemCertificate(caData)) {
    fail([...at, 'certificateAuthorityData'], "must be base64 of a PEM certificate (as in a kubeconfig's certificate-authority-data)");
  }
  return { cluster: kubernetes.cluster, server: kubernetes.server.replace(/\/+$/, ''), certificateAuthorityData: caData ?? null, usernamePrefix: prefix };
}

function isBase64PemCertificate(data: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return false;
  const pem = Buffer.from(data, 'base64').toString('utf8');
  try {
    return pem.includes('-----BEGIN CERTIFICATE-----') && Boolean(new X509Certificate(pem).subject !== undefined);
  } catch {
    return false;
  }
}

function credentialPolicy(spec: TargetSpec, at: PathSegment[], fail: (segments: PathSegment[], message: string) => void): CredentialPolicy | undefined {
  const credential = spec.credential;
  const foreignKeys: (keyof typeof credential)[] = credential.type === 'jwt' ? ['adminUrl', 'grantRoles', 'database'] : ['audience', 'groups'];
  const misplaced = foreignKeys.filter((key) => credential[key] !== undefined);
  misplaced.forEach((key) => fail([...at, key], `does not apply to a ${credential.type} credential`));
  const postgresOnly = (['access', 'recording', 'recordParameters'] as const).filter((key) => credential.type !== 'postgres' && spec[key] !== undefined);
  postgresOnly.forEach((key) => fail([...at.slice(0, -1), key], `applies to postgres targets only`));
  if (spec.access === 'direct' && (spec.recording !== undefined || spec.recordParameters !== undefined)) {
    fail(
      [...at.slice(0, -1), spec.recording !== undefined ? 'recording' : 'recordParameters'],
      'applies to access: proxy only (a direct login is not recorded by the broker)',
    );
    return undefined;
  }
  if (misplaced.length || postgresOnly.length) return undefined;
  if (credential.type !== 'jwt' && credential.algorithm !== undefined) {
    fail([...at, 'algorithm'], 'does not apply to a postgres credential');
    return undefined;
  }
  return credential.type === 'jwt'
    ? { type: 'jwt', audience: credential.audience!, groups: credential.groups ?? [], algorithm: credential.algorithm ?? 'RS256' }
    : {
        type: 'postgres',
        adminUrl: credential.adminUrl!,
        grantRoles: credential.grantRoles!,
        database: credential.database ?? null,
        access: spec.access ?? 'proxy',
        recording: spec.recording ?? 'strict',
        recordParameters: spec.recordParameters ?? false,
      };
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Source offset of the node at `segments`, or of its nearest existing ancestor. */
function offsetOf(doc: Document, segments: PathSegment[]): number {
  for (let length = segments.length; length >= 0; length--) {
    const prefix = segments.slice(0, length);
    const node = prefix.length ? doc.getIn(prefix, true) : doc.contents;
    if (node && typeof node === 'object' && 'range' in node && (node as { range?: number[] }).range) {
      if (length < segments.length && isMap(node)) {
        // The key itself is missing: point at the key of the map that should hold it, if any.
        const keyNode = node.items.find((pair) => isScalar(pair.key) && pair.key.value === segments[length]);
        if (keyNode && isScalar(keyNode.key) && keyNode.key.range) return keyNode.key.range[0];
      }
      return (node as { range: number[] }).range[0];
    }
  }
  return 0;
}

function formatPath(segments: PathSegment[]): string {
  if (!segments.length) return '(document)';
  return segments.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}
