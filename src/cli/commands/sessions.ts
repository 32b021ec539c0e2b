import { requireLocalGrant, sessionClient, type Cli } from '../cli-context';
import { loadGrant } from '../local-state';
import { flushSpools, recordOneCommand, recordShell } from '../recorder';
import { Spool } from '../spool';

/** exec, shell, flush: the session recorder. */
export function registerSessionCommands(cli: Cli): void {
  const { program, asJson } = cli;
  program
    .command('exec <grant> <command...>')
    .description('run one command with the grant credential, recorded in the session log (use -- before the command)')
    .action(async (grantId: string, command: string[]) => {
      const grant = requireLocalGrant(grantId);
      const { exitCode, flushError } = await recordOneCommand(grant, sessionClient(grant), command);
      if (flushError)
        process.stderr.write(`breakglass: recorded locally; not sent yet (${flushError}). It will be sent by the next command or \`breakglass flush\`.\n`);
      process.exitCode = exitCode;
    });

  program
    .command('shell <grant>')
    .description('a bash shell with the grant credential, every command line recorded in the session log')
    .action(async (grantId: string) => {
      const grant = requireLocalGrant(grantId);
      process.stderr.write(`breakglass: recorded shell for ${grant.id} on ${grant.target}; every command is sent to the session log. Exit to end.\n`);
      const { exitCode, recorded, flushError } = await recordShell(grant, sessionClient(grant));
      process.stderr.write(
        `breakglass: ${recorded} command(s) recorded${flushError ? `; not all sent yet (${flushError}) — run \`breakglass flush\`` : ' and sent'}.\n`,
      );
      process.exitCode = exitCode;
    });

  program
    .command('flush [grant]')
    .description('send recorded events still waiting in the local spool')
    .action(async (grantId?: string) => {
      const grants = grantId ? [grantId] : Spool.grantsWithSpools();
      const results = [];
      for (const id of grants) {
        const local = loadGrant(id);
        if (!local) results.push({ grant: id, sent: 0, error: 'no local record of this grant (request it from this machine)' });
        else results.push(...(await flushSpools(sessionClient(local), [id])));
      }
      if (asJson()) console.log(JSON.stringify(results));
      else for (const r of results) console.log(r.error ? `${r.grant}: not sent (${r.error})` : `${r.grant}: ${r.sent} event(s) sent`);
      process.exitCode = results.some((r) => r.error) ? 3 : 0;
    });
}
