import { argoCdReconcilerEvent, type ArgoCdNotification } from './argocd-notification';

// Classification of rendered template bodies, including what Go's text/template prints for a
// missing key (`<no value>`): absent, never a value, never equal to another unknown.
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const base: ArgoCdNotification = {
  app: 'payments-api',
  appNamespace: 'argocd',
  syncStatus: 'OutOfSync',
  destination: { server: 'https://kubernetes.default.svc', name: '' },
};
const map = (body: ArgoCdNotification) => {
  const mapped = argoCdReconcilerEvent({ ...base, ...body }, 'delivery');
  return 'ignored' in mapped ? 'ignored' : { kind: mapped.kind, revision: mapped.revision, commit: mapped.commit, cluster: mapped.cluster };
};

describe(argoCdReconcilerEvent.name, () => {
  it.each<[string, ArgoCdNotification, ReturnType<typeof map>]>([
    [
      'OutOfSync while Git is at the synced revision: drift',
      { revision: A, syncedRevision: A },
      { kind: 'drift', revision: A, commit: A, cluster: 'https://kubernetes.default.svc' },
    ],
    ['OutOfSync after a new commit: pending', { revision: B, syncedRevision: A }, 'ignored'],
    ['both revisions <no value>: unknown, pending', { revision: '<no value>', syncedRevision: '<no value>' }, 'ignored'],
    ['the synced revision unknown: pending', { revision: A, syncedRevision: '' }, 'ignored'],
    [
      'multi-source, every source unmoved: drift',
      { revisions: ['1.4.2', A], syncedRevisions: ['1.4.2', A] },
      { kind: 'drift', revision: `1.4.2, ${A}`, commit: A, cluster: 'https://kubernetes.default.svc' },
    ],
    ['multi-source, one source moved: pending', { revisions: ['1.4.2', B], syncedRevisions: ['1.4.2', A] }, 'ignored'],
    ['multi-source, the synced list shorter: pending', { revisions: ['1.4.2', A], syncedRevisions: ['1.4.2'] }, 'ignored'],
    [
      'a successful sync: reconciled at the synced revision',
      { syncStatus: 'Synced', operationPhase: 'Succeeded', revision: B, syncedRevision: A },
      { kind: 'reconciled', revision: A, commit: A, cluster: 'https://kubernetes.default.svc' },
    ],
    [
      'multi-source with two commits: no single commit',
      { syncStatus: 'Synced', operationPhase: 'Succeeded', syncedRevisions: [A, B] },
      { kind: 'reconciled', revision: `${A}, ${B}`, commit: null, cluster: 'https://kubernetes.default.svc' },
    ],
    [
      'a failed sync',
      { operationPhase: 'Failed', revision: B, syncedRevision: A },
      { kind: 'failed', revision: B, commit: B, cluster: 'https://kubernetes.default.svc' },
    ],
    [
      'destination.name <no value>: the server is the cluster',
      { destination: { server: 'https://10.0.0.1:6443', name: '<no value>' }, revision: A, syncedRevision: A },
      { kind: 'drift', revision: A, commit: A, cluster: 'https://10.0.0.1:6443' },
    ],
    [
      'a destination name wins over the server',
      { destination: { server: 'https://10.0.0.1:6443', name: 'prod-eu-1' }, revision: A, syncedRevision: A },
      { kind: 'drift', revision: A, commit: A, cluster: 'prod-eu-1' },
    ],
  ])('%s', (_name, body, expected) => {
    expect(map(body)).toEqual(expected);
  });

  it('refuses a body whose app or syncStatus is missing or <no value>', () => {
    expect(() => argoCdReconcilerEvent({ syncStatus: 'Synced' }, 'delivery')).toThrow(/needs app and syncStatus/);
    expect(() => argoCdReconcilerEvent({ app: 'x', syncStatus: '<no value>' }, 'delivery')).toThrow(/needs app and syncStatus/);
  });

  it('keeps only the OutOfSync resources of a drift, and no <no value> namespace', () => {
    const mapped = argoCdReconcilerEvent(
      {
        ...base,
        revision: A,
        syncedRevision: A,
        resources: [
          { kind: 'ClusterRole', namespace: '<no value>', name: 'ops', status: 'OutOfSync' },
          { kind: 'Service', namespace: 'payments', name: 'api', status: 'Synced' },
        ],
      },
      'delivery',
    );
    expect('ignored' in mapped ? null : mapped.resources).toEqual([{ kind: 'ClusterRole', namespace: null, name: 'ops' }]);
  });
});
