// Settings for browser clients (issue 14): CORS_ORIGINS / CORS_CREDENTIALS and SIGNED_URL_TTL, read once at start-up.
import { ConfigError } from '../config-error';

export interface BrowserSettings {
  /** CORS_ORIGINS: null = no CORS headers at all (default); '*' = any origin; else the exact origins allowed */
  corsOrigins: '*' | string[] | null;
  /** CORS_CREDENTIALS: answer `Access-Control-Allow-Credentials: true` to listed origins (never with `*`) */
  corsCredentials: boolean;
  /** SIGNED_URL_TTL in seconds: the least time a `signed_url` stays valid (default 1 h) */
  signedUrlTtl: number;
}

type Env = Record<string, string | undefined>;

/** `https://app.example.com` (scheme, host, optional port; nothing else) as the browser sends it in `Origin`. */
export function parseOrigin(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not an origin (example: https://app.example.com)`);
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  if (!['http:', 'https:'].includes(url.protocol) || !bare || raw.includes('*')) {
    throw new ConfigError(`${name}: "${raw}" is not an origin: scheme http/https, host and optional port only, no path, query or wildcard (example: https://app.example.com)`);
  }
  return url.origin; // lower-cased host, default port dropped: the form browsers send
}

/** CORS_ORIGINS: empty = off; `*`; or a comma-separated list of exact origins. `*` mixed with origins is refused. */
export function parseCorsOrigins(name: string, raw: string): '*' | string[] | null {
  const parts = raw.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return null;
  if (parts.includes('*')) {
    if (parts.length > 1) throw new ConfigError(`${name}: "*" allows every origin and cannot be combined with a list of origins`);
    return '*';
  }
  return [...new Set(parts.map((p) => parseOrigin(name, p)))];
}

/**
 * Reads the browser settings. `parseDuration` is config.ts's (passed in, so that this file does not import config.ts,
 * which imports it).
 */
export function readBrowserSettings(env: Env, parseDuration: (name: string, raw: string) => number): BrowserSettings {
  const raw = (name: string) => (env[name] === undefined || env[name]!.trim() === '' ? undefined : env[name]!.trim());
  const corsOrigins = raw('CORS_ORIGINS') === undefined ? null : parseCorsOrigins('CORS_ORIGINS', raw('CORS_ORIGINS')!);
  const cred = raw('CORS_CREDENTIALS')?.toLowerCase();
  if (cred !== undefined && !['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'].includes(cred)) {
    throw new ConfigError(`CORS_CREDENTIALS=${env.CORS_CREDENTIALS} must be true or false`);
  }
  const corsCredentials = cred !== undefined && ['1', 'true', 'yes', 'on'].includes(cred);
  // browsers refuse `Access-Control-Allow-Origin: *` on a credentialed request: say so now rather than fail in them
  if (corsCredentials && corsOrigins === '*') {
    throw new ConfigError('CORS_CREDENTIALS=true cannot be used with CORS_ORIGINS=* (browsers refuse it): list the origins');
  }
  const ttl = raw('SIGNED_URL_TTL');
  const signedUrlTtl = ttl === undefined ? 3600 : parseDuration('SIGNED_URL_TTL', ttl);
  return { corsOrigins, corsCredentials, signedUrlTtl };
}
