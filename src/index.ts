// The entry point: reads the command line (src/cli/main.ts) and either runs a subcommand and exits, or serves.
// Only the command line's words are loaded first: --help, --version and a wrong command line answer without loading
// the server (0.4 s of imports from source).
import { parseCommand, USAGE, VERSION } from './cli/command';
import { COMPILED } from './worker-entry';

// --help, --version and a wrong command line need no configuration (and must not create DATA_DIR)
const command = parseCommand(process.argv.slice(2));
if (command.name === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (command.name === 'version') {
  console.log(VERSION);
  process.exit(0);
}
if (command.name === 'invalid') {
  process.stderr.write(`${command.message}\n\n${USAGE}`);
  process.exit(2);
}

// serving: first the one-GC-marker restart (src/ops/gc-markers.ts); nothing has run yet that a restart would repeat
if (command.name === 'serve') {
  const { gcMarkersExec } = await import('./ops/gc-markers');
  const plan = gcMarkersExec({
    env: process.env,
    execPath: process.execPath,
    argv: process.argv,
    execArgv: process.execArgv,
    compiled: COMPILED,
    platform: process.platform,
    canExec: typeof process.execve === 'function',
  });
  if (plan) process.execve!(plan.file, plan.args, plan.env);
}

const { ConfigError, loadConfig } = await import('./config');
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

// migrate, backup, restore, review (src/cli/review.ts: decide on outputs held for review): run, then exit
if (command.name !== 'serve') {
  const { runCommand } = await import('./cli/main');
  process.exit(await runCommand(command, config, { out: (line) => console.log(line), err: (line) => console.error(line) }));
}

const [{ loggerFor }, { StartupError }, { startServer }] = await Promise.all([
  import('./ops/observability-config'),
  import('./ops/disk'),
  import('./server'),
]);
// LOG_FORMAT and LOG_LEVEL; the configuration's secrets are redacted from every line
const log = loggerFor(config);
/** A stop that has not finished by then (a database call that never returns, say) ends the process anyway. */
const STOP_TIMEOUT_MS = 25_000;
// The handlers are in place before start-up begins: the workers start after the server listens, and a signal in
// between (an orchestrator that stops a container as soon as it answers /healthz) would otherwise end the process by
// the default action, without the drain and the database close. A signal during start-up stops once it has finished.
let stop: (() => Promise<void>) | undefined;
let signalled = false;
const stopNow = (stopServer: () => Promise<void>) =>
  stopServer().then(
    () => process.exit(0),
    (e) => {
      log.error('error while stopping', e);
      process.exit(1);
    },
  );
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    setTimeout(() => {
      log.error(`stopping took longer than ${STOP_TIMEOUT_MS / 1000} s; exiting now`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    if (stop) stopNow(stop);
    else log.info(`${signal} during start-up: stopping once started`);
  });
}
try {
  ({ stop } = await startServer(config, log));
} catch (e) {
  if (e instanceof StartupError) {
    console.error(`start-up error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
if (signalled) stopNow(stop);
