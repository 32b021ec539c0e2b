import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { KubernetesAccess } from './api-types';
import type { LocalGrant } from './local-state';

// `breakglass kubeconfig` and the exec credential plugin `breakglass credential kubernetes` (P2.3).
// The kubeconfig never holds the token: kubectl runs the plugin, which hands it the grant's token
// only while the grant is active.

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];
/** kubectl 1.22 brought exec credential v1; older clients (Debian bookworm ships 1.20) know v1beta1 only. */
const FIRST_MINOR_WITH_V1 = 22;

export interface KubeconfigEntries {
  contextName: string;
  cluster: { name: string; cluster: Record<string, string> };
  user: { name: string; user: { exec: Record<string, unknown> } };
  context: { name: string; context: { cluster: string; user: string } };
}

export function kubernetesAccessOf(grant: LocalGrant): KubernetesAccess {
  const access = grant.credential.type === 'jwt' ? grant.credential.kubernetes : undefined;
  if (!access) throw new Error(`${grant.id} is on ${grant.target}, which is not a Kubernetes target (its policy has no kubernetes: cluster)`);
  return access;
}

/** A context per grant, named after the target and the grant; its user is the exec plugin. */
export function kubeconfigEntries(grant: LocalGrant, execApiVersion: ExecApiVersion): KubeconfigEntries {
  const access = kubernetesAccessOf(grant);
  const clusterName = `breakglass-${access.cluster}`;
  const userName = `breakglass-${grant.id}`;
  const contextName = `${grant.target}-${grant.id}`;
  const exec: Record<string, unknown> = {
    apiVersion: execApiVersion,
    command: 'breakglass',
    args: ['credential', 'kubernetes', grant.id],
    provideClusterInfo: false,
  };
  // v1 requires interactiveMode; the plugin never prompts.
  if (execApiVersion.endsWith('/v1')) exec.interactiveMode = 'Never';
  return {
    contextName,
    cluster: {
      name: clusterName,
      cluster: { server: access.server, ...(access.certificateAuthorityData ? { 'certificate-authority-data': access.certificateAuthorityData } : {}) },
    },
    user: { name: userName, user: { exec } },
    context: { name: contextName, context: { cluster: clusterName, user: userName } },
  };
}

/** A whole kubeconfig holding only the grant's context (for `--out` and stdout). */
export function standaloneKubeconfig(entries: KubeconfigEntries): string {
  const doc = parseDocument('apiVersion: v1\nkind: Config\n');
  return mergeInto(doc, entries).toString();
}

/**
 * The grant's entries merged into an existing kubeconfig: entries of the same name are replaced,
 * everything else (other clusters, users, contexts, comments, preferences) stays as it was.
 */
export function mergedKubeconfig(existing: string, entries: KubeconfigEntries): { text: string; previousContext: string | null } {
  const doc = parseDocument(existing.trim() ? existing : 'apiVersion: v1\nkind: Config\n');
  if (doc.errors.length) throw new Error(`the kubeconfig is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error('the kubeconfig is not a YAML mapping');
  const previous = doc.get('current-context');
  return { text: mergeInto(doc, entries).toString(), previousContext: typeof previous === 'string' && previous ? previous : null };
}

function mergeInto(doc: Document, entries: KubeconfigEntries): Document {
  for (const [key, entry] of [
    ['clusters', entries.cluster],
    ['users', entries.user],
    ['contexts', entries.context],
  ] as const) {
    let list = doc.get(key, true);
    if (!isSeq(list)) {
      doc.set(key, doc.createNode([]));
      list = doc.get(key, true);
    }
    const items = (list as { items: unknown[] }).items;
    const index = items.findIndex((item) => isMap(item) && item.get('name') === entry.name);
    const node = doc.createNode(entry);
    if (index >= 0) items[index] = node;
    else items.push(node);
  }
  doc.set('current-context', entries.contextName);
  return doc;
}

/** Where `--merge` writes: the first file of $KUBECONFIG (as kubectl does for new entries), else ~/.kube/config. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.KUBECONFIG?.split(path.delimiter).find(Boolean);
  return first ?? path.join(homedir(), '.kube', 'config');
}

/** The exec API version the installed kubectl understands (v1 unless it is older than 1.22 or absent). */
export function detectExecApiVersion(): ExecApiVersion {
  try {
    const output = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
    const minor = Number.parseInt(String(JSON.parse(output).clientVersion?.minor ?? ''), 10);
    return Number.isFinite(minor) && minor < FIRST_MINOR_WITH_V1 ? 'client.authentication.k8s.io/v1beta1' : 'client.authentication.k8s.io/v1';
  } catch {
    return 'client.authentication.k8s.io/v1';
  }
}

/** The apiVersion kubectl asks for in KUBERNETES_EXEC_INFO (v1 when unset, as P2.3 says). */
export function requestedExecApiVersion(execInfo: string | undefined): ExecApiVersion {
  if (!execInfo) return 'client.authentication.k8s.io/v1';
  let apiVersion: unknown;
  try {
    apiVersion = (JSON.parse(execInfo) as { apiVersion?: unknown }).apiVersion;
  } catch {
    throw new Error('KUBERNETES_EXEC_INFO is not JSON');
  }
  const known = EXEC_API_VERSIONS.find((version) => version === apiVersion);
  if (!known) throw new Error(`KUBERNETES_EXEC_INFO asks for ${String(apiVersion)}; this plugin speaks ${EXEC_API_VERSIONS.join(' and ')}`);
  return known;
}

/** The ExecCredential kubectl reads from the plugin's stdout. */
export function execCredential(apiVersion: ExecApiVersion, token: string, expiresAt: string): Record<string, unknown> {
  // RFC 3339 to the second: the token's own exp is rounded down to the second too.
  const expirationTimestamp = new Date(Math.floor(Date.parse(expiresAt) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return { apiVersion, kind: 'ExecCredential', spec: { interactive: false }, status: { token, expirationTimestamp } };
}
