import type { KeyRotation } from '../api-types';
import { type Cli } from '../cli-context';

/** keys rotate. */
export function registerKeyCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  program
    .command('keys')
    .description('signing keys')
    .command('rotate')
    .description('start signing with a new key (admin); old keys stay published until their tokens expire')
    .action(async () => {
      const rotated = await client().post<KeyRotation>('v1/keys/rotate', {});
      console.log(
        asJson()
          ? JSON.stringify(rotated)
          : `Signing with ${rotated.keys.map((key) => `${key.alg} ${key.kid}`).join(', ')}; retired ${rotated.retired.join(', ') || 'none'}.`,
      );
    });
}
