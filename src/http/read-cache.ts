// Hot reads kept in memory (issue 15): which sessions are alive, the rows of the tasks being polled, and each user's
// history rows. A client polls its task every 2 s with the same token; without this every poll is a database round
// trip (on the embedded default a message to the database's thread and a query there), so the poll could never come near what the runtime
// itself can serve.
//
// Exactness comes from the database, not from a timer: triggers (drizzle/0009_cache_notify.sql) send
// `pg_notify('aigc_cache', …)` with the commit of every change of a task the poll or the history shows, and of
// every ended or shortened session, whatever made it (the API of any instance, a runner, the review CLI, retention,
// a cascade, an operator's SQL). Each instance holds ONE `LISTEN aigc_cache` per database (this cache) and forgets
// what a notification names; a change made on another instance is therefore visible here as soon as the
// notification arrives (a few ms). A change this process makes is also forgotten at once, locally (forgetTask,
// forgetSessions), so that the answer to the client's next request never lags behind the answer it just got.
//
// Trusted only while the notifications flow: the cache sends itself a heartbeat notification every HEARTBEAT_MS and
// serves nothing when the last one came back more than STALE_MS ago (a LISTEN connection that dropped, a database
// that stalls); when the LISTEN is re-established it forgets everything (notifications sent meanwhile are lost).
// Each entry also expires ENTRY_TTL_MS after it was read from the database, a last safety net.
//
// Races: a read that started before a change must not store what it read after the change was forgotten. Every
// forget bumps an epoch; a read remembers its result only if no forget happened since it started (`epoch()` read
// before the query). A notification for a change that committed while such a read ran arrives after the commit,
// so at worst the stale row is stored and then forgotten when the notification arrives.
import type { Database, Db } from '../db/client';
import type { Logger } from '../logger';

export const CACHE_CHANNEL = 'aigc_cache';
/** how often the cache checks that notifications still reach it (ms) */
export const HEARTBEAT_MS = 500;
/** serve nothing from memory when the last heartbeat came back longer ago than this (ms) */
export const STALE_MS = 1_500;
/**
 * the longest an entry is used after it was read from the database (ms), however often it is read meanwhile: a bound
 * on staleness should a notification ever be lost. (A hot entry therefore leaves memory every 30 s and the next
 * polls of it take the database path once; bench measured that as the poll's slowest answers, up to ≈ 30 ms.)
 */
export const ENTRY_TTL_MS = 30_000;

// bounds (at the bound a map starts again empty): about 5 MB of sessions, 20 MB of task rows and their bodies,
// 25 MB of history rows at worst
const MAX_SESSIONS = 50_000;
const MAX_TASKS = 20_000;
/** history rows kept, over all users */
const MAX_HISTORY_ROWS = 50_000;

/** A cached task row: whatever the poll shows (service.ts ViewRow), with its id and owner. */
export interface OwnedRow {
  id: string;
  userId: number;
}

interface Entry<T> {
  value: T;
  at: number;
}

export class ReadCache {
  private sessions = new Map<string, Entry<{ userId: number; expiresAt: number }>>();
  private tasks = new Map<string, Entry<OwnedRow>>();
  /** the poll's answer body for a task, built once per row (service.ts) */
  private bodies = new WeakMap<OwnedRow, unknown>();
  private histories = new Map<number, Entry<readonly unknown[]>>();
  private historyRows = 0;
  private seq = 0;
  /** when the last heartbeat came back (performance.now()); 0 = never */
  private heard = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;
  /** the embedded database: notifications cannot be lost, no heartbeat */
  private inProcess = false;
  private readonly id = crypto.randomUUID().slice(0, 8);

  constructor(
    private readonly database: Pick<Database, 'listen' | 'notify' | 'db' | 'kind'>,
    private readonly log?: Logger,
  ) {}

  /**
   * LISTENs and starts the heartbeat; the cache serves once its first heartbeat comes back. The embedded database
   * needs none: it lives in this process, a statement's notifications reach this thread before its result does
   * (src/db/pglite-worker.ts), and there is no connection to lose (a heartbeat would only be a commit twice a second).
   */
  async start() {
    this.unlisten = await this.database.listen(CACHE_CHANNEL, (p) => this.onNotify(p), () => this.onListen());
    // entries nobody reads any more are dropped, not only replaced: memory follows the clients that poll
    this.sweeper = setInterval(() => this.sweep(), ENTRY_TTL_MS);
    this.sweeper.unref?.();
    if (this.database.kind === 'pglite') {
      this.inProcess = true;
      return;
    }
    this.beat();
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref?.();
  }

  /** True while notifications are known to arrive: only then is anything served or stored. */
  get live(): boolean {
    if (this.inProcess) return !this.closed;
    return this.heard !== 0 && performance.now() - this.heard < STALE_MS && !this.closed;
  }

  /** The current epoch: read it before the query whose result may be remembered. */
  epoch() {
    return this.seq;
  }

  // ------------------------------------------------------------------ sessions

  /** True when the session is known alive for that user (and not expired). */
  sessionAlive(sessionId: string, userId: number, now = Date.now()): boolean {
    const e = this.fresh(this.sessions, sessionId);
    if (!e) return false;
    if (e.userId !== userId || e.expiresAt <= now) {
      this.sessions.delete(sessionId);
      return false;
    }
    return true;
  }

  /**
   * For an answer kept by the poll's fast path (modules/generation/poll-fast.ts), right after `task` and
   * `sessionAlive` found both usable: `at`, the earlier end of the two entries (performance.now() time, ENTRY_TTL_MS
   * after each was read), and `expiresAt`, the session's own expiry (epoch ms). Null when either is not cached.
   * Whatever is forgotten meanwhile bumps the epoch, which such an answer checks too.
   */
  entriesUntil(taskId: string, sessionId: string): { at: number; expiresAt: number } | null {
    const s = this.sessions.get(sessionId);
    const t = this.tasks.get(taskId);
    if (!s || !t) return null;
    return { at: Math.min(s.at, t.at) + ENTRY_TTL_MS, expiresAt: s.value.expiresAt };
  }

  /** Remembers a session read as alive by a query that started at epoch `since`. */
  rememberSession(sessionId: string, userId: number, expiresAt: Date, since: number) {
    if (!this.storable(since)) return;
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.clear();
    this.sessions.set(sessionId, { value: { userId, expiresAt: expiresAt.getTime() }, at: performance.now() });
  }

  forgetSessions(ids: readonly string[]) {
    this.seq++;
    for (const id of ids) this.sessions.delete(id);
  }

  // ------------------------------------------------------------------ tasks

  /** The cached row of a task (any owner: the caller checks), or undefined. */
  task<T extends OwnedRow>(id: string): T | undefined {
    return this.fresh(this.tasks, id) as T | undefined;
  }

  rememberTask(row: OwnedRow, since: number) {
    if (!this.storable(since)) return;
    if (this.tasks.size >= MAX_TASKS) this.tasks.clear();
    this.tasks.set(row.id, { value: row, at: performance.now() });
  }

  /** Something built from a cached row, kept as long as the row (the poll's body). */
  derived<R extends OwnedRow, T>(row: R, build: (row: R) => T): T {
    let v = this.bodies.get(row) as T | undefined;
    if (v === undefined) this.bodies.set(row, (v = build(row)));
    return v;
  }

  forgetTask(id: string, userId?: number) {
    this.seq++;
    this.tasks.delete(id);
    if (userId !== undefined) this.dropHistory(userId);
    else this.clearHistories(); // the owner is unknown here: every history may hold the task
  }

  // ------------------------------------------------------------------ histories

  history<T>(userId: number): readonly T[] | undefined {
    return this.fresh(this.histories, userId) as readonly T[] | undefined;
  }

  rememberHistory(userId: number, rows: readonly unknown[], since: number) {
    if (!this.storable(since) || rows.length > MAX_HISTORY_ROWS / 4) return;
    this.dropHistory(userId);
    if (this.historyRows + rows.length > MAX_HISTORY_ROWS) this.clearHistories();
    this.histories.set(userId, { value: rows, at: performance.now() });
    this.historyRows += rows.length;
  }

  // ------------------------------------------------------------------ upkeep

  /** Forgets everything (and refuses what reads in flight would store). */
  clear() {
    this.seq++;
    this.sessions.clear();
    this.tasks.clear();
    this.clearHistories();
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    this.clear();
    caches.delete(this.database.db);
    await this.unlisten?.().catch(() => {});
  }

  /** A read that started at epoch `since` may store its result: nothing was forgotten since, and notifications flow. */
  private storable(since: number) {
    return since === this.seq && this.live;
  }

  private fresh<K, V>(map: Map<K, Entry<V>>, key: K): V | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (!this.live || performance.now() - e.at > ENTRY_TTL_MS) {
      map.delete(key);
      return undefined;
    }
    return e.value;
  }

  private sweep() {
    const old = performance.now() - ENTRY_TTL_MS;
    for (const [k, e] of this.sessions) if (e.at < old) this.sessions.delete(k);
    for (const [k, e] of this.tasks) if (e.at < old) this.tasks.delete(k);
    for (const [k, e] of this.histories) if (e.at < old) this.dropHistory(k);
  }

  private dropHistory(userId: number) {
    const h = this.histories.get(userId);
    if (!h) return;
    this.historyRows -= h.value.length;
    this.histories.delete(userId);
  }

  private clearHistories() {
    this.histories.clear();
    this.historyRows = 0;
  }

  private beat() {
    if (this.closed) return;
    // not live any more: whatever was missed meanwhile is unknown
    if (this.heard !== 0 && !this.live) this.clear();
    this.database.notify(CACHE_CHANNEL, `h:${this.id}:${Math.round(performance.now())}`).catch((e) => {
      this.log?.debug?.('read cache heartbeat failed', { err: String(e) });
    });
  }

  private onListen() {
    // (re)connected: notifications sent while no LISTEN was in place are lost
    this.clear();
  }

  private onNotify(payload: string) {
    const kind = payload.charCodeAt(0);
    if (kind === 116 /* t */) {
      const [, id, user] = payload.split(':');
      const userId = Number(user);
      this.forgetTask(id, Number.isSafeInteger(userId) ? userId : undefined);
    } else if (kind === 115 /* s */) {
      this.forgetSessions([payload.slice(2)]);
    } else if (kind === 104 /* h */) {
      const [, id, sentAt] = payload.split(':');
      if (id !== this.id) return;
      // a heartbeat that took longer than STALE_MS to come back proves nothing about now
      const at = Number(sentAt);
      if (performance.now() - at < STALE_MS) this.heard = Math.max(this.heard, at);
    }
  }
}

const caches = new Map<Db, ReadCache>();

/** The read cache of a database in this process (one LISTEN), started on first use. */
export function readCacheFor(database: Database, log?: Logger): ReadCache {
  let c = caches.get(database.db);
  if (!c) {
    const cache = new ReadCache(database, log);
    caches.set(database.db, (c = cache));
    cache.start().catch((e) => log?.warn?.('read cache: LISTEN failed; hot reads go to the database', { err: String(e) }));
  }
  return c;
}

/** The read cache of `db` if one runs. */
export const readCacheOf = (db: Db): ReadCache | undefined => caches.get(db);

/**
 * Sessions this process just ended: no cache of this process may answer for them any more (the NOTIFY tells the
 * other instances, and this one again).
 */
export function forgetSessions(ids: readonly string[]) {
  for (const c of caches.values()) c.forgetSessions(ids);
}

/** A task this process just changed (cancel, hide): forgotten at once by every cache of this process. */
export function forgetTask(id: string, userId: number) {
  for (const c of caches.values()) c.forgetTask(id, userId);
}
