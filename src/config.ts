import { availableParallelism } from 'node:os';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from './config-error';
import { type BrowserSettings, readBrowserSettings } from './http/browser-settings';
import { type ModerationSettings, readModerationSettings } from './moderation';
import { type FairUseSettings, readFairUseSettings } from './modules/generation/fair-use';
import { type ObservabilitySettings, readObservabilitySettings } from './ops/observability-config';
import { PROVIDERS } from './providers/registry';
import { isTaskType, TASK_TYPES, type TaskType } from './tasks';

/**
 * CPU priority of the generation worker threads (Linux): `idle` = SCHED_IDLE, they run only on CPU time nothing
 * else wants and the HTTP thread preempts them at once (falls back to `low` where it cannot be set); `low` = nice
 * 19; `normal` = the server's own priority.
 */
export const WORKER_PRIORITIES = ['idle', 'low', 'normal'] as const;
export type WorkerPriority = (typeof WORKER_PRIORITIES)[number];

/** Where uploads and results are kept: `disk` (DATA_DIR/files) or one bucket of an S3-compatible store. */
export type StorageConfig =
  | { kind: 'disk' }
  | {
      kind: 's3';
      bucket: string;
      /** absent ⇒ AWS S3 of the region */
      endpoint?: string;
      region?: string;
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      /** the bucket is in the endpoint's host name (OSS, COS) rather than in the path */
      virtualHostedStyle: boolean;
      /** answer owners' downloads with HTTP 302 to a short-lived presigned URL instead of streaming them */
      redirect: boolean;
    };

/**
 * What one instance does (issue 12): `all` serves HTTP and generates (one machine); `api` serves HTTP and never
 * generates; `worker` generates and answers only /healthz and /readyz. Any number of each share one database.
 */
export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Everything the process can be configured with, read once, typed and validated. */
export interface Config {
  /** ROLE: all (default), api or worker */
  role: Role;
  port: number;
  host: string;
  dataDir: string;
  /** absent ⇒ embedded PGlite in `${dataDir}/pg` */
  databaseUrl: string | null;
  /** from source: a pre-initialised PGlite data dir (gzipped tar) a first embedded start loads (PGLITE_SEED) */
  pgliteSeedFile: string | null;
  jwtSecret: string;
  /** token lifetime in seconds */
  jwtTtl: number;
  /** absent ⇒ messages are written to `${dataDir}/outbox` */
  smtpUrl: string | null;
  mailFrom: string;
  /** largest JSON request body in bytes */
  bodyLimit: number;
  /** largest upload in bytes */
  uploadMaxBytes: number;
  /** largest file POST /labels/verify reads */
  labelVerifyMaxBytes: number;
  /** largest upload in pixels (width × height) */
  uploadMaxPixels: number;
  /** generation workers */
  workers: number;
  /** CPU priority of the worker threads, so that generation yields the CPU to the HTTP thread (see WorkerPriority) */
  workerPriority: WorkerPriority;
  /** a claimed task's lease in ms; a task whose lease runs out (its worker or instance died) is re-queued */
  taskLeaseMs: number;
  /** claims of one task before it is failed rather than re-queued */
  taskMaxAttempts: number;
  /** longest one generation may run, in ms */
  taskTimeoutMs: number;
  /** most items in one favorites batch */
  batchMax: number;
  /** per-user limits on tasks (USER_MAX_ACTIVE_TASKS, USER_DAILY_TASKS; issue 14) */
  fairUse: FairUseSettings;
  /** forgot-password requests allowed per client IP per minute */
  forgotPerIpPerMinute: number;
  /** honour X-Forwarded-For for the client IP (only behind a trusted proxy) */
  trustProxy: boolean;
  /** browser clients: CORS_ORIGINS / CORS_CREDENTIALS and SIGNED_URL_TTL (src/http/browser-settings.ts) */
  browsers: BrowserSettings;
  /** login throttling: failures per account name / per client IP within the window, and the first lock */
  loginThrottle: { accountMax: number; ipMax: number; windowMs: number; lockMs: number };
  /** argon2id cost of new password hashes (default Bun's: m = 64 MiB, t = 2) */
  passwordCost: { memoryKib: number; time: number };
  /** how often expired sessions and stale login counters are deleted, in ms */
  housekeepingMs: number;
  /** the event loop may stop answering this long (ms) before the watchdog ends the process; 0 = no watchdog */
  watchdogMs: number;
  /** a database call may take this long (ms) before /readyz fails and it is logged */
  dbStallMs: number;
  /** READ_CACHE: hot reads (sessions, polled tasks, histories) served from memory, kept exact by NOTIFY (default on) */
  readCache: boolean;
  /** LOG_FORMAT, LOG_LEVEL and METRICS_TOKEN (src/ops/observability-config.ts) */
  observability: ObservabilitySettings;
  /** which provider runs each task type (GENERATION_ROUTES; default local for all) */
  generationRoutes: Record<TaskType, string>;
  /** the settings of every provider a route names, read and checked at start-up */
  providerSettings: Record<string, unknown>;
  /** largest output a provider may return (bytes), and the longest its download may take (ms) */
  providerMaxOutputBytes: number;
  providerDownloadTimeoutMs: number;
  /** the runners' safety-net poll for queued work (ms); LISTEN/NOTIFY wakes them at once otherwise */
  taskPollMs: number;
  /** STORAGE and, for `s3`, the bucket and its credentials */
  storage: StorageConfig;
  /** days after which files of deleted records and unused uploads are removed (0 = never), and how often to look */
  retentionDays: number;
  retentionIntervalMs: number;
  /** AI-content labels of every output (GB 45438-2025; issue 13) */
  labels: LabelConfig;
  /** content review of prompts, references and outputs (MODERATION and its variables) */
  moderation: ModerationSettings;
}

/** AIGC_LABEL: `full` = metadata label and the visible "AI生成" mark; `metadata` = the metadata label only; `off`. */
export const LABEL_MODES = ['full', 'metadata', 'off'] as const;
export type LabelMode = (typeof LABEL_MODES)[number];

export interface LabelConfig {
  mode: LabelMode;
  /** ContentProducer (AIGC_PRODUCER_CODE) and ContentPropagator (AIGC_PROPAGATOR_CODE, '' when not set) */
  producer: string;
  propagator: string;
  /** signs new labels (AIGC_LABEL_KEY, else derived from JWT_SECRET) */
  key: Uint8Array;
  /** verifies labels: the current key and the retired ones (AIGC_LABEL_OLD_KEYS) */
  verifyKeys: Uint8Array[];
  /** ffmpeg, for the visible mark and sampled frames of videos that come from remote providers (FFMPEG_PATH or PATH) */
  ffmpegPath: string | null;
}

const LABEL_CODE = /^[A-Za-z0-9._:-]{1,64}$/;

function loadLabels(env: Env, jwtSecret: string, routes: Record<TaskType, string>, role: Role, moderation: ModerationSettings): LabelConfig {
  const raw = (name: string) => (env[name] === undefined || env[name]!.trim() === '' ? undefined : env[name]!.trim());
  const mode = raw('AIGC_LABEL') === undefined ? 'full' : parseEnum('AIGC_LABEL', raw('AIGC_LABEL')!, LABEL_MODES);
  const code = (name: string, fallback: string) => {
    const v = raw(name) ?? fallback;
    if (v && !LABEL_CODE.test(v)) throw new ConfigError(`${name}=${v} must be 1-64 ASCII letters, digits or . _ : -`);
    return v;
  };
  const secretKey = (name: string, v: string) => {
    if (v.length < 32) throw new ConfigError(`${name} must be at least 32 characters`);
    return new Uint8Array(Buffer.from(v));
  };
  // derived from the token secret, which every instance on one database shares already
  const key = raw('AIGC_LABEL_KEY') ? secretKey('AIGC_LABEL_KEY', raw('AIGC_LABEL_KEY')!) : new Uint8Array(createHmac('sha256', jwtSecret).update('aigc-label-key').digest());
  const old = (raw('AIGC_LABEL_OLD_KEYS') ?? '').split(',').map((k) => k.trim()).filter(Boolean).map((k) => secretKey('AIGC_LABEL_OLD_KEYS', k));
  let ffmpegPath: string | null = null;
  const given = raw('FFMPEG_PATH');
  if (given) {
    if (!existsSync(given)) throw new ConfigError(`FFMPEG_PATH=${given} does not exist`);
    ffmpegPath = given;
  } else ffmpegPath = Bun.which('ffmpeg');
  // a remote provider's video cannot be decoded in-process: drawing the mark on it, or showing its frames to an
  // image-only review service, takes ffmpeg
  const remoteVideo = role !== 'api' && (routes.t2v !== 'local' || routes.i2v !== 'local');
  if (remoteVideo && !ffmpegPath && (mode === 'full' || moderation.mode === 'openai')) {
    const why = mode === 'full' ? 'AIGC_LABEL=full draws the visible mark on videos from remote providers' : 'MODERATION=openai reviews frames of videos from remote providers';
    throw new ConfigError(`FFMPEG_PATH: ffmpeg not found, and ${why} with it (install ffmpeg, set FFMPEG_PATH, or route t2v/i2v to local)`);
  }
  return { mode, producer: code('AIGC_PRODUCER_CODE', 'aigc-server'), propagator: code('AIGC_PROPAGATOR_CODE', ''), key, verifyKeys: [key, ...old], ffmpegPath };
}

/** `t2i=openai,i2i=comfyui,...`: every type not named stays `local`. */
export function parseRoutes(name: string, raw: string, known: readonly string[]): Record<TaskType, string> {
  const routes = Object.fromEntries(TASK_TYPES.map((t) => [t, 'local'])) as Record<TaskType, string>;
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z0-9]+)\s*=\s*([a-z0-9_-]+)$/i.exec(part);
    if (!m || !isTaskType(m[1].toLowerCase())) {
      throw new ConfigError(`${name}: "${part}" is not <type>=<provider> with a type of ${TASK_TYPES.join(', ')}`);
    }
    const provider = m[2].toLowerCase();
    if (!known.includes(provider)) throw new ConfigError(`${name}: unknown provider "${provider}" (known: ${known.join(', ')})`);
    routes[m[1].toLowerCase() as TaskType] = provider;
  }
  return routes;
}

export { ConfigError };

type Env = Record<string, string | undefined>;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export function parseDuration(name: string, raw: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  const n = m ? Number(m[1]) * UNITS[m[2] || 's'] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${name}=${raw} is not a duration (examples: 3600, 90m, 12h, 7d)`);
  }
  return n;
}

export function parseSize(name: string, raw: string): number {
  const m = /^(\d+)\s*([kmg]?b?)$/i.exec(raw.trim());
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${name}=${raw} is not a size (examples: 1048576, 512kb, 20mb)`);
  }
  return n;
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${raw} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`${name}=${raw} must be true or false`);
}

function parseEnum<T extends string>(name: string, raw: string, values: readonly T[]): T {
  const v = raw.trim().toLowerCase() as T;
  if (values.includes(v)) return v;
  throw new ConfigError(`${name}=${raw} must be one of ${values.join(', ')}`);
}

function parseUrl(name: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => p + '//').join(' or ')}`);
  }
  return raw;
}

/**
 * The signing secret: from the environment, else generated once and kept (0600) in the data dir. Instances that
 * share a database as `api`/`worker` must all have the same secret, so none of them may generate its own.
 */
function loadJwtSecret(env: Env, dataDir: string, role: Role, shared: boolean): string {
  const given = env.JWT_SECRET;
  if (given !== undefined) {
    if (given.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters');
    return given;
  }
  if (shared && role !== 'all') {
    throw new ConfigError(
      `JWT_SECRET must be set when ROLE=${role} and DATABASE_URL is set: every instance on the database must verify the same tokens, and a generated secret is one instance's own`,
    );
  }
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length < 32) throw new ConfigError(`${file} holds a secret shorter than 32 characters`);
    return kept;
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/**
 * STORAGE=disk|s3; for s3 Bun's standard variables S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID,
 * S3_SECRET_ACCESS_KEY, S3_SESSION_TOKEN, each falling back to its AWS_* name.
 */
function loadStorage(env: Env): StorageConfig {
  const raw = env.STORAGE;
  const kind = raw === undefined || raw.trim() === '' ? 'disk' : parseEnum('STORAGE', raw, ['disk', 's3'] as const);
  if (kind === 'disk') return { kind };
  const pick = (name: string, fallback: string) => {
    for (const n of [name, fallback]) {
      const v = env[n]?.trim();
      if (v) return { name: n, value: v };
    }
    return undefined;
  };
  const need = (name: string, fallback: string) => {
    const found = pick(name, fallback);
    if (!found) throw new ConfigError(`STORAGE=s3 needs ${name} (or ${fallback})`);
    return found;
  };
  const bucket = need('S3_BUCKET', 'AWS_BUCKET');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/.test(bucket.value)) {
    throw new ConfigError(`${bucket.name}=${bucket.value} is not a bucket name (3-255 letters, digits, '.', '-', '_')`);
  }
  const endpoint = pick('S3_ENDPOINT', 'AWS_ENDPOINT');
  const region = pick('S3_REGION', 'AWS_REGION');
  if (region && !/^[A-Za-z0-9-]{1,64}$/.test(region.value)) throw new ConfigError(`${region.name}=${region.value} is not a region name`);
  const sessionToken = pick('S3_SESSION_TOKEN', 'AWS_SESSION_TOKEN');
  const flag = (name: string) => (env[name] === undefined || env[name]!.trim() === '' ? false : parseBool(name, env[name]!));
  const config: StorageConfig = {
    kind,
    bucket: bucket.value,
    accessKeyId: need('S3_ACCESS_KEY_ID', 'AWS_ACCESS_KEY_ID').value,
    secretAccessKey: need('S3_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY').value,
    virtualHostedStyle: flag('S3_VIRTUAL_HOSTED_STYLE'),
    redirect: flag('S3_REDIRECT'),
  };
  if (endpoint) config.endpoint = parseUrl(endpoint.name, endpoint.value, ['http:', 'https:']);
  if (region) config.region = region.value;
  if (sessionToken) config.sessionToken = sessionToken.value;
  return config;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(env.DATA_DIR?.trim() || './data');
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    throw new ConfigError(`DATA_DIR=${dataDir} cannot be created: ${(e as Error).message}`);
  }
  const opt = <T>(name: string, parse: (name: string, raw: string) => T, fallback: T): T => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? fallback : parse(name, raw);
  };
  const role = opt('ROLE', (n, r) => parseEnum(n, r, ROLES), 'all');
  const databaseUrl = opt('DATABASE_URL', (n, r) => parseUrl(n, r.trim(), ['postgres:', 'postgresql:']), null);
  if (role !== 'all' && databaseUrl === null) {
    throw new ConfigError(`ROLE=${role} needs DATABASE_URL: the embedded database serves one process, so no other instance could share it`);
  }
  const routes = opt('GENERATION_ROUTES', (n, r) => parseRoutes(n, r, Object.keys(PROVIDERS)), parseRoutes('GENERATION_ROUTES', '', ['local']));
  const jwtSecret = loadJwtSecret(env, dataDir, role, databaseUrl !== null);
  const moderation = readModerationSettings(env);
  return {
    role,
    port: opt('PORT', (n, r) => parseInteger(n, r, 0, 65535), 3000),
    host: opt('HOST', (_n, r) => r.trim(), '0.0.0.0'),
    dataDir,
    databaseUrl,
    pgliteSeedFile: opt('PGLITE_SEED', (_n, r) => r.trim(), null),
    jwtSecret,
    jwtTtl: opt('JWT_TTL', parseDuration, 7 * 86400),
    smtpUrl: opt('SMTP_URL', (n, r) => parseUrl(n, r.trim(), ['smtp:', 'smtps:']), null),
    mailFrom: opt('MAIL_FROM', (_n, r) => r.trim(), 'AIGC <no-reply@localhost>'),
    bodyLimit: opt('BODY_LIMIT', parseSize, 1024 * 1024),
    uploadMaxBytes: opt('UPLOAD_MAX_BYTES', parseSize, 20 * 1024 * 1024),
    labelVerifyMaxBytes: opt('LABEL_VERIFY_MAX_BYTES', parseSize, 64 * 1024 * 1024),
    uploadMaxPixels: opt('UPLOAD_MAX_PIXELS', (n, r) => parseInteger(n, r, 1, 1_000_000_000), 40_000_000),
    workers: opt('WORKERS', (n, r) => parseInteger(n, r, 1, 256), Math.max(1, availableParallelism())),
    workerPriority: opt('WORKER_PRIORITY', (n, r) => parseEnum(n, r, WORKER_PRIORITIES), 'idle'),
    taskLeaseMs: opt('TASK_LEASE', parseDuration, 60) * 1000,
    taskMaxAttempts: opt('TASK_MAX_ATTEMPTS', (n, r) => parseInteger(n, r, 1, 100), 3),
    taskTimeoutMs: opt('TASK_TIMEOUT', parseDuration, 300) * 1000,
    batchMax: opt('FAVORITES_BATCH_MAX', (n, r) => parseInteger(n, r, 1, 100_000), 1000),
    fairUse: readFairUseSettings(env),
    forgotPerIpPerMinute: opt('FORGOT_PER_IP_PER_MINUTE', (n, r) => parseInteger(n, r, 1, 100_000), 10),
    trustProxy: opt('TRUST_PROXY', parseBool, false),
    browsers: readBrowserSettings(env, parseDuration),
    loginThrottle: {
      accountMax: opt('LOGIN_MAX_FAILURES', (n, r) => parseInteger(n, r, 1, 1_000_000), 5),
      ipMax: opt('LOGIN_IP_MAX_FAILURES', (n, r) => parseInteger(n, r, 1, 1_000_000), 50),
      windowMs: opt('LOGIN_WINDOW', parseDuration, 15 * 60) * 1000,
      lockMs: opt('LOGIN_LOCK', parseDuration, 30) * 1000,
    },
    passwordCost: {
      memoryKib: opt('PASSWORD_HASH_MEMORY', (n, r) => parseInteger(n, r, 1024, 4_194_304), 65_536),
      time: opt('PASSWORD_HASH_TIME', (n, r) => parseInteger(n, r, 1, 20), 2),
    },
    housekeepingMs: opt('HOUSEKEEPING_INTERVAL', parseDuration, 10 * 60) * 1000,
    watchdogMs: opt('WATCHDOG_TIMEOUT', (n, r) => parseInteger(n, r, 0, 86_400), 30) * 1000,
    dbStallMs: opt('DB_STALL_TIMEOUT', parseDuration, 15) * 1000,
    readCache: opt('READ_CACHE', parseBool, true),
    observability: readObservabilitySettings(env),
    generationRoutes: routes,
    providerSettings: Object.fromEntries([...new Set(Object.values(routes))].map((p) => [p, PROVIDERS[p].settings(env)])),
    providerMaxOutputBytes: opt('PROVIDER_MAX_OUTPUT', parseSize, 512 * 1024 * 1024),
    providerDownloadTimeoutMs: opt('PROVIDER_DOWNLOAD_TIMEOUT', parseDuration, 120) * 1000,
    taskPollMs: opt('TASK_POLL', parseDuration, 5) * 1000,
    storage: loadStorage(env),
    retentionDays: opt('RETENTION_DAYS', (n, r) => parseInteger(n, r, 0, 36_500), 30),
    retentionIntervalMs: opt('RETENTION_INTERVAL', parseDuration, 3600) * 1000,
    labels: loadLabels(env, jwtSecret, routes, role, moderation),
    moderation,
  };
}
