// The observability settings (issue 14): LOG_FORMAT, LOG_LEVEL and METRICS_TOKEN, read and checked once at start-up
// like every other setting (src/config.ts calls readObservabilitySettings).
import type { Config } from '../config';
import { ConfigError } from '../config-error';
import { createLogger, type Logger } from '../logger';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Shortest METRICS_TOKEN accepted: the token is the only protection of /metrics. */
export const METRICS_TOKEN_MIN = 16;

export interface ObservabilitySettings {
  /** LOG_FORMAT: one JSON object per line, or readable lines; default pretty on a terminal, json otherwise */
  logFormat: LogFormat;
  /** LOG_LEVEL: the least severe level written (default info) */
  logLevel: LogLevel;
  /** METRICS_TOKEN: /metrics answers (with `Authorization: Bearer <token>`) only when set */
  metricsToken: string | null;
}

type Env = Record<string, string | undefined>;

function pick<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name}=${env[name]} must be one of ${values.join(', ')}`);
}

/** Reads LOG_FORMAT, LOG_LEVEL and METRICS_TOKEN; `isTty` decides LOG_FORMAT's default (stdout is a terminal). */
export function readObservabilitySettings(env: Env, isTty = process.stdout.isTTY === true): ObservabilitySettings {
  const token = env.METRICS_TOKEN?.trim() || null;
  if (token !== null && token.length < METRICS_TOKEN_MIN) {
    throw new ConfigError(`METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN} characters`);
  }
  if (token !== null && !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('METRICS_TOKEN must be printable ASCII without spaces (it is sent in an Authorization header)');
  }
  return {
    logFormat: pick(env, 'LOG_FORMAT', LOG_FORMATS, isTty ? 'pretty' : 'json'),
    logLevel: pick(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    metricsToken: token,
  };
}

/** Setting names whose values are credentials. */
const SECRET_NAME = /(api|access|secret)_?key|secret|token|password/i;

/** Every string under `value` kept under a credential-like name (provider settings, moderation settings). */
function secretStrings(value: unknown, out: string[], depth = 0, named = false): void {
  if (depth > 4 || value === null || value === undefined) return;
  if (typeof value === 'string') {
    if (named) out.push(value);
    return;
  }
  if (typeof value !== 'object' || value instanceof Uint8Array) return;
  for (const [k, v] of Object.entries(value)) secretStrings(v, out, depth + 1, named || SECRET_NAME.test(k));
}

/** The password of a URL setting (SMTP_URL, DATABASE_URL), if any. */
function urlPassword(url: string | null): string | null {
  if (!url) return null;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : null;
  } catch {
    return null;
  }
}

/** Values of the configuration that must never appear in a log line: the logger replaces them wherever they appear. */
export function secretsOf(config: Config): string[] {
  const out: string[] = [config.jwtSecret];
  if (config.observability.metricsToken) out.push(config.observability.metricsToken);
  if (config.storage.kind === 's3') {
    out.push(config.storage.secretAccessKey);
    if (config.storage.sessionToken) out.push(config.storage.sessionToken);
  }
  for (const url of [config.smtpUrl, config.databaseUrl]) {
    const p = urlPassword(url);
    if (p) out.push(p);
  }
  secretStrings(config.providerSettings, out);
  secretStrings(config.moderation, out);
  return [...new Set(out.filter((s) => s.length >= 8))];
}

/** The process's logger as configured (LOG_FORMAT, LOG_LEVEL), with the configuration's secrets redacted. */
export function loggerFor(config: Config): Logger {
  return createLogger({ format: config.observability.logFormat, level: config.observability.logLevel, secrets: secretsOf(config) });
}
