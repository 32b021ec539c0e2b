import { createHmac, randomUUID } from 'node:crypto';

// Reconciler notifications in the senders' own formats: Flux notification-controller's `Event`
// (generic-hmac provider) and the Argo CD webhook body our docs/gitops.md template renders.

export function fluxEvent(options: {
  kind?: 'Kustomization' | 'HelmRelease';
  namespace?: string;
  name: string;
  severity?: 'info' | 'error';
  reason: string;
  message: string;
  revision?: string;
  /** notification-controller strips the controller's API group (`revision`); the controller itself writes `<group>/revision`. */
  revisionKey?: string;
  cluster?: string;
}) {
  const kind = options.kind ?? 'Kustomization';
  const group = kind === 'Kustomization' ? 'kustomize.toolkit.fluxcd.io' : 'helm.toolkit.fluxcd.io';
  const controller = kind === 'Kustomization' ? 'kustomize-controller' : 'helm-controller';
  return {
    involvedObject: {
      kind,
      namespace: options.namespace ?? 'flux-system',
      name: options.name,
      uid: randomUUID(),
      apiVersion: `${group}/v1`,
      resourceVersion: '123456',
    },
    severity: options.severity ?? 'info',
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    message: options.message,
    reason: options.reason,
    metadata: {
      ...(options.revision ? { [options.revisionKey ?? 'revision']: options.revision } : {}),
      ...(options.cluster ? { cluster: options.cluster } : {}),
    },
    reportingController: controller,
    reportingInstance: `${controller}-7c7b47f5f-8bhrp`,
  };
}

/** Headers notification-controller sends, `X-Signature` = HMAC of the exact body with the Provider's token. */
export function fluxDelivery(secret: string, payload: unknown, algorithm: 'sha256' | 'sha512' = 'sha256') {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'gotk-component': (payload as { reportingController?: string }).reportingController ?? 'kustomize-controller',
      'user-agent': 'Go-http-client/1.1',
      'x-signature': `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`,
    },
  };
}

export function argoCdNotification(options: {
  app: string;
  namespace: string;
  syncStatus: 'Synced' | 'OutOfSync' | 'Unknown';
  health?: string;
  revision: string;
  syncedRevision?: string;
  operationPhase?: 'Succeeded' | 'Failed' | 'Error' | 'Running' | '';
  resources?: { kind: string; namespace: string; name: string; status: 'Synced' | 'OutOfSync' }[];
}) {
  return {
    app: options.app,
    appNamespace: 'argocd',
    project: 'default',
    destination: { server: 'https://kubernetes.default.svc', name: 'in-cluster', namespace: options.namespace },
    syncStatus: options.syncStatus,
    health: options.health ?? 'Healthy',
    revision: options.revision,
    syncedRevision: options.syncedRevision ?? options.revision,
    operationPhase: options.operationPhase ?? '',
    resources: options.resources ?? [],
  };
}

export function argoCdDelivery(token: string, payload: unknown) {
  return {
    body: JSON.stringify(payload),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'argocd-notifications-controller' },
  };
}
