import type { NewCredential } from './credentials.repository';

/** What the credential providers need to know about a grant. */
export interface GrantSubject {
  id: string;
  target: string;
  requester: string;
  role: string | null;
  activatedAt: Date;
  expiresAt: Date;
}

/** The credential as returned to the requester, once (docs/api.md, "Breaking the glass"). */
export type IssuedCredential =
  | { type: 'jwt'; token: string; expiresAt: string; kubernetes?: KubernetesAccess }
  | { type: 'postgres'; username: string; password: string; url: string; expiresAt: string }
  /** P2.2: a login valid only at the broker's recording proxy. */
  | { type: 'postgres'; access: 'proxy'; username: string; password: string; host: string; port: number; database: string; url: string; expiresAt: string };

export interface Issued<C> {
  credential: C;
  record: NewCredential;
}

/** P2.3: where a jwt target's token is used, for `breakglass kubeconfig` (targets with `kubernetes:`). */
export interface KubernetesAccess {
  cluster: string;
  server: string;
  certificateAuthorityData: string | null;
  /** The username the cluster maps from the token: the target's usernamePrefix + the requester. */
  username: string;
}
