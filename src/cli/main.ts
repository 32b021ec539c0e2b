import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, ApiError } from './api-client';
import type { Cli } from './cli-context';
import { registerAuthCommands } from './commands/auth';
import { registerCompletionCommands } from './commands/completion';
import { registerDrillCommands } from './commands/drills';
import { registerEvidenceCommands } from './commands/evidence';
import { registerGitopsCommands } from './commands/gitops';
import { registerGrantCommands } from './commands/grants';
import { registerKeyCommands } from './commands/keys';
import { registerKubernetesCommands } from './commands/kubernetes';
import { registerServiceCommands } from './commands/service';
import { registerSessionCommands } from './commands/sessions';
import { loggedInToken } from './login';

// `breakglass`: the service itself (serve, migrate) and a client of its v1 API. BREAKGLASS_URL and
// BREAKGLASS_TOKEN select the server and the caller. Human output by default, --json for scripts.

const program = new Command()
  .name('breakglass')
  .description('Emergency access broker: break the glass, with more audit evidence than a normal change')
  .showHelpAfterError()
  .addOption(new Option('--url <url>', 'broker base URL').env('BREAKGLASS_URL').default('http://127.0.0.1:8080').argParser(brokerUrl))
  .addOption(new Option('--token <token>', 'bearer token of the caller').env('BREAKGLASS_TOKEN'))
  .option('--json', 'machine-readable output');

/** `127.0.0.1:8080` is not a URL a person can be blamed for: say what is expected. */
function brokerUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol))
    throw new InvalidArgumentError(
      `the broker URL (--url or BREAKGLASS_URL) must start with http:// or https://, like http://${value.replace(/^\w+:\/\//, '')} (got "${value}")`,
    );
  return value;
}

// BREAKGLASS_TOKEN/--token wins; else the token `breakglass login` cached (renewed if need be), read
// once before the command runs.
let loginToken: string | undefined;
const COMMANDS_WITHOUT_CALLER = new Set(['login', 'logout', 'serve', 'migrate', 'dev-token', 'completion']);
program.hook('preAction', async (_program, command) => {
  if (!program.opts<{ token?: string }>().token && !COMMANDS_WITHOUT_CALLER.has(command.name())) loginToken = await loggedInToken();
});

const cli: Cli = {
  program,
  client: () => new ApiClient({ baseUrl: program.opts<{ url: string }>().url, token: cli.token() }),
  asJson: () => Boolean(program.opts<{ json?: boolean }>().json),
  token: () => cli.explicitToken() ?? loginToken,
  explicitToken: () => program.opts<{ token?: string }>().token,
};

registerServiceCommands(cli);
registerAuthCommands(cli);
registerGrantCommands(cli);
registerSessionCommands(cli);
registerKeyCommands(cli);
registerKubernetesCommands(cli);
registerGitopsCommands(cli);
registerEvidenceCommands(cli);
registerDrillCommands(cli);
registerCompletionCommands(cli);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ApiError) {
    process.stderr.write(`breakglass: ${error.message}${error.status ? ` (HTTP ${error.status}, ${error.code})` : ''}\n`);
    process.exit(error.status === 0 ? 3 : 1);
  }
  process.stderr.write(`breakglass: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
