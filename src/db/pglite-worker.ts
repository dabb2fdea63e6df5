// The embedded database's thread: PGlite (PostgreSQL compiled to WASM) runs here, not on the HTTP thread. Its
// JavaScript side (the WASM file system's objects, the module's tables) made every garbage collection of the HTTP
// thread slower (a full collection 0.2–0.4 ms → 10–12 ms, a young one 0.07 → 1.25 ms), which showed as a 3–4×
// higher p99 on requests that never touch the database; a worker thread has a heap of its own. Statements arrive as
// messages from src/db/pglite-remote.ts, in order, and run on PGlite in that order, as they did in-process:
// PGlite's own locks (one transaction at a time, one statement at a time) decide what waits.
//
// Replies go out in the order things happen: a NOTIFY raised by a statement is posted before that statement's
// result, so the HTTP thread's read cache (src/http/read-cache.ts) hears of a change before anyone is told it is done.
import { parse as pgliteParse, PGlite, protocol, type Transaction } from '@electric-sql/pglite';
import { loadPgliteAssets } from './pglite-assets';
import { PGLITE_CONF, PGLITE_MAX_PREPARED_TEXT as MAX_PREPARED_TEXT, PGLITE_MAX_STATEMENTS as MAX_STATEMENTS, type PgliteReply, type PgliteRequest, type QueryRequest, serializeError } from './pglite-protocol';
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

// ---------------------------------------------------------------------------------------------------------------
// Named prepared statements. PGlite's own query() makes six calls into the database per statement (Parse, Describe
// the statement — for the parameters' types —, Bind, Describe the portal, Execute, Sync), and PostgreSQL parses and
// plans the text again every time. Here each statement text is parsed once under a name of its own (with its
// parameter types read once), and every later execution is one call: Bind, Describe, Execute and Sync in one
// message. Measured in this process's settings (PGlite, no optimising tiers, a 2,000-row table): a primary-key
// select 0.19–0.25 → 0.06–0.10 ms, a count 0.22–0.41 → 0.08–0.09 ms, the queue's claim 0.89–1.11 → 0.38–0.58 ms.
// The results are parsed by PGlite's own parser and the values serialised by its own serialisers (per parameter
// type), so the rows and errors are those of query(). At most MAX_STATEMENTS are kept, the least recently used
// closed first (the Close goes out with the next statement parsed outside a transaction); texts over
// MAX_PREPARED_TEXT characters are not prepared at all.

const protocolOut = protocol.serialize as unknown as {
  parse(o: { name: string; text: string }): Uint8Array;
  describe(o: { type: 'S' | 'P'; name?: string }): Uint8Array;
  bind(o: { statement: string; values: (string | null)[] }): Uint8Array;
  execute(o: object): Uint8Array;
  sync(): Uint8Array;
  close(o: { type: 'S'; name: string }): Uint8Array;
};
const parseResults = (pgliteParse as unknown as { parseResults: (m: unknown[], parsers: unknown, o?: unknown) => unknown[] }).parseResults;
const parseParameterTypes = (pgliteParse as unknown as { parseDescribeStatementResults: (m: unknown[]) => number[] }).parseDescribeStatementResults;
/** PGlite's members this needs besides its typed API */
type PgliteInternals = PGlite & {
  serializers: Record<number, (v: unknown) => string>;
  parsers: Record<number, (v: string, typeId?: number) => unknown>;
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
};

interface Statement {
  name: string;
  /** the parameters' type OIDs, as PostgreSQL inferred them */
  types: number[];
}
/**
 * statement text → its prepared statement, in least-recently-used order. Read and written only inside runPrepared,
 * under PGlite's query lock: no other call sees a statement while it is being parsed.
 */
const statements = new Map<string, Statement>();
/** names of evicted statements, closed with the next statement parsed outside a transaction */
const toClose: string[] = [];
let statementSeq = 0;

/** what runPrepared returns when the statement is to go PGlite's usual way (query()) instead */
const USUAL_WAY = Symbol('usual way');

/** Parses `text` under a new name and reads its parameter types; a failure keeps nothing. */
async function prepare(db: PgliteInternals, text: string, inTx: boolean): Promise<Statement> {
  const name = `aigc_${++statementSeq}`;
  // Parse and Describe with a Sync, so that an error leaves the protocol ready (and, in a transaction, aborts it as
  // query() would have done with the same text). Pending Closes wait for a statement outside a transaction, so that
  // nothing but the caller's own statements runs inside one.
  const closes = inTx ? [] : toClose.splice(0).map((n) => protocolOut.close({ type: 'S', name: n }));
  const { messages } = await db.execProtocol(
    Buffer.concat([...closes, protocolOut.parse({ name, text }), protocolOut.describe({ type: 'S', name }), protocolOut.sync()]),
    { syncToFs: false },
  );
  return { name, types: parseParameterTypes(messages) };
}

/**
 * The query as PGlite's query() would answer it, through a named statement; inTx: inside an open transaction. Run it
 * under PGlite's query lock (one call at a time).
 */
async function runPrepared(db: PgliteInternals, m: QueryRequest, inTx: boolean): Promise<unknown> {
  // a long text (a batch of many rows) is seldom repeated and its parsed form is large: not worth keeping
  if (m.text.length > MAX_PREPARED_TEXT) return USUAL_WAY;
  try {
    let s = statements.get(m.text);
    if (s === undefined) {
      s = await prepare(db, m.text, inTx);
      if (statements.size >= MAX_STATEMENTS) {
        const [oldest, gone] = statements.entries().next().value as [string, Statement];
        statements.delete(oldest);
        toClose.push(gone.name);
      }
    } else statements.delete(m.text); // set again below: most recently used last
    statements.set(m.text, s);
    const types = s.types;
    const values = m.params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serialize = db.serializers[types[i]!];
      return serialize ? serialize(v) : String(v);
    });
    const { messages } = await db.execProtocol(
      Buffer.concat([protocolOut.bind({ statement: s.name, values }), protocolOut.describe({ type: 'P' }), protocolOut.execute({}), protocolOut.sync()]),
      { syncToFs: !inTx },
    );
    return parseResults(messages, db.parsers, optionsOf(m))[0];
  } catch (e) {
    throw withQuery(e, m.text);
  }
}

/** PGlite's query() names the statement in its errors; so do these */
function withQuery(e: unknown, text: string): unknown {
  if (e instanceof Error && !('query' in e)) Object.assign(e, { query: text });
  return e;
}

async function open(m: Extract<PgliteRequest, { t: 'open' }>) {
  statements.clear();
  toClose.length = 0;
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
      const inner = db as PgliteInternals;
      if (m.tx === undefined) {
        // a statement of its own waits for any open transaction, as query() does
        const result = await inner._runExclusiveTransaction(() => inner._runExclusiveQuery(() => runPrepared(inner, m, false)));
        return { result: result === USUAL_WAY ? await db.query(m.text, m.params, optionsOf(m)) : result };
      }
      const on = transactions.get(m.tx)?.tx;
      if (!on || on.closed) throw new Error('Transaction is closed');
      const result = await inner._runExclusiveQuery(() => runPrepared(inner, m, true));
      return { result: result === USUAL_WAY ? await on.query(m.text, m.params, optionsOf(m)) : result };
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
      statements.clear();
      toClose.length = 0;
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
