// Which compliance controls each audit action evidences. Control IDs are `FRAMEWORK:ID`; targets
// may add their own (policy `controls`), which are appended to events about that target.

export const FRAMEWORKS = {
  SOC2: 'AICPA SOC 2 Trust Services Criteria (2017)',
  'NIST-800-53': 'NIST SP 800-53 Rev. 5',
  'ISO27001-2022': 'ISO/IEC 27001:2022 Annex A',
  'ISO27001-2013': 'ISO/IEC 27001:2013 Annex A (legacy numbering)',
  'PCI-DSS-4.0': 'PCI DSS v4.0',
} as const;

export const CONTROLS = {
  'SOC2:CC6.1': 'Logical access security: software, infrastructure and architectures',
  'SOC2:CC6.2': 'Registration and authorization of users before access is issued',
  'SOC2:CC6.3': 'Access is authorized, modified or removed based on roles and least privilege',
  'SOC2:CC7.2': 'System components are monitored for anomalies indicative of malicious acts',
  'SOC2:CC8.1': 'Changes are authorized, designed, documented, tested, approved and implemented',
  'NIST-800-53:AC-2': 'Account management',
  'NIST-800-53:AC-6(9)': 'Least privilege: log use of privileged functions',
  'NIST-800-53:AU-2': 'Event logging',
  'NIST-800-53:AU-9': 'Protection of audit information',
  'NIST-800-53:AU-10': 'Non-repudiation',
  'NIST-800-53:CM-3': 'Configuration change control',
  'NIST-800-53:CM-5': 'Access restrictions for change',
  'NIST-800-53:IR-4': 'Incident handling',
  'ISO27001-2022:A.5.15': 'Access control',
  'ISO27001-2022:A.8.2': 'Privileged access rights',
  'ISO27001-2022:A.8.15': 'Logging',
  'ISO27001-2022:A.8.32': 'Change management',
  'ISO27001-2013:A.9.2.3': 'Management of privileged access rights',
  'ISO27001-2013:A.12.1.2': 'Change management',
  'ISO27001-2013:A.12.4.2': 'Protection of log information',
  'PCI-DSS-4.0:6.5.1': 'Changes to system components are made according to change-control procedures',
  'PCI-DSS-4.0:7.2': 'Access to system components and data is appropriately defined and assigned',
  'PCI-DSS-4.0:8.2': 'User identification and related accounts are strictly managed',
  'PCI-DSS-4.0:10.2.1': 'Audit logs are enabled and active for all system components',
} as const;

export type ControlId = keyof typeof CONTROLS;

const ACCESS_ISSUED: ControlId[] = ['SOC2:CC6.2', 'SOC2:CC6.3', 'NIST-800-53:AC-2', 'NIST-800-53:AC-6(9)', 'ISO27001-2022:A.5.15', 'ISO27001-2022:A.8.2', 'ISO27001-2013:A.9.2.3', 'PCI-DSS-4.0:7.2', 'PCI-DSS-4.0:8.2'];
const CHANGE_CONTROL: ControlId[] = ['SOC2:CC8.1', 'NIST-800-53:CM-3', 'ISO27001-2022:A.8.32', 'ISO27001-2013:A.12.1.2', 'PCI-DSS-4.0:6.5.1'];
const LOGGING: ControlId[] = ['NIST-800-53:AU-2', 'ISO27001-2022:A.8.15', 'PCI-DSS-4.0:10.2.1'];
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
  'credential.issued': {
    description: 'A time-boxed credential was issued (fingerprint only; the secret is never stored).',
    controls: ['SOC2:CC6.1', ...ACCESS_ISSUED, ...LOGGING],
  },
  'credential.revoked': {
    description: 'A credential was made unusable at its provider.',
    controls: ['SOC2:CC6.1', ...ACCESS_ISSUED, ...LOGGING],
  },
  'session.sealed': {
    description: "The session command log's head hash, anchoring every command in the audit chain.",
    controls: ['SOC2:CC7.2', 'SOC2:CC8.1', 'NIST-800-53:AC-6(9)', ...LOGGING, ...LOG_INTEGRITY],
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
  'pr.linked': {
    description: 'A pull/merge request documenting the emergency change was linked to the grant.',
    controls: [...CHANGE_CONTROL, 'NIST-800-53:CM-5', ...LOGGING],
  },
  'evidence.exported': {
    description: 'Evidence was exported (a signed grant bundle or a period export): who took what out.',
    controls: [...LOGGING, ...LOG_INTEGRITY],
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
