import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fluxReconcilerEvent, type FluxEvent } from './flux-event';

// The classification of every real-shaped fixture (test/fixtures/flux, sources in its README),
// before the service compares revisions: `sameRevision` says what the event becomes at the revision
// already reconciled.
const fixture = (name: string): FluxEvent => JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/flux', `${name}.json`), 'utf8'));
const classify = (name: string) => {
  const mapped = fluxReconcilerEvent(fixture(name), 'delivery');
  return 'ignored' in mapped
    ? mapped
    : { kind: mapped.kind, sameRevision: mapped.sameRevision ?? null, resources: mapped.resources.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`) };
};

describe(fluxReconcilerEvent.name, () => {
  it.each([
    [
      'kustomization-progressing-changeset',
      { kind: 'reconciled', sameRevision: 'drift', resources: ['Deployment/payments/api', 'Service/payments/api', 'HorizontalPodAutoscaler/payments/api'] },
    ],
    ['kustomization-progressing-prune', { kind: 'reconciled', sameRevision: null, resources: ['ConfigMap/payments/api-config-6f9c8b'] }],
    ['kustomization-reconciliation-succeeded', { kind: 'reconciled', sameRevision: 'repeat', resources: [] }],
    ['kustomization-reconciliation-failed', { kind: 'failed', sameRevision: null, resources: [] }],
    ['kustomization-health-check-failed', { kind: 'failed', sameRevision: null, resources: [] }],
    ['helmrelease-upgrade-succeeded', { kind: 'reconciled', sameRevision: null, resources: [] }],
    ['helmrelease-upgrade-failed', { kind: 'failed', sameRevision: null, resources: [] }],
    ['helmrelease-drift-detected', { kind: 'drift', sameRevision: null, resources: ['Deployment/payments/api', 'ConfigMap/payments/api-env'] }],
    ['kustomization-progressing-health-passed', { ignored: true, reason: 'Progressing' }],
    ['kustomization-dependency-not-ready', { ignored: true, reason: 'DependencyNotReady' }],
    ['helmrelease-dependency-not-ready', { ignored: true, reason: 'DependencyNotReady' }],
  ])('%s', (name, expected) => {
    expect(classify(name)).toEqual(expected);
  });

  it('reads the revision with or without the API group prefix, and its commit', () => {
    const event = fixture('kustomization-progressing-changeset');
    const revision = event.metadata!.revision;
    event.metadata = { 'kustomize.toolkit.fluxcd.io/revision': revision };
    const mapped = fluxReconcilerEvent(event, 'delivery');
    expect('ignored' in mapped ? null : [mapped.revision, mapped.commit]).toEqual([revision, '3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e']);
  });

  it('refuses an event without its object or reason', () => {
    expect(() => fluxReconcilerEvent({ reason: 'Progressing' }, 'delivery')).toThrow(/involvedObject/);
  });
});
