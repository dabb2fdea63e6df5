import { ConfigError, loadConfig } from './config';
import { consoleLogger as log } from './logger';
import { startServer } from './server';

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`configuration error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}

const { stop } = await startServer(config, log);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stop().then(
      () => process.exit(0),
      (e) => {
        log.error('error while stopping', e);
        process.exit(1);
      },
    );
  });
}
