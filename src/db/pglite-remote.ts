// The HTTP thread's handle on the embedded database, which runs on a thread of its own (src/db/pglite-worker.ts; why:
// see there). It offers the part of PGlite's client that drizzle's PGlite driver and src/db/client.ts use — query,
// transaction, listen — and sends each call to that thread as a message (src/db/pglite-protocol.ts).
import type { Results, Row } from '@electric-sql/pglite';
import { deserializeError, type PgliteReply, type PgliteRequest, type SeedSource } from './pglite-protocol';
import { workerEntry } from '../worker-entry';

type Parser = (value: string, typeId: number) => unknown;
export interface RemoteQueryOptions {
  rowMode?: 'array' | 'object';
  /** applied here, to the text the database thread sends for these types */
  parsers?: Record<number, Parser>;
}

/** What drizzle's transaction callback receives (PGlite's Transaction, the part drizzle uses: its rollback() only throws). */
export interface RemoteTransaction {
  query<T = Row>(text: string, params?: unknown[], options?: RemoteQueryOptions): Promise<Results<T>>;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Request = PgliteRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class PgliteRemote {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  /** LISTEN callbacks by the id of the request that set them up */
  private listeners = new Map<number, (payload: string) => void>();
  /** set once the thread has ended (closed, or died): every call then fails with it */
  private ended: Error | null = null;

  private constructor() {
    this.worker = new Worker(workerEntry('src/db/pglite-worker.ts'), { name: 'aigc-pglite' });
    this.worker.onmessage = (event: MessageEvent<PgliteReply>) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.end(new Error(`the embedded database's thread failed: ${event.message ?? 'error'}`));
    };
    this.worker.addEventListener('close', () => this.end(new Error("the embedded database's thread has ended")));
  }

  /** Starts the thread and opens the database there (a seed is unpacked into an empty dataDir first). */
  static async open(target: { dataDir?: string; seed?: SeedSource | null }): Promise<PgliteRemote> {
    const remote = new PgliteRemote();
    try {
      await remote.call({ t: 'open', dataDir: target.dataDir, seed: target.seed ?? null });
    } catch (e) {
      remote.worker.terminate();
      throw e;
    }
    return remote;
  }

  private receive(m: PgliteReply) {
    if (m.t === 'notify') {
      this.listeners.get(m.listener)?.(m.payload);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.t === 'ok') p.resolve(m.result);
    else p.reject(deserializeError(m.error));
  }

  private end(why: Error) {
    if (this.ended) return;
    this.ended = why;
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }

  private call<T>(request: Request, id = this.nextId++): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private async run<T>(tx: number | undefined, text: string, params: unknown[] = [], options: RemoteQueryOptions = {}): Promise<Results<T>> {
    const parsers = options.parsers ?? {};
    const raw = Object.keys(parsers).map(Number);
    const result = await this.call<Results<T>>({ t: 'query', tx, text, params, rowMode: options.rowMode, raw });
    if (raw.length && result.rows.length) {
      // the thread left these types as text: the caller's parsers read them here
      const cols = result.fields.flatMap((f, i) =>
        f.dataTypeID in parsers ? [{ key: options.rowMode === 'array' ? i : f.name, parse: parsers[f.dataTypeID], oid: f.dataTypeID }] : [],
      );
      for (const row of result.rows as Record<string | number, unknown>[])
        for (const c of cols) if (row[c.key] != null) row[c.key] = c.parse(row[c.key] as string, c.oid);
    }
    return result;
  }

  query<T = Row>(text: string, params?: unknown[], options?: RemoteQueryOptions): Promise<Results<T>> {
    return this.run<T>(undefined, text, params, options);
  }

  /** PGlite's transaction: BEGIN, `fn` with a handle for its statements, then COMMIT — or ROLLBACK when fn throws. */
  async transaction<T>(fn: (tx: RemoteTransaction) => Promise<T>): Promise<T> {
    const id = await this.call<number>({ t: 'begin' });
    let closed = false;
    const end = (commit: boolean) => {
      closed = true;
      return this.call({ t: 'end', tx: id, commit });
    };
    const handle: RemoteTransaction = {
      query: (text, params, options) => (closed ? Promise.reject(new Error('Transaction is closed')) : this.run(id, text, params, options)),
    };
    let result: T;
    try {
      result = await fn(handle);
    } catch (e) {
      await end(false).catch(() => {});
      throw e; // the callback's error, not the rollback's
    }
    await end(true);
    return result;
  }

  /** LISTEN; resolves once listening; returns the unlisten. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const listener = this.nextId++;
    this.listeners.set(listener, onNotify);
    try {
      await this.call({ t: 'listen', channel }, listener);
    } catch (e) {
      this.listeners.delete(listener);
      throw e;
    }
    return async () => {
      this.listeners.delete(listener);
      await this.call({ t: 'unlisten', listener });
    };
  }

  /** CHECKPOINT, then the data dir as an uncompressed tar, copied between transactions (a committed state). */
  async dumpDataDir(): Promise<Uint8Array> {
    return new Uint8Array(await this.call<ArrayBuffer>({ t: 'dump' }));
  }

  async close(): Promise<void> {
    if (this.ended) return;
    try {
      await this.call({ t: 'close' });
    } finally {
      this.end(new Error('the embedded database is closed'));
      this.worker.terminate();
    }
  }
}
