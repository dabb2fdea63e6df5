// The messages between the HTTP thread (src/db/pglite-remote.ts) and the embedded database's thread
// (src/db/pglite-worker.ts). Every request carries an id; the reply with that id is `ok` or `error`. `notify` is a
// NOTIFY the database raised, posted before the result of the statement that raised it.

/** named prepared statements the database's thread keeps at most (src/db/pglite-worker.ts), least recently used closed first */
export const PGLITE_MAX_STATEMENTS = 500;
/** statement texts longer than this (characters) are not prepared: a batch of many rows is seldom repeated and large */
export const PGLITE_MAX_PREPARED_TEXT = 8192;

/** postgresql.conf lines for the embedded database (idle RSS about 120 MB lower than the defaults). */
export const PGLITE_CONF = ['shared_buffers = 16MB', 'wal_buffers = 1MB', 'work_mem = 4MB', 'maintenance_work_mem = 16MB'];

/**
 * Where a fresh data dir's pre-initialised seed (a gzipped tar of a data dir, PGlite's dumpDataDir) comes from: the
 * one embedded in the compiled binary when `embedded` and there is one, else `file` when it exists, else none (initdb
 * runs). Only this description crosses to the database's thread, which makes the Blob itself: a Blob of a file
 * embedded in the binary counts that file's whole size against the heap of the thread that holds it, and
 * `Bun.embeddedFiles` makes one for every embedded file (about 20 MB: PGlite's wasm and data files, the seed). Held by
 * the HTTP thread, that memory left its heap at 30 MB instead of 9 MB after a full collection and the poll's p99 about
 * 0.5 ms above PostgreSQL's (measured, README's Benchmarks; the runtime's mechanism behind it is not known).
 */
export interface SeedSource {
  embedded?: boolean;
  file?: string | null;
}

export interface QueryRequest {
  t: 'query';
  id: number;
  /** the open transaction it belongs to; absent: a statement of its own */
  tx?: number;
  text: string;
  params: unknown[];
  rowMode?: 'array' | 'object';
  /** type OIDs whose values come back as PostgreSQL's text: the caller's parsers read them */
  raw: number[];
}

export type PgliteRequest =
  /** dataDir absent: in memory. seed: where a data dir's tarball is, loaded when dataDir holds no database yet */
  | { t: 'open'; id: number; dataDir?: string; seed?: SeedSource | null }
  | QueryRequest
  /** opens a transaction; its id is this request's id */
  | { t: 'begin'; id: number }
  /** COMMIT (or ROLLBACK) the transaction `tx`; answered once it is done */
  | { t: 'end'; id: number; tx: number; commit: boolean }
  | { t: 'listen'; id: number; channel: string }
  | { t: 'unlisten'; id: number; listener: number }
  /** CHECKPOINT, then the data dir as an uncompressed tar (an ArrayBuffer), taken between transactions */
  | { t: 'dump'; id: number }
  | { t: 'close'; id: number };

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** the error's own fields with plain values: PostgreSQL's code, detail, constraint…, a file system errno */
  fields: Record<string, string | number | boolean | null>;
  cause?: WireError;
}

export type PgliteReply =
  | { t: 'ok'; id: number; result?: unknown }
  | { t: 'error'; id: number; error: WireError }
  /** a NOTIFY on the channel of the `listen` request `listener` */
  | { t: 'notify'; listener: number; payload: string };

/** An error as plain data: what structured cloning would drop (own fields, the cause) is kept. */
export function serializeError(e: unknown, depth = 0): WireError {
  if (!(e instanceof Error) && (typeof e !== 'object' || e === null)) return { name: 'Error', message: String(e), fields: {} };
  const source = e as Error & Record<string, unknown>;
  const fields: WireError['fields'] = {};
  for (const key of Object.keys(source)) {
    const v = source[key];
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[key] = v as string | number | boolean | null;
  }
  const cause = source.cause;
  return {
    name: typeof source.name === 'string' ? source.name : 'Error',
    message: typeof source.message === 'string' ? source.message : String(e),
    stack: typeof source.stack === 'string' ? source.stack : undefined,
    fields,
    ...(cause !== undefined && cause !== e && depth < 4 ? { cause: serializeError(cause, depth + 1) } : {}),
  };
}

/** The error again, on the receiving thread: an Error with the same name, message and fields. */
export function deserializeError(w: WireError): Error {
  const e = new Error(w.message, w.cause ? { cause: deserializeError(w.cause) } : undefined) as Error & Record<string, unknown>;
  Object.defineProperty(e, 'name', { value: w.name, configurable: true, writable: true });
  Object.assign(e, w.fields);
  if (w.stack) e.stack = w.stack;
  return e;
}
