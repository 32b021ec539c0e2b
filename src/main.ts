import 'reflect-metadata';
import { startService } from './service';
import { reportStartupFailure } from './startup-failure';

async function main() {
  const service = await startService(process.env);
  let signalled = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    try {
      await service.stop(signal);
    } finally {
      process.exit(signal === 'SIGINT' ? 130 : 0);
    }
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch(reportStartupFailure);
