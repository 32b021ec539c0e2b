import { ApiClient } from '../api-client';
import type { CliLoginConfig, MeView } from '../api-types';
import type { Cli } from '../cli-context';
import { deviceLogin, forgetLogin, loginFile, readLogin } from '../login';

/** login, logout, whoami: who the CLI acts as. */
export function registerAuthCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  program
    .command('login')
    .description('sign in with your identity provider (device flow: approve in any browser); the token is cached for every command')
    .option('--issuer <url>', 'OIDC issuer (default: OIDC_ISSUER, else what the broker says)')
    .option('--client-id <id>', 'OIDC client of the CLI (default: OIDC_CLI_CLIENT_ID, else what the broker says)')
    .option('--scope <scopes>', 'scopes to ask for', 'openid email offline_access')
    .action(async (options: { issuer?: string; clientId?: string; scope: string }) => {
      const broker = program.opts<{ url: string }>().url;
      const config = await client().get<CliLoginConfig>('v1/auth/cli');
      if (config.authMode === 'dev' && !options.issuer && !process.env.OIDC_ISSUER)
        throw new Error(
          `the broker at ${broker} runs AUTH_MODE=dev: there is nothing to sign in to. Mint a token on the broker's machine with ` +
            '`breakglass dev-token --sub YOU --roles engineer` and set BREAKGLASS_TOKEN',
        );
      const issuer = options.issuer ?? process.env.OIDC_ISSUER ?? config.issuer!;
      const clientId = options.clientId ?? process.env.OIDC_CLI_CLIENT_ID ?? config.clientId;
      if (!clientId)
        throw new Error(
          `the broker at ${broker} has no OIDC_CLI_CLIENT_ID: its operator registers a public client with the device authorization grant at ${issuer} ` +
            '(docs/configuration.md), or pass --client-id',
        );
      const login = await deviceLogin({
        broker,
        issuer,
        clientId,
        scope: options.scope,
        audience: config.audience,
        tell: (text) => process.stderr.write(`${text}\n`),
      });
      const me = await new ApiClient({ baseUrl: broker, token: login.accessToken }).get<MeView>('v1/me').catch(() => null);
      if (asJson()) return console.log(JSON.stringify({ subject: me?.subject ?? null, roles: me?.roles ?? [], expiresAt: login.expiresAt, file: loginFile() }));
      console.log(
        me
          ? `Signed in to ${broker} as ${me.subject} (${me.roles.join(', ') || 'no broker roles'}); token cached in ${loginFile()} until ${login.expiresAt}.`
          : `Signed in at ${issuer}; token cached in ${loginFile()} until ${login.expiresAt}, but ${broker} did not accept it (run \`breakglass whoami\`).`,
      );
    });

  program
    .command('logout')
    .description('forget the cached login token')
    .action(() => {
      const existed = forgetLogin();
      console.log(existed ? `Signed out: ${loginFile()} removed.` : 'Not signed in.');
    });

  program
    .command('whoami')
    .description('who the broker sees you as, with your roles, and where the token comes from')
    .action(async () => {
      const me = await client().get<MeView>('v1/me');
      const login = readLogin();
      const source = cli.explicitToken() ? 'BREAKGLASS_TOKEN/--token' : login ? `${loginFile()} (expires ${login.expiresAt})` : 'none';
      if (asJson()) return console.log(JSON.stringify({ ...me, tokenSource: source }));
      console.log(`${me.subject}${me.email ? ` <${me.email}>` : ''}: ${me.roles.join(', ') || 'no broker roles'} (token from ${source})`);
    });
}
