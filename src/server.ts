import { createModerator } from './moderation';
import { type AdminHandlers, DataDirBusy, holdDataDir } from './cli/admin';
import { backupStream, pgliteOf } from './cli/backup';
import { VERSION } from './cli/main';
import { join } from 'node:path';
import { createApp, createWorkerApp } from './app';
import { systemClock } from './clock';
import type { Config } from './config';
import { embeddedPgSeed, openDatabase } from './db/client';
import { migrate } from './db/migrate';
import { migrations } from './db/migrations.gen';
import { createTokens } from './http/tokens';
import type { Logger } from './logger';
import { createMailer } from './mail/mailer';
import { runnerFromConfig, type Runner } from './generation';
import { createStorage } from './storage';
import { eventsHubFor } from './modules/generation/events';
import { readCacheOf } from './http/read-cache';
import { checkDataDirSpace, isNoSpace, spaceNeeded, StartupError } from './ops/disk';
import { startHousekeeping } from './ops/housekeeping';
import { startRetention } from './ops/retention';
import { createDbProbe, startWatchdog } from './ops/watchdog';

/** The runner of a ROLE=api instance: it never claims a task. */
const noRunner: Runner = { start: async () => {}, wake: () => {}, stop: async () => {}, running: 0 };

/**
 * Start-up: database + migrations → app → listen. Returns a stop function that drains and closes. ROLE=api
 * starts no runner; ROLE=worker serves only /healthz and /readyz.
 */
export async function startServer(config: Config, log: Logger) {
  const started = performance.now();
  const embedded = !config.databaseUrl;
  checkDataDirSpace(config.dataDir, embedded);
  // the embedded database is this process's: DATA_DIR/admin.sock says so, and serves `backup`/`migrate` (src/cli)
  const admin: AdminHandlers = {};
  let releaseDataDir = () => {};
  if (embedded) {
    try {
      releaseDataDir = await holdDataDir(config.dataDir, 'serve', VERSION, admin, log);
    } catch (e) {
      throw e instanceof DataDirBusy ? new StartupError(e.message) : e;
    }
  }
  let database;
  try {
    database = await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl }
        : { kind: 'pglite', dataDir: join(config.dataDir, 'pg'), seed: embeddedPgSeed(config.pgliteSeedFile) },
    );
  } catch (e) {
    releaseDataDir();
    // PGlite's WASM file system reports a full disk as a bare `ErrnoError { errno: 51 }`
    if (isNoSpace(e)) throw new StartupError(`not enough space in DATA_DIR=${config.dataDir} (needs about ${Math.ceil(spaceNeeded(config.dataDir, embedded) / 2 ** 20)} MB)`);
    throw e;
  }
  const applied = await migrate(database.db, migrations);
  if (applied.length) log.info(`migrations applied: ${applied.join(', ')}`);
  const pglite = pgliteOf(database);
  if (pglite) {
    admin.backup = () => backupStream(pglite, config.dataDir, VERSION);
    admin.migrate = () => migrate(database.db, migrations);
  }
  const mailer = createMailer({
    from: config.mailFrom,
    smtpUrl: config.smtpUrl,
    outboxDir: join(config.dataDir, 'outbox'),
    log,
  });
  const clock = systemClock;
  const tokens = createTokens(config.jwtSecret, config.jwtTtl, clock);
  const storage = createStorage(config.storage, config.dataDir);
  // ROLE=api never generates: its tasks are claimed by the workers, woken by the NOTIFY that creating a task sends
  // one moderation client for the API (prompts, references) and the runner (outputs)
  const moderator = createModerator(config.moderation, { log });
  const pool: Runner = config.role === 'api' ? noRunner : runnerFromConfig(config, { database, storage, clock, log, moderator });
  const dbProbe = createDbProbe(database, log, config.dbStallMs);
  const app =
    config.role === 'worker'
      ? createWorkerApp({ config, database, log, dbProbe })
      : createApp({ config, database, tokens, mailer, clock, log, storage, wake: pool.wake, dbProbe, moderator });
  // Start-up garbage (the embedded database's seed and wasm set-up, migrations) would otherwise stay resident for
  // many seconds: one full collection (about 45 ms) before listening brings idle memory down at once (270 -> 185 MB).
  Bun.gc(true);
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: Math.max(config.bodyLimit, config.uploadMaxBytes + 64 * 1024, config.labelVerifyMaxBytes + 64 * 1024),
    fetch: (req, srv) => app.handle(req),
  });
  // Elysia's handlers read the client address through `server`; hand it over
  (app as unknown as { server: typeof server }).server = server;
  log.info(
    `listening on http://${config.host}:${server.port} (role: ${config.role}, database: ${database.kind}, storage: ${storage.kind}, mail: ${mailer.kind}, workers: ${config.role === 'api' ? 0 : config.workers}) ` +
      `ready in ${Math.round(performance.now() - started)} ms`,
  );
  // The runner starts once the server answers, so that its start-up does not compete with the database's for the 2
  // cores before readiness (the local provider's worker threads start later still, with the first task that needs
  // one). Tasks created meanwhile wait in the queue; start() looks for them.
  await pool.start();
  const stopWatchdog = config.watchdogMs > 0 ? startWatchdog(config.watchdogMs) : () => {};
  // the stall check also runs without /readyz traffic, so that a stuck database is logged
  const probeTimer = setInterval(() => void dbProbe.check(), Math.max(1000, Math.floor(config.dbStallMs / 3)));
  probeTimer.unref?.();
  const stopHousekeeping = startHousekeeping(database.db, clock, log, {
    intervalMs: config.housekeepingMs,
    loginWindowMs: config.loginThrottle.windowMs,
  });
  const stopRetention = startRetention(database, storage, clock, log, {
    days: config.retentionDays,
    intervalMs: config.retentionIntervalMs,
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping: no new connections, finishing in-flight requests');
      clearInterval(probeTimer);
      stopHousekeeping();
      stopRetention();
      await eventsHubFor(database).close(); // open event streams end, so that the requests below can finish
      await server.stop(false);
      await readCacheOf(database.db)?.close();
      await pool.stop();
      mailer.close();
      await database.close();
      releaseDataDir(); // only now may a restore replace the data dir
      stopWatchdog();
      log.info('stopped');
    })());
  return { server, app, database, pool, stop };
}
