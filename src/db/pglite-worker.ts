// The embedded database's thread: PGlite (PostgreSQL compiled to WASM) runs here, not on the HTTP thread. Its
// JavaScript side (the WASM file system's objects, the module's tables) made every garbage collection of the HTTP
// thread slower (a full collection 0.2–0.4 ms → 10–12 ms, a young one 0.07 → 1.25 ms), which showed as a 3–4×
// higher p99 on requests that never touch the database; a worker thread has a heap of its own. Statements arrive as
// messages from src/db/pglite-remote.ts, in order, and run on PGlite in that order, as they did in-process:
// PGlite's own locks (one transaction at a time, one statement at a time) decide what waits.
//
// Replies go out in the order things happen: a NOTIFY raised by a statement is posted before that statement's
// result, so the HTTP thread's read cache (src/http/read-cache.ts) hears of a change before anyone is told it is done.
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { loadPgliteAssets } from './pglite-assets';
import { PGLITE_CONF, type PgliteReply, type PgliteRequest, type QueryRequest, serializeError } from './pglite-protocol';
import { resolveSeed, unpackDataDir } from './seed';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

declare const self: Worker;

let pg: PGlite | undefined;
/** open transactions by id: the handle PGlite gave, and how to end it */
const transactions = new Map<number, { tx: Transaction; end: (commit: boolean) => void }>();
const listeners = new Map<number, () => Promise<void>>();

const post = (m: PgliteReply, transfer?: ArrayBuffer[]) => self.postMessage(m, transfer ?? []);

const asText = (v: string) => v;
/** PGlite's query options for a request: the types left as text (the caller parses them) and the row shape */
function optionsOf(r: QueryRequest) {
  const parsers: Record<number, (v: string) => string> = {};
  for (const oid of r.raw) parsers[oid] = asText;
  return { rowMode: r.rowMode, parsers };
}

async function open(m: Extract<PgliteRequest, { t: 'open' }>) {
  // the WASM compiles on JSC's compiler threads while the seed is unpacked
  const assetsLoading = loadPgliteAssets();
  assetsLoading.catch(() => {});
  let fresh = !m.dataDir || !existsSync(join(m.dataDir, 'PG_VERSION'));
  const seed = fresh ? resolveSeed(m.seed) : null;
  // a data dir on disk is unpacked natively (faster); in memory, PGlite loads the seed itself
  if (seed && m.dataDir && (await unpackDataDir(seed, m.dataDir))) fresh = false;
  const assets = await assetsLoading;
  pg = await PGlite.create({
    ...(m.dataDir ? { dataDir: m.dataDir } : {}),
    ...(fresh && seed ? { loadDataDir: seed } : {}),
    postgresqlconf: PGLITE_CONF,
    ...assets,
  });
}

async function handle(m: PgliteRequest): Promise<{ result?: unknown; transfer?: ArrayBuffer[] }> {
  if (m.t === 'open') return { result: await open(m) };
  if (!pg) throw new Error('the embedded database is not open');
  const db = pg;
  switch (m.t) {
    case 'query': {
      const on = m.tx === undefined ? db : transactions.get(m.tx)?.tx;
      if (!on) throw new Error('Transaction is closed');
      return { result: await on.query(m.text, m.params, optionsOf(m)) };
    }
    case 'begin': {
      // answers once BEGIN has run; the transaction stays open until an `end` for it arrives
      const tx = m.id;
      return await new Promise((begun, failed) => {
        let started = false;
        db.transaction(
          (handle) =>
            new Promise<void>((commit, rollback) => {
              started = true;
              transactions.set(tx, { tx: handle, end: (ok) => (ok ? commit() : rollback(new RolledBack())) });
              begun({ result: tx });
            }),
        ).then(
          () => finish(tx, undefined),
          (e) => (started ? finish(tx, e instanceof RolledBack ? undefined : e) : failed(e)),
        );
      });
    }
    case 'end': {
      const open = transactions.get(m.tx);
      if (!open) throw new Error('Transaction is closed');
      const done = new Promise<void>((resolve, reject) => endings.set(m.tx, { resolve, reject }));
      open.end(m.commit);
      await done;
      return {};
    }
    case 'listen': {
      listeners.set(m.id, await db.listen(m.channel, (payload) => post({ t: 'notify', listener: m.id, payload })));
      return { result: m.id };
    }
    case 'unlisten': {
      const unlisten = listeners.get(m.listener);
      listeners.delete(m.listener);
      await unlisten?.();
      return {};
    }
    case 'dump': {
      await db.query('checkpoint'); // the dump then needs no WAL replay beyond the last few statements
      // between transactions (PGlite's transaction lock) and statements (dumpDataDir takes its query lock): no
      // transaction is open while the files are read, so the copy is a committed state
      const tarball = await db._runExclusiveTransaction(() => db.dumpDataDir('none'));
      const bytes = await tarball.arrayBuffer();
      return { result: bytes, transfer: [bytes] };
    }
    case 'close': {
      await db.close();
      pg = undefined;
      return {};
    }
  }
}

/** what `end` gets after a rollback it asked for: not an error */
class RolledBack extends Error {}
/** the `end` requests waiting for their transaction's COMMIT or ROLLBACK */
const endings = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
function finish(tx: number, error: unknown) {
  transactions.delete(tx);
  const ending = endings.get(tx);
  endings.delete(tx);
  if (!ending) return;
  if (error === undefined) ending.resolve();
  else ending.reject(error);
}

self.onmessage = (event: MessageEvent<PgliteRequest>) => {
  const m = event.data;
  handle(m).then(
    ({ result, transfer }) => post({ t: 'ok', id: m.id, result }, transfer),
    (e) => post({ t: 'error', id: m.id, error: serializeError(e) }),
  );
};
