import { ConfigError, loadConfig } from './config';
import { consoleLogger as log } from './logger';
import { StartupError } from './ops/disk';
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

// `review list|approve|reject` (src/cli/review.ts): decide on outputs held for review, then exit
const [command, ...args] = process.argv.slice(2);
if (command === 'review') {
  const { reviewCli } = await import('./cli/review');
  process.exit(await reviewCli(config, args, (line) => console.log(line)));
}

let server;
try {
  server = await startServer(config, log);
} catch (e) {
  if (e instanceof StartupError) {
    console.error(`start-up error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
const { stop } = server;
/** A stop that has not finished by then (a database call that never returns, say) ends the process anyway. */
const STOP_TIMEOUT_MS = 25_000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    setTimeout(() => {
      log.error(`stopping took longer than ${STOP_TIMEOUT_MS / 1000} s; exiting now`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    stop().then(
      () => process.exit(0),
      (e) => {
        log.error('error while stopping', e);
        process.exit(1);
      },
    );
  });
}
