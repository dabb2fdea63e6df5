// The process's logger (issue 14): pino underneath, one JSON object per line (LOG_FORMAT=json) or a readable line
// (LOG_FORMAT=pretty), filtered by LOG_LEVEL. The rest of the code sees only the small Logger interface below, so
// tests pass silentLogger or a recording one. Two things are added to every line here, whoever writes it:
// - the request it is about (`reqId`, and `userId` once known), from the request context that src/http/access-log.ts
//   opens around each request (AsyncLocalStorage, so no caller has to pass it along);
// - redaction: configured secrets by value, and anything that looks like a credential by pattern (bearer tokens,
//   JWTs, `sk-…` provider keys, passwords in URLs or `password=…`), in messages, error stacks and fields alike.
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import pino from 'pino';
import type { LogFormat, LogLevel } from './ops/observability-config';

/** Structured fields of one line (JSON keys; `key=value` in the pretty format). */
export type LogFields = Record<string, unknown>;

/** Minimal line logger; tests pass a silent or a recording one. */
export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, err?: unknown): void;
  /** detail written only at LOG_LEVEL=debug or trace; loggers for tests may leave it out */
  debug?(msg: string, fields?: LogFields): void;
  /**
   * The access line of a request (src/http/access-log.ts), at info, or at debug when `quiet`. Loggers made by
   * createLogger write it without pino's generic path (object merge, deep scrub, serialisation): that path cost
   * half the CPU of a poll (issue 15). Others get the same fields through info/debug.
   */
  access?(line: AccessLine, quiet: boolean): void;
}

/** The fields of an access line, in the order they are written. */
export interface AccessLine {
  method: string;
  /** the route's pattern (code, never the raw path) or `unmatched` */
  route: string;
  status: number;
  durationMs: number;
  userId?: number;
  /** the client's X-Request-Id (a sane token) or a generated UUID */
  reqId: string;
}

/** What every line written while a request is handled says about it. */
export interface LogContext {
  readonly reqId: string;
  /** the authenticated user, once the route has resolved it */
  readonly userId?: number;
  /** the response has been handed over: lines written later (timers, streams, work the request woke) are not its own */
  readonly ended?: boolean;
}

const contexts = new AsyncLocalStorage<LogContext>();

/** Runs `fn` (and everything it starts) inside `ctx`: its log lines carry the request's id. */
export const runWithLogContext = <T>(ctx: LogContext, fn: () => T): T => contexts.run(ctx, fn);

/** The context of the request being handled, if any. */
export function currentLogContext(): LogContext | undefined {
  const c = contexts.getStore();
  return c && !c.ended ? c : undefined;
}

const REDACTED = '[redacted]';

/** Credentials recognised by their shape, wherever they appear in a line. */
const PATTERNS: [RegExp, string][] = [
  // Authorization header values: `Bearer <token>`, `Basic <b64>`, fal's `Key <id>:<secret>`
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/:=-]{8,}/gi, `$1 ${REDACTED}`],
  [/\bKey\s+[A-Za-z0-9_-]{6,}:[A-Za-z0-9_-]{6,}/g, `Key ${REDACTED}`],
  // JWTs (header.payload.signature, base64url, the header always starts with `{"` = eyJ)
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // provider API keys: OpenAI / DashScope / Anthropic style `sk-…`, Replicate `r8_…`
  [/\bsk-[A-Za-z0-9_-]{8,}/g, `sk-${REDACTED}`],
  [/\br8_[A-Za-z0-9]{16,}/g, `r8_${REDACTED}`],
  // the password of a URL: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*:)[^\s@/"']+@/gi, `$1${REDACTED}@`],
  // `password=…`, `token: …`, `"secret":"…"` and the like in free text
  [
    /\b((?:new_|old_)?password|passwd|secret|secret_?key|access_?key|api_?key|(?:access_|refresh_|reset_)?token|reset_?code|verification_?code)(\\?["']?\s*[=:]\s*\\?["']?)[^\s"'\\&,;}]+/gi,
    `$1$2${REDACTED}`,
  ],
];

/**
 * True when one of PATTERNS could match: every pattern needs one of these words, so a line without any is left alone
 * after one scan instead of seven replaces (most lines, e.g. every access line, hold none; issue 15).
 */
const MAYBE_CREDENTIAL = /bearer|basic|key|eyJ|sk-|r8_|:\/\/|passw|secret|token|code/i;

/** Secret values shorter than this are not searched for by value (too many false matches). */
const MIN_SECRET = 8;

/** `text` with every known secret value and every credential-looking string replaced by `[redacted]`. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= MIN_SECRET && out.includes(s)) out = out.split(s).join(REDACTED);
  if (!MAYBE_CREDENTIAL.test(out)) return out;
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

/**
 * A copy of a log object with every string scrubbed and the value of every field named like a secret (SECRET_KEYS,
 * at any depth) replaced (Errors are left to the `err` serializer). One walk does both: pino's own `redact` with
 * wildcard paths cost about 13 µs a line, ten times the rest of a line (issue 15).
 */
function scrubDeep(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (value === null || typeof value !== 'object' || value instanceof Error || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    out[k] = SECRET_KEY_SET.has(k) ? REDACTED : scrubDeep((value as Record<string, unknown>)[k], secrets, depth + 1);
  }
  return out;
}

/** Field names whose values are never written, at any depth (scrubDeep). */
const SECRET_KEYS = [
  'password', 'new_password', 'old_password', 'newPassword', 'oldPassword', 'token', 'authorization', 'cookie',
  'apiKey', 'api_key', 'secret', 'secretKey', 'secretAccessKey', 'accessKey', 'resetCode', 'reset_code',
];
const SECRET_KEY_SET = new Set(SECRET_KEYS);

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** values never to be written (JWT_SECRET, provider keys…): see secretsOf in src/ops/observability.ts */
  secrets?: readonly string[];
  /** where lines go (each ends with a newline); default stdout, batched (batchedStdout) */
  write?: (line: string) => void;
}

const LEVEL_WIDTH = 5;

/** One JSON line of pino as a readable line: `time LEVEL message key=value …`, then an error's stack indented. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json;
  }
  const { time, level, msg, err, pid: _pid, hostname: _host, ...rest } = o;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  let line = `${time} ${String(level).toUpperCase().padEnd(LEVEL_WIDTH)} ${msg ?? ''}${fields ? `  ${fields}` : ''}`;
  if (err && typeof err === 'object') {
    const e = err as { stack?: string; message?: string };
    const detail = e.stack ?? e.message ?? JSON.stringify(err);
    line += '\n' + detail.split('\n').map((l) => `    ${l}`).join('\n');
  }
  return line + '\n';
}

/** how long a line may wait in the buffer before it is written (ms) */
const LOG_FLUSH_MS = 20;

/**
 * Lines to stdout, written together: at most LOG_FLUSH_MS after the first buffered one, or at once past 64 KB. Under
 * load that is one write(2) per 64 KB instead of one per line or per event-loop turn (a write per turn cost about 2 µs
 * of a poll's 20–24 µs of CPU, issue 15). Whatever is still buffered is written when the process exits, so only a
 * SIGKILL can lose lines, those of the last LOG_FLUSH_MS.
 */
function batchedStdout(): (line: string) => void {
  const out = pino.destination({ dest: 1, sync: true }); // handles partial writes and EAGAIN on a non-blocking pipe
  let lines: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    size = 0;
    out.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    lines.push(line);
    size += line.length;
    if (size >= 65_536) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, LOG_FLUSH_MS);
      timer.unref?.();
    }
  };
}

/** A Logger writing through pino: JSON or pretty lines, with the request context and redaction described above. */
export function createLogger(o: LoggerOptions): Logger {
  const secrets = [...new Set(o.secrets ?? [])].filter((s) => s.length >= MIN_SECRET).sort((a, b) => b.length - a.length);
  let write = o.write;
  write ??= batchedStdout();
  const sink = write;
  const p = pino(
    {
      level: o.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => scrubDeep(obj, secrets) as Record<string, unknown>,
      },
      mixin() {
        const c = currentLogContext();
        if (!c) return {};
        return c.userId === undefined ? { reqId: c.reqId } : { reqId: c.reqId, userId: c.userId };
      },
      serializers: { err: (e: Error) => scrubDeep(pino.stdSerializers.err(e), secrets) },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? scrubSecrets(a, secrets) : a));
          return method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    { write: o.format === 'pretty' ? (line: string) => sink(prettyLine(line)) : sink },
  );
  const access = accessWriter(p, o.format, secrets, sink);
  const errFields = (err: unknown) =>
    err instanceof Error ? { err } : { err: { message: typeof err === 'string' ? err : safeJson(err) } };
  return {
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, err) => (err === undefined ? p.error(msg) : p.error(errFields(err), msg)),
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    access,
  };
}

/**
 * Writes access lines as pino writes its lines (the same JSON keys and values; the pretty line is made from it by
 * prettyLine, as for every other line), built directly. Only the request id can come from a client, so only it is
 * scrubbed; the method is one of a fixed set, the route a pattern of the code, the rest numbers. The ISO time is
 * made once per millisecond.
 */
function accessWriter(p: pino.Logger, format: LogFormat, secrets: readonly string[], sink: (line: string) => void) {
  const head = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  let lastMs = -1;
  let lastIso = '';
  const iso = () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
  // LOG_LEVEL is read once at start-up: pino's answer does not change
  const enabled = { debug: p.isLevelEnabled('debug'), info: p.isLevelEnabled('info') };
  return (a: AccessLine, quiet: boolean) => {
    const level = quiet ? 'debug' : 'info';
    if (!enabled[level]) return;
    const msg = `${a.method} ${a.route} ${a.status} ${a.durationMs} ms`;
    const line =
      `{"level":"${level}","time":"${iso()}"${head},"reqId":${JSON.stringify(scrubSecrets(a.reqId, secrets))}` +
      `${a.userId === undefined ? '' : `,"userId":${a.userId}`},"method":"${a.method}","route":${JSON.stringify(a.route)}` +
      `,"status":${a.status},"durationMs":${a.durationMs},"msg":${JSON.stringify(msg)}}\n`;
    sink(format === 'pretty' ? prettyLine(line) : line);
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

let consoleImpl: Logger | undefined;
const con = () => (consoleImpl ??= createLogger({ format: 'pretty', level: 'info' }));

/** Readable lines on stdout at level info: for scripts and for code that runs before the configuration is read. */
export const consoleLogger: Logger = {
  info: (msg, fields) => con().info(msg, fields),
  warn: (msg, fields) => con().warn(msg, fields),
  error: (msg, err) => con().error(msg, err),
  debug: (msg, fields) => con().debug?.(msg, fields),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
