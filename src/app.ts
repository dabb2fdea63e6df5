import { Elysia } from 'elysia';
import type { Clock } from './clock';
import type { Config } from './config';
import type { Database } from './db/client';
import { accessLog, accessRecorder } from './http/access-log';
import { pollFastPath } from './modules/generation/poll-fast';
import { cors } from './http/cors';
import { errorHandler } from './http/errors';
import { favicon } from './http/favicon';
import { createResultLinks } from './http/result-links';
import { readCacheFor } from './http/read-cache';
import { metricsRoute } from './http/metrics';
import { countingMailer, metricsFor } from './ops/metrics';
import { requestGuard } from './http/guard';
import { docs } from './http/openapi';
import { opsRoutes } from './http/ops';
import type { Tokens } from './http/tokens';
import type { Logger } from './logger';
import type { Mailer } from './mail/mailer';
import { accountModule } from './modules/account';
import { authModule } from './modules/auth';
import { createPasswords } from './modules/auth/password';
import { favoritesModule } from './modules/favorites';
import { sessionsModule } from './modules/sessions';
import { createDbProbe, type DbProbe } from './ops/watchdog';
import { generationModule } from './modules/generation';
import { type EventsHub, eventsHubFor } from './modules/generation/events';
import { uploadsModule } from './modules/uploads';
import { labelsModule, VERIFY_PATH } from './modules/labels';
import type { Storage } from './storage/local';
import { createModerator } from './moderation';
import type { Moderator } from './moderation/types';
import pkg from '../package.json' with { type: 'json' };

export interface AppDeps {
  config: Config;
  database: Database;
  tokens: Tokens;
  mailer: Mailer;
  clock: Clock;
  log: Logger;
  storage: Storage;
  /** tells the generation worker pool that a task was queued */
  wake(): void;
  /** the database readiness check; by default one with the configured stall limit */
  dbProbe?: DbProbe;
  /** the live task events hub (one LISTEN); by default the one shared by every app on `database` */
  events?: EventsHub;
  /** reviews prompts and references (MODERATION); by default one built from `config` */
  moderator?: Moderator;
}

/** Routes whose handlers read the raw body themselves (the guard only caps its size). */
const RAW_BODY_PATHS = new Set(['/api/v1/upload', VERIFY_PATH]);

/** Largest body a request to `path` may carry. */
export function bodyLimitFor(config: Pick<Config, 'bodyLimit' | 'uploadMaxBytes' | 'labelVerifyMaxBytes'>, path: string): number {
  if (path === '/api/v1/upload') return config.uploadMaxBytes + 64 * 1024;
  if (path === VERIFY_PATH) return config.labelVerifyMaxBytes + 64 * 1024;
  return config.bodyLimit;
}

/** Composes every module; tests call `createApp(deps).handle(request)`. */
export function createApp(deps: AppDeps) {
  const { config, database, tokens, mailer, clock, log, storage, wake } = deps;
  const db = database.db;
  const dbProbe = deps.dbProbe ?? createDbProbe(database, log, config.dbStallMs);
  const moderator = deps.moderator ?? createModerator(config.moderation, { log });
  const metrics = metricsFor(db);
  const links = createResultLinks(config.jwtSecret, config.browsers.signedUrlTtl, clock);
  const passwords = createPasswords(config.passwordCost);
  // hot reads in memory, exact through the database's notifications (issue 15; READ_CACHE=off: every read asks it)
  if (config.readCache) readCacheFor(database, log);
  const app = new Elysia()
    .use(accessLog({ log, metrics })) // first: its request id and context must exist before any other hook runs
    // before the guard and auth: a preflight carries no token and no body (and is still logged, with its request id)
    .use(cors(config.browsers))
    .use(errorHandler(log))
    .use(requestGuard({ limitFor: (path) => bodyLimitFor(config, path), rawBodyPaths: RAW_BODY_PATHS }))
    .use(docs(pkg.version))
    .use(opsRoutes(dbProbe))
    .use(favicon())
    .use(metricsRoute(metrics, config.observability.metricsToken))
    .use(authModule({ db, tokens, mailer: countingMailer(mailer, metrics), clock, log, secret: config.jwtSecret, throttle: config.loginThrottle, passwords }, config))
    .use(accountModule({ db, tokens, clock, passwords }))
    .use(sessionsModule({ db, tokens, clock }))
    .use(favoritesModule({ db, tokens, clock, batchMax: config.batchMax }))
    .use(uploadsModule({ db, tokens, storage, clock, maxBytes: config.uploadMaxBytes, maxPixels: config.uploadMaxPixels }))
    .use(labelsModule({ keys: config.labels.verifyKeys }))
    .use(generationModule({ db, tokens, storage, clock, wake, moderator, log, fairUse: config.fairUse, links, events: deps.events ?? eventsHubFor(database, { log }) }));
  // The poll of a task that the read cache knows is answered before Elysia (modules/generation/poll-fast.ts); every
  // other request, and every poll it cannot answer from memory, goes through the app as usual.
  // `handle` may therefore answer without a promise: a Response, or a Promise of one (Bun.serve takes either)
  const served = app as Omit<typeof app, 'handle'> & { handle(request: Request): Response | Promise<Response> };
  if (!config.readCache) return served;
  const fast = pollFastPath({ d: { db, links }, tokens, cors: config.browsers, record: accessRecorder({ log, metrics }) });
  const handle = app.handle;
  served.handle = (request: Request) => fast(request) ?? handle(request);
  return served;
}

export type App = ReturnType<typeof createApp>;

/**
 * The HTTP side of a `ROLE=worker` instance: `/healthz` and `/readyz` for its orchestrator, every other path
 * HTTP 404 code 404 (no API, no Swagger, no files).
 */
export function createWorkerApp(deps: Pick<AppDeps, 'config' | 'database' | 'log' | 'dbProbe'>) {
  const dbProbe = deps.dbProbe ?? createDbProbe(deps.database, deps.log, deps.config.dbStallMs);
  const metrics = metricsFor(deps.database.db);
  return new Elysia()
    .use(accessLog({ log: deps.log, metrics }))
    .use(errorHandler(deps.log))
    .use(opsRoutes(dbProbe))
    .use(metricsRoute(metrics, deps.config.observability.metricsToken));
}
