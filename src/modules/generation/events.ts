// Live task events (GET /api/v1/generation/{taskId}/events): one server-sent event per change of a task, each
// `data:` line the poll's `data` (taskView in service.ts).
//
// How a change travels: every UPDATE of a task's state in src/queue sends `pg_notify('aigc_task_events', <task id>)`
// from its own RETURNING list, so the notification leaves with the commit, from whichever instance made the change.
// Each instance holds ONE `LISTEN` per database (this hub), and a map task id → open streams. A notification for a
// task nobody here watches costs nothing; for a watched one, the task's row is read once (the tasks notified while a
// read runs are read together by the next one, so a burst of completions costs a few queries, not one per task), the
// view built once and handed to every stream of that task, which sends it only if it differs from what it sent
// last. The table is never polled per stream.
//
// Per stream the hub keeps one small object: the last view sent (to skip repeats), at most one unsent event (a newer
// view replaces an unsent older one, so a client that reads slowly gets the latest state, and the final one, never a
// growing backlog) and a heartbeat flag. One timer per hub sends the heartbeat comment (`: ping`) to every stream and
// then, in two batched queries, checks that every stream's session is still alive (logout, password change: the
// stream ends) and re-reads the watched tasks (the safety net for a notification lost while the LISTEN connection was
// being re-established).
import { and, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { sessions, tasks } from '../../db/schema';
import type { TokenClaims } from '../../http/tokens';
import { type Logger, silentLogger } from '../../logger';
import { CHANNEL_EVENTS } from '../../queue';
import { type GenerationDeps, getTask, type SignUrl, signerFor, taskView, type ViewRow, viewColumns } from './service';

/** The heartbeat comment's interval by default: well under the 60 s idle timeout of common proxies (nginx, ALB). */
export const HEARTBEAT_MS = 15_000;

/** How many ids one heartbeat query names at most. */
const BATCH = 1000;

const encoder = new TextEncoder();
const PING = encoder.encode(': ping\n\n');

/** The response headers of a stream: no caching, and no buffering by nginx-style proxies. */
export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

export interface EventsHubOptions {
  /** how often the heartbeat comment is sent and the sessions re-checked (ms); default HEARTBEAT_MS */
  heartbeatMs?: number;
  log?: Logger;
}

export interface EventsHub {
  /**
   * Opens a stream of the task's events for the token's owner. The task is read (and the session checked) as the
   * poll does it, so another user's or an unknown task is code 400 and an ended session HTTP 401 (thrown AppErrors),
   * and nothing is streamed. `signal` (the request's) ends the stream when the client goes away.
   */
  open(d: Pick<GenerationDeps, 'db' | 'links'>, claims: TokenClaims, taskId: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** open streams on this instance */
  readonly subscribers: number;
  /** ends the streams of a session now (after what they have queued) */
  endSession(sessionId: string): void;
  /** ends every stream and stops listening */
  close(): Promise<void>;
}

/** One open stream. */
class Subscriber {
  /** the hub read whose view was taken last (a view from an older read never replaces a newer one) */
  private seq = -1;
  /** the JSON of the last view queued (repeats are not sent) */
  private last: string | null = null;
  /** the next event to send; a newer view replaces it while the client has not taken it */
  private pending: Uint8Array | null = null;
  /** the pending event is the task's last (completed/failed): the stream ends after it */
  private final = false;
  private ping = false;
  /** end after what is pending (session ended, task gone, hub closing) */
  private ending = false;
  /** removed from the hub */
  done = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly taskId: string,
    readonly sessionId: string,
    private readonly drop: (s: Subscriber) => void,
    /** signs the result's `signed_url` for this stream's session (as the poll of that session does) */
    readonly sign?: SignUrl,
  ) {}

  offer(json: string, bytes: Uint8Array, seq: number, terminal: boolean) {
    if (this.done || this.final || seq <= this.seq) return;
    this.seq = seq;
    if (json === this.last) return;
    this.last = json;
    this.pending = bytes;
    this.final = terminal;
    this.poke();
  }

  heartbeat() {
    this.ping = true;
    this.poke();
  }

  end() {
    this.ending = true;
    this.poke();
  }

  dispose() {
    if (this.done) return;
    this.done = true;
    this.pending = null;
    this.drop(this);
    this.poke();
  }

  private poke() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The response body: pulled by the server as the socket takes data, so at most one event waits in it. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (c) => {
        for (;;) {
          if (this.done) return closeQuietly(c);
          if (this.pending) {
            const bytes = this.pending;
            this.pending = null;
            this.ping = false; // the event itself keeps the connection alive
            c.enqueue(bytes);
            if (this.final) {
              this.dispose();
              c.close();
            }
            return;
          }
          if (this.ending) {
            this.dispose();
            return c.close();
          }
          if (this.ping) {
            this.ping = false;
            return c.enqueue(PING);
          }
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      cancel: () => this.dispose(),
    });
  }
}

function closeQuietly(c: ReadableStreamDefaultController<Uint8Array>) {
  try {
    c.close();
  } catch {
    // already closed or canceled
  }
}

type EventRow = ViewRow & { hidden: boolean };

/** A hub on `database`: one LISTEN (started with the first stream), one heartbeat timer while streams are open. */
export function createEventsHub(database: Pick<Database, 'db' | 'listen'>, o: EventsHubOptions = {}): EventsHub {
  const db = database.db;
  const log = o.log ?? silentLogger;
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const byTask = new Map<string, Set<Subscriber>>();
  let count = 0;
  /** numbers every read of a task, in the order they are issued */
  let seq = 0;
  /** tasks notified and not yet read */
  const dirty = new Set<string>();
  let flushing = false;
  let listening: Promise<() => Promise<void>> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  let checking = false;
  let closed = false;

  function add(sub: Subscriber) {
    let set = byTask.get(sub.taskId);
    if (!set) byTask.set(sub.taskId, (set = new Set()));
    set.add(sub);
    if (count++ === 0 && !timer) {
      timer = setInterval(tick, heartbeatMs);
      timer.unref?.();
    }
  }

  function remove(sub: Subscriber) {
    const set = byTask.get(sub.taskId);
    if (!set?.delete(sub)) return;
    if (set.size === 0) byTask.delete(sub.taskId);
    if (--count === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function each(fn: (s: Subscriber) => void) {
    for (const set of [...byTask.values()]) for (const s of [...set]) fn(s);
  }

  /** Hands the view of a task's row, read by read number `n`, to its streams; a missing or hidden task ends them. */
  function deliver(taskId: string, row: EventRow | undefined, n: number) {
    const set = byTask.get(taskId);
    if (!set) return;
    if (!row || row.hidden) {
      for (const s of [...set]) s.end();
      return;
    }
    const plain = taskView(row).data;
    const json = JSON.stringify(plain);
    const bytes = encoder.encode(`data: ${json}\n\n`);
    const terminal = row.status !== 'processing';
    // a completed result's signed_url belongs to the stream's session: one view per session (once per task)
    const signed = new Map<string, [string, Uint8Array]>();
    for (const s of [...set]) {
      if (plain.result_url === undefined || !s.sign) {
        s.offer(json, bytes, n, terminal);
        continue;
      }
      let v = signed.get(s.sessionId);
      if (!v) {
        const j = JSON.stringify(taskView(row, s.sign).data);
        signed.set(s.sessionId, (v = [j, encoder.encode(`data: ${j}\n\n`)]));
      }
      s.offer(v[0], v[1], n, terminal);
    }
  }

  /**
   * Reads watched tasks after their notifications: one query at a time per hub, for every task notified since the
   * last one was sent (a burst of completions is one query, not one per task; a lone change is read at once).
   */
  function refresh(taskId: string) {
    dirty.add(taskId);
    if (flushing) return;
    flushing = true;
    setImmediate(flush);
  }

  async function flush() {
    try {
      while (dirty.size > 0) {
        const ids: string[] = [];
        for (const id of dirty) {
          dirty.delete(id);
          if (byTask.has(id)) ids.push(id);
          if (ids.length === BATCH) break;
        }
        if (ids.length === 0) continue;
        await readAndDeliver(ids);
      }
    } catch (e) {
      log.warn(`task events: reading tasks failed: ${(e as Error).message}`);
    } finally {
      flushing = false;
      if (dirty.size > 0) {
        // notified while the failed read ran: they are read on the next turn
        flushing = true;
        setImmediate(flush);
      }
    }
  }

  /** Reads the tasks' rows in one query and hands each view to its streams. */
  async function readAndDeliver(ids: string[]) {
    const n = ++seq;
    const rows = await db
      .select({ ...viewColumns, hidden: tasks.hidden })
      .from(tasks)
      .where(inArray(tasks.id, ids));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) deliver(id, byId.get(id), n);
  }

  const onNotify = (taskId: string) => {
    if (byTask.has(taskId)) refresh(taskId);
  };

  function listen() {
    listening ??= database.listen(CHANNEL_EVENTS, onNotify).catch((e) => {
      listening = null; // the next stream tries again
      throw e;
    });
    return listening;
  }

  function tick() {
    each((s) => s.heartbeat());
    if (checking) return;
    checking = true;
    recheck()
      .catch((e) => log.warn(`task events: heartbeat check failed: ${(e as Error).message}`))
      .finally(() => (checking = false));
  }

  /** Ends the streams of ended sessions, and re-reads every watched task (a lost notification is caught here). */
  async function recheck() {
    const sessionIds = new Set<string>();
    each((s) => sessionIds.add(s.sessionId));
    const alive = new Set<string>();
    for (const ids of chunks([...sessionIds])) {
      const rows = await db
        .select({ id: sessions.id })
        .from(sessions)
        .where(and(inArray(sessions.id, ids), gt(sessions.expiresAt, sql`now()`)));
      for (const r of rows) alive.add(r.id);
    }
    each((s) => {
      if (sessionIds.has(s.sessionId) && !alive.has(s.sessionId)) s.end();
    });
    for (const ids of chunks([...byTask.keys()])) await readAndDeliver(ids);
  }

  return {
    get subscribers() {
      return count;
    },
    async open(d, claims, taskId, signal) {
      if (closed) throw new Error('task events: the hub is closed');
      const sub = new Subscriber(taskId, claims.sessionId, remove, signerFor(d, claims.sessionId));
      add(sub); // before the first read, so that no change after it is missed
      try {
        await listen();
        const n = ++seq;
        const { data } = await getTask(d as GenerationDeps, claims, taskId); // code 400 / HTTP 401 exactly as the poll
        const json = JSON.stringify(data);
        sub.offer(json, encoder.encode(`data: ${json}\n\n`), n, data.status !== 'processing');
      } catch (e) {
        sub.dispose();
        throw e;
      }
      if (signal) {
        if (signal.aborted) sub.dispose();
        else signal.addEventListener('abort', () => sub.dispose(), { once: true });
      }
      return sub.stream();
    },
    endSession(sessionId) {
      each((s) => {
        if (s.sessionId === sessionId) s.end();
      });
    },
    async close() {
      closed = true;
      each((s) => s.end());
      if (timer) clearInterval(timer);
      timer = null;
      const l = listening;
      listening = null;
      if (l) await (await l.catch(() => null))?.().catch(() => {});
    },
  };
}

function* chunks<T>(xs: T[]): Generator<T[]> {
  for (let i = 0; i < xs.length; i += BATCH) yield xs.slice(i, i + BATCH);
}

const hubs = new WeakMap<Pick<Database, 'db' | 'listen'>, EventsHub>();

/** The hub shared by every app built on `database` without one of its own (one LISTEN per database). */
export function eventsHubFor(database: Pick<Database, 'db' | 'listen'>, o?: EventsHubOptions): EventsHub {
  let hub = hubs.get(database);
  if (!hub) hubs.set(database, (hub = createEventsHub(database, o)));
  return hub;
}
