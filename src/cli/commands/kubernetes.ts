import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Option } from 'commander';
import { grantEnded, requireLocalGrant, type Cli } from '../cli-context';
import {
  defaultKubeconfigPath,
  detectExecApiVersion,
  EXEC_API_VERSIONS,
  execCredential,
  kubeconfigEntries,
  mergedKubeconfig,
  requestedExecApiVersion,
  standaloneKubeconfig,
  type ExecApiVersion,
} from '../kubeconfig';

/** kubeconfig, credential kubernetes: kubectl with a grant. */
export function registerKubernetesCommands(cli: Cli): void {
  const { program, asJson } = cli;
  program
    .command('kubeconfig <grant>')
    .description('a kubectl context for a grant on a Kubernetes target; kubectl gets the token from `breakglass credential kubernetes`')
    .addOption(new Option('--out <file>', 'write a kubeconfig holding only this context').conflicts('merge'))
    .option('--merge', 'add the context to $KUBECONFIG (its first file) or ~/.kube/config, keeping everything there, and switch to it')
    .addOption(
      new Option('--exec-api-version <version>', 'exec credential apiVersion (default: what the installed kubectl speaks)').choices([...EXEC_API_VERSIONS]),
    )
    .action((grantId: string, options: { out?: string; merge?: boolean; execApiVersion?: ExecApiVersion }) => {
      const entries = kubeconfigEntries(requireLocalGrant(grantId), options.execApiVersion ?? detectExecApiVersion());
      if (!options.out && !options.merge) return void process.stdout.write(standaloneKubeconfig(entries));
      const file = options.out ?? defaultKubeconfigPath();
      let previousContext: string | null = null;
      let text = standaloneKubeconfig(entries);
      if (options.merge) {
        ({ text, previousContext } = mergedKubeconfig(existsSync(file) ? readFileSync(file, 'utf8') : '', entries));
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      }
      writeFileSync(file, text, { mode: 0o600 });
      if (asJson()) return console.log(JSON.stringify({ file, context: entries.contextName, previousContext }));
      console.log(`Context ${entries.contextName} written to ${file}${options.merge ? ' and made current' : ''}.`);
      if (options.merge && previousContext && previousContext !== entries.contextName)
        console.log(`Switch back with: kubectl config use-context ${previousContext}`);
      if (options.out) console.log(`Use it with: kubectl --kubeconfig ${file} get pods`);
    });

  program
    .command('credential')
    .description('credential helpers run by other tools')
    .command('kubernetes <grant>')
    .description("kubectl's exec credential plugin: prints an ExecCredential with the grant's token while the grant is active")
    .action(async (grantId: string) => {
      const apiVersion = requestedExecApiVersion(process.env.KUBERNETES_EXEC_INFO);
      const grant = requireLocalGrant(grantId);
      if (grant.credential.type !== 'jwt') throw new Error(`${grant.id} is a ${grant.credential.type} grant, not a token for a Kubernetes cluster`);
      const ended = await grantEnded(cli, grant);
      if (ended) throw new Error(`${ended}: breakglass request --target ${grant.target} --incident … --reason …`);
      process.stdout.write(`${JSON.stringify(execCredential(apiVersion, grant.credential.token, grant.expiresAt))}\n`);
    });
}
