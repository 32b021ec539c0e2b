// Which compliance controls each audit action evidences. Control IDs are `FRAMEWORK:ID`; targets
// may add their own (policy `controls`), which are appended to events about that target.

export const FRAMEWORKS = {
  SOC2: 'AICPA SOC 2 Trust Services Criteria (2017)',
  'NIST-800-53': 'NIST SP 800-53 Rev. 5',
  'ISO27001-2022': 'ISO/IEC 27001:2022 Annex A',
  'ISO27001-2013': 'ISO/IEC 27001:2013 Annex A (legacy numbering)',
  'PCI-DSS-4.0': 'PCI DSS v4.0',
} as const;

// How an auditor tests each control with breakglass's own evidence (rendered in docs/controls.md).
const TEST_ACCESS =
  'Sample grants from GET /v1/grants; for each, check in its evidence bundle that a justification, an incident id, a bounded window and (where required) on-call evidence preceded the credential, and that the credential was revoked at or before expiry.';
const TEST_CHANGE =
  'Sample grants from the compliance report; check each has a linked PR (pr.linked) or a waiver with a reason, that breaches escalated (sla.escalated), and that the policy in force is the reviewed file (policy.loaded sha256).';
const TEST_LOGGING =
  'Export the period (GET /v1/evidence/export) and recompute every hash with the published formula (examples/verify-audit.py); confirm the chain head matches the next export and every grant has its full event trail.';
const TEST_INTEGRITY =
  'Run GET /v1/audit/verify and an independent recomputation; check session.sealed anchors each session head; verify a bundle JWS against /.well-known/jwks.json.';
const TEST_GITOPS =
  'Export deploy.* and drift.* events for the period; check every drift.unattributed notified security (notification attempts), every drift.attributed names an active grant on a target whose gitops scope covers the object, and that grants with merged retro PRs reached change.reconciled (compliance report `gitops`).';
const TEST_MONITORING =
  'Check that flagged grants, review violations and SLA breaches produced notifications with delivery attempts (evidence bundle `notifications`), and that reviews happened within the review window.';

const TEST_DRILL =
  'List drills for the period (GET /v1/drills, compliance report `drills`); check every target had a passed drill within the expected interval, each drill.passed shows every step (credential proven to work, recorded, revoked, proven dead, notices delivered, evidence bundle), and every drill.failed notified security.';

export const CONTROLS = {
  'SOC2:CC6.1': { title: 'Logical access security: software, infrastructure and architectures', test: TEST_ACCESS },
  'SOC2:CC6.2': { title: 'Registration and authorization of users before access is issued', test: TEST_ACCESS },
  'SOC2:CC6.3': { title: 'Access is authorized, modified or removed based on roles and least privilege', test: TEST_ACCESS },
  'SOC2:CC7.1': { title: 'Detection and monitoring of configuration changes that introduce vulnerabilities', test: TEST_GITOPS },
  'SOC2:CC7.2': { title: 'System components are monitored for anomalies indicative of malicious acts', test: TEST_MONITORING },
  'SOC2:CC8.1': { title: 'Changes are authorized, designed, documented, tested, approved and implemented', test: TEST_CHANGE },
  'NIST-800-53:AC-2': { title: 'Account management', test: TEST_ACCESS },
  'NIST-800-53:AC-6(9)': {
    title: 'Least privilege: log use of privileged functions',
    test: 'Pick sessions (GET /v1/grants/:id/events?format=text) and check every privileged command is recorded with user, host, cwd, time and exit code, and that the session chain verifies.',
  },
  'NIST-800-53:AU-2': { title: 'Event logging', test: TEST_LOGGING },
  'NIST-800-53:AU-9': { title: 'Protection of audit information', test: TEST_INTEGRITY },
  'NIST-800-53:AU-10': { title: 'Non-repudiation', test: TEST_INTEGRITY },
  'NIST-800-53:CM-3': { title: 'Configuration change control', test: TEST_CHANGE },
  'NIST-800-53:CM-5': { title: 'Access restrictions for change', test: TEST_CHANGE },
  'NIST-800-53:CM-6': { title: 'Configuration settings', test: TEST_GITOPS },
  'NIST-800-53:SI-4': { title: 'System monitoring', test: TEST_GITOPS },
  'NIST-800-53:IR-4': {
    title: 'Incident handling',
    test: 'Check each grant names an incident matching the policy pattern, and that escalations reached the incident responders (PagerDuty attempts in the bundle).',
  },
  'NIST-800-53:CP-4': {
    title: 'Contingency plan testing',
    test: TEST_DRILL,
  },
  'NIST-800-53:IR-3': { title: 'Incident response testing', test: TEST_DRILL },
  'SOC2:CC7.5': { title: 'Activities to recover from identified security incidents are developed, implemented and tested', test: TEST_DRILL },
  'SOC2:CC9.1': { title: 'Risk mitigation activities for business disruptions are identified, selected and developed', test: TEST_DRILL },
  'ISO27001-2022:A.5.30': { title: 'ICT readiness for business continuity', test: TEST_DRILL },
  'ISO27001-2022:A.5.15': { title: 'Access control', test: TEST_ACCESS },
  'ISO27001-2022:A.8.2': { title: 'Privileged access rights', test: TEST_ACCESS },
  'ISO27001-2022:A.8.9': { title: 'Configuration management', test: TEST_GITOPS },
  'ISO27001-2022:A.8.15': { title: 'Logging', test: TEST_LOGGING },
  'ISO27001-2022:A.8.32': { title: 'Change management', test: TEST_CHANGE },
  'ISO27001-2013:A.9.2.3': { title: 'Management of privileged access rights', test: TEST_ACCESS },
  'ISO27001-2013:A.12.1.2': { title: 'Change management', test: TEST_CHANGE },
  'ISO27001-2013:A.12.4.2': { title: 'Protection of log information', test: TEST_INTEGRITY },
  'PCI-DSS-4.0:6.5.1': { title: 'Changes to system components are made according to change-control procedures', test: TEST_CHANGE },
  'PCI-DSS-4.0:7.2': { title: 'Access to system components and data is appropriately defined and assigned', test: TEST_ACCESS },
  'PCI-DSS-4.0:8.2': {
    title: 'User identification and related accounts are strictly managed',
    test: 'Check each credential is personal to its requester (sub), time-boxed, fingerprinted (never stored) and revoked at the end (credential.revoked).',
  },
  'PCI-DSS-4.0:10.2.1': { title: 'Audit logs are enabled and active for all system components', test: TEST_LOGGING },
} as const;

export type ControlId = keyof typeof CONTROLS;

const ACCESS_ISSUED: ControlId[] = [
  'SOC2:CC6.2',
  'SOC2:CC6.3',
  'NIST-800-53:AC-2',
  'NIST-800-53:AC-6(9)',
  'ISO27001-2022:A.5.15',
  'ISO27001-2022:A.8.2',
  'ISO27001-2013:A.9.2.3',
  'PCI-DSS-4.0:7.2',
  'PCI-DSS-4.0:8.2',
];
const CHANGE_CONTROL: ControlId[] = ['SOC2:CC8.1', 'NIST-800-53:CM-3', 'ISO27001-2022:A.8.32', 'ISO27001-2013:A.12.1.2', 'PCI-DSS-4.0:6.5.1'];
const LOGGING: ControlId[] = ['NIST-800-53:AU-2', 'ISO27001-2022:A.8.15', 'PCI-DSS-4.0:10.2.1'];
const CONFIGURATION: ControlId[] = ['SOC2:CC7.1', 'NIST-800-53:CM-6', 'ISO27001-2022:A.8.9'];
const DRILL_TESTING: ControlId[] = ['NIST-800-53:CP-4', 'NIST-800-53:IR-3', 'SOC2:CC7.5', 'SOC2:CC9.1', 'ISO27001-2022:A.5.30'];
const LOG_INTEGRITY: ControlId[] = ['NIST-800-53:AU-9', 'NIST-800-53:AU-10', 'ISO27001-2013:A.12.4.2'];

interface ActionDefinition {
  description: string;
  controls: readonly ControlId[];
}

/** Every audit action the service writes. Appending an action missing here does not compile. */
export const AUDIT_ACTIONS = {
  'policy.loaded': {
    description: 'The service booted with a policy file (its SHA-256 recorded): the change-control baseline in force.',
    controls: ['SOC2:CC6.1', 'NIST-800-53:CM-5', ...CHANGE_CONTROL, ...LOGGING],
  },
  'grant.requested': {
    description: 'An engineer asked to break the glass: target, incident, reason, duration.',
    controls: [...ACCESS_ISSUED, 'NIST-800-53:IR-4', ...LOGGING],
  },
  'grant.denied': {
    description: 'A break-glass request was refused by policy, with the reason.',
    controls: ['SOC2:CC6.1', 'SOC2:CC6.3', 'NIST-800-53:AC-2', 'NIST-800-53:AC-6(9)', 'ISO27001-2022:A.5.15', 'PCI-DSS-4.0:7.2', ...LOGGING],
  },
  'grant.activated': {
    description: 'Privileged access began; SLA clocks started.',
    controls: [...ACCESS_ISSUED, ...CHANGE_CONTROL, 'NIST-800-53:IR-4', ...LOGGING],
  },
  'grant.extended': {
    description: 'The access window was extended, with a fresh reason.',
    controls: [...ACCESS_ISSUED, ...LOGGING],
  },
  'grant.revoked': {
    description: 'Access was revoked before expiry by the requester, security or an admin.',
    controls: [...ACCESS_ISSUED, 'SOC2:CC7.2', ...LOGGING],
  },
  'grant.expired': {
    description: 'The access window ended.',
    controls: [...ACCESS_ISSUED, ...LOGGING],
  },
  'grant.incident_resolved': {
    description: "PagerDuty reported the grant's incident resolved (webhook): the target's onIncidentResolved applied (notify, shorten the window, or revoke).",
    controls: [...ACCESS_ISSUED, 'SOC2:CC7.2', 'NIST-800-53:IR-4', ...LOGGING],
  },
  'credential.issued': {
    description: 'A time-boxed credential was issued (fingerprint only; the secret is never stored).',
    controls: ['SOC2:CC6.1', ...ACCESS_ISSUED, ...LOGGING],
  },
  'credential.revoked': {
    description: 'A credential was made unusable at its provider.',
    controls: ['SOC2:CC6.1', ...ACCESS_ISSUED, ...LOGGING],
  },
  'credential.cleanup': {
    description:
      'What a removed temporary database role left behind: routines made SECURITY INVOKER, triggers and event triggers dropped, objects handed to the unprivileged holder role.',
    controls: ['SOC2:CC6.1', ...ACCESS_ISSUED, ...LOGGING],
  },
  'session.sealed': {
    description: "The session command log's head hash, anchoring every command in the audit chain.",
    controls: ['SOC2:CC7.2', 'SOC2:CC8.1', 'NIST-800-53:AC-6(9)', ...LOGGING, ...LOG_INTEGRITY],
  },
  'proxy.session_opened': {
    description: "A client connection through the recording PostgreSQL proxy was authenticated and connected upstream as the grant's role.",
    controls: ['SOC2:CC6.1', 'NIST-800-53:AC-6(9)', 'PCI-DSS-4.0:8.2', ...LOGGING],
  },
  'proxy.session_closed': {
    description: 'A proxied client connection ended (statements recorded, bytes, why it ended).',
    controls: ['NIST-800-53:AC-6(9)', ...LOGGING],
  },
  'proxy.login_refused': {
    description: 'A login at the PostgreSQL proxy was refused (unknown login, grant ended, wrong password).',
    controls: ['SOC2:CC6.1', 'NIST-800-53:AC-2', 'PCI-DSS-4.0:8.2', ...LOGGING],
  },
  'drill.started': {
    description: 'A break-glass drill began (scheduled, caught up after downtime, or run by an admin): the targets it will exercise.',
    controls: [...DRILL_TESTING, ...LOGGING],
  },
  'drill.passed': {
    description:
      "A drill proved the emergency path on its targets: policy, credential issued and used, a recorded statement, revocation, the credential refused, [DRILL] notices delivered, evidence bundle verified; each step's timing.",
    controls: [...DRILL_TESTING, ...LOGGING],
  },
  'drill.failed': {
    description: 'A drill stopped at a failing (or timed-out) step, its grants revoked; security was notified with the failing step.',
    controls: [...DRILL_TESTING, 'SOC2:CC7.2', ...LOGGING],
  },
  'k8s.unattributed': {
    description:
      "A Kubernetes request by a breakglass identity that no active grant explains (e.g. a token used after revoke), from the cluster's audit webhook; security was notified.",
    controls: ['SOC2:CC6.1', 'SOC2:CC7.2', 'NIST-800-53:AC-2', 'NIST-800-53:SI-4', 'NIST-800-53:IR-4', ...LOGGING],
  },
  'session.reviewed': {
    description: 'A second person reviewed the session log.',
    controls: ['SOC2:CC7.2', ...CHANGE_CONTROL, 'NIST-800-53:IR-4', ...LOGGING],
  },
  'sla.breached': {
    description: 'An SLA clock passed its due time without being satisfied.',
    controls: [...CHANGE_CONTROL, 'SOC2:CC7.2', 'NIST-800-53:IR-4', ...LOGGING],
  },
  'sla.escalated': {
    description: 'An escalation step fired: who was told, on which channels.',
    controls: [...CHANGE_CONTROL, 'SOC2:CC7.2', 'NIST-800-53:IR-4', ...LOGGING],
  },
  'sla.satisfied': {
    description: 'An SLA clock was satisfied on time (retroactive PR linked, or session reviewed).',
    controls: [...CHANGE_CONTROL, ...LOGGING],
  },
  'sla.satisfied_late': {
    description: 'An SLA clock was satisfied after its due time.',
    controls: [...CHANGE_CONTROL, 'SOC2:CC7.2', ...LOGGING],
  },
  'sla.waived': {
    description: 'Compliance waived an SLA clock, with a justification.',
    controls: [...CHANGE_CONTROL, ...LOGGING],
  },
  'pr.verified': {
    description:
      'The forge was asked about a merged retro PR: approvals by someone other than the requester, the merge commit signature, branch protection, check conclusions, and what retroPr.require found missing.',
    controls: [...CHANGE_CONTROL, 'NIST-800-53:CM-5', ...LOGGING],
  },
  'sla.pr_noncompliant': {
    description:
      'A merged retro PR missed a policy requirement (retroPr.require): the clock was not satisfied; the requester and compliance were told what is missing.',
    controls: [...CHANGE_CONTROL, 'SOC2:CC7.2', ...LOGGING],
  },
  'pr.linked': {
    description: 'A pull/merge request documenting the emergency change was linked to the grant.',
    controls: [...CHANGE_CONTROL, 'NIST-800-53:CM-5', ...LOGGING],
  },
  'deploy.reconciled': {
    description: 'The GitOps reconciler (Flux, Argo CD) applied a Git revision: the deployment audit trail.',
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, ...LOGGING],
  },
  'deploy.failed': {
    description: 'The GitOps reconciler failed to apply a revision (build, validation, health check).',
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, 'NIST-800-53:SI-4', ...LOGGING],
  },
  'deploy.drift_detected': {
    description: 'The reconciler found the running system differing from Git (and corrected or reported it).',
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, 'SOC2:CC7.2', 'NIST-800-53:SI-4', ...LOGGING],
  },
  'drift.attributed': {
    description: "Drift on an object in a target's GitOps scope, explained by a grant on that target (active or just ended).",
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, 'NIST-800-53:SI-4', ...LOGGING],
  },
  'drift.unattributed': {
    description: 'Drift that no grant explains: a possibly unauthorized change; security was notified at once.',
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, 'SOC2:CC7.2', 'NIST-800-53:SI-4', 'NIST-800-53:IR-4', ...LOGGING],
  },
  'change.reconciled': {
    description: "The grant's merged retro PR was applied by the reconciler: the emergency change is in Git and running.",
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, ...LOGGING],
  },
  'gitops.paused': {
    description: "The engineer suspended reconciliation for the target's scope during the incident (pause helper).",
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, ...LOGGING],
  },
  'gitops.resumed': {
    description: "Reconciliation for the target's scope was resumed after the incident.",
    controls: [...CHANGE_CONTROL, ...CONFIGURATION, ...LOGGING],
  },
  'evidence.exported': {
    description: 'Evidence was exported (a signed grant bundle or a period export): who took what out.',
    controls: [...LOGGING, ...LOG_INTEGRITY],
  },
  'audit.anchor_overdue': {
    description: 'A signed checkpoint of the audit log could not be published to an anchor for longer than audit.anchorAlertAfter; security was notified.',
    controls: ['SOC2:CC7.2', ...LOG_INTEGRITY],
  },
  'keys.rotated': {
    description: 'The credential / evidence signing key was rotated.',
    controls: ['SOC2:CC6.1', ...LOG_INTEGRITY],
  },
} as const satisfies Record<string, ActionDefinition>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** Catalogue controls of the action plus the target's own, de-duplicated and sorted (hashed order). */
export function controlsFor(action: AuditAction, extra: readonly string[] = []): string[] {
  return [...new Set<string>([...AUDIT_ACTIONS[action].controls, ...extra])].sort();
}

/** docs/controls.md, generated from this catalogue (npm run docs:controls) so the two never disagree. */
export function controlsMarkdown(): string {
  const lines = [
    '# Compliance controls evidenced by breakglass',
    '',
    '<!-- Generated from src/audit/control-catalogue.ts by `npm run docs:controls`. Do not edit by hand. -->',
    '',
    'Every audit event carries the control IDs below for its action, plus the `controls` of its target',
    'in the policy. `GET /v1/audit?control=ID` and `GET /v1/evidence/export?control=ID` select them.',
    '',
  ];
  for (const [id, control] of Object.entries(CONTROLS)) {
    const actions = Object.entries(AUDIT_ACTIONS).filter(([, definition]) => (definition.controls as readonly string[]).includes(id));
    lines.push(`## ${id}: ${control.title}`, '', `Framework: ${FRAMEWORKS[id.split(':')[0] as keyof typeof FRAMEWORKS]}.`, '', 'Evidenced by:', '');
    for (const [action, definition] of actions) lines.push(`- \`${action}\`: ${definition.description}`);
    lines.push('', `How an auditor tests it: ${control.test}`, '');
  }
  return lines.join('\n');
}
