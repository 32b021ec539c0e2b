import { AuditLog1764000000000 } from './1764000000000-AuditLog';
import { Grants1764100000000 } from './1764100000000-Grants';
import { SlaAndNotifications1764200000000 } from './1764200000000-SlaAndNotifications';
import { Sessions1764300000000 } from './1764300000000-Sessions';
import { Forwarders1764400000000 } from './1764400000000-Forwarders';
import { Gitops1764500000000 } from './1764500000000-Gitops';
import { AuditDataCanonical1764600000000 } from './1764600000000-AuditDataCanonical';
import { PrLinkSourceOrder1764700000000 } from './1764700000000-PrLinkSourceOrder';
import { SessionRecordFormat21764800000000 } from './1764800000000-SessionRecordFormat2';
import { ProxyCredentials1764900000000 } from './1764900000000-ProxyCredentials';
import { SigningKeyAlgorithms1765000000000 } from './1765000000000-SigningKeyAlgorithms';
import { KubernetesAuditEvents1765100000000 } from './1765100000000-KubernetesAuditEvents';
import { GrantNumberOrder1765200000000 } from './1765200000000-GrantNumberOrder';
import { TransparencyLog1765300000000 } from './1765300000000-TransparencyLog';
import { EscalationDelivery1765400000000 } from './1765400000000-EscalationDelivery';
import { ReviewCoverage1765500000000 } from './1765500000000-ReviewCoverage';
import { AuditSequencer1765600000000 } from './1765600000000-AuditSequencer';
import { Drills1765700000000 } from './1765700000000-Drills';
import { IncidentEvidence1765800000000 } from './1765800000000-IncidentEvidence';
import { SlackThreads1765900000000 } from './1765900000000-SlackThreads';
import { ForgeEvidence1766000000000 } from './1766000000000-ForgeEvidence';
import { AuditSequenceFunction1766100000000 } from './1766100000000-AuditSequenceFunction';

/** Every migration, in order. New migrations are appended here (and reviewed by hand). */
export const MIGRATIONS = [
  AuditLog1764000000000,
  Grants1764100000000,
  SlaAndNotifications1764200000000,
  Sessions1764300000000,
  Forwarders1764400000000,
  Gitops1764500000000,
  AuditDataCanonical1764600000000,
  PrLinkSourceOrder1764700000000,
  SessionRecordFormat21764800000000,
  ProxyCredentials1764900000000,
  SigningKeyAlgorithms1765000000000,
  KubernetesAuditEvents1765100000000,
  GrantNumberOrder1765200000000,
  TransparencyLog1765300000000,
  EscalationDelivery1765400000000,
  ReviewCoverage1765500000000,
  AuditSequencer1765600000000,
  Drills1765700000000,
  IncidentEvidence1765800000000,
  SlackThreads1765900000000,
  ForgeEvidence1766000000000,
  AuditSequenceFunction1766100000000,
];
