import type { GitopsScope } from '../config/policy';

export type GitopsScopeView = Pick<GitopsScope, 'kustomizations' | 'apps'>;

/**
 * The commands that suspend or resume reconciliation of a target's scope, so the controller does
 * not revert an emergency fix mid-incident. Flux objects default to the flux-system namespace (as
 * the flux CLI does). Argo CD loses its automated policy on pause; resume restores automated sync
 * with self-heal, the usual setting for GitOps-managed apps (adjust if yours differs).
 */
export function reconcilerCommands(scope: GitopsScopeView, change: 'pause' | 'resume'): string[] {
  const flux = scope.kustomizations.map((entry) => {
    const [namespace, name] = entry.includes('/') ? entry.split('/') : ['flux-system', entry];
    return `flux ${change === 'pause' ? 'suspend' : 'resume'} kustomization ${name} -n ${namespace}`;
  });
  const argo = scope.apps.map((app) =>
    change === 'pause' ? `argocd app set ${app} --sync-policy none` : `argocd app set ${app} --sync-policy automated --self-heal`,
  );
  return [...flux, ...argo];
}
