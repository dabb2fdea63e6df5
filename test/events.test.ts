// Issue 12, live task events: GET /api/v1/generation/{taskId}/events through a real listening server (so that the
// streams are real sockets), with a provider the tests drive step by step.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { type Database, openDatabase } from '../src/db/client';
import { encodePng } from '../src/engine/local';
import { createEventsHub, eventsHubFor, type EventsHub } from '../src/modules/generation/events';
import type { GenerationProvider, ProviderContext } from '../src/providers/types';
import { testEnv } from './support/env';
import { call, newUser } from './support/http';
import { createTask, until } from './support/tasks';

setDefaultTimeout(60_000);

const env = await testEnv();
const png = await encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(90) });

/** A provider whose tasks wait until the test moves them: report progress, then complete. */
const held = new Map<string, { ctx: ProviderContext; finish: () => void }>();
const puppet: GenerationProvider = {
  name: 'puppet',
  types: ['t2i', 'i2i', 't2v', 'i2v'],
  concurrency: 16,
  run: (job, ctx) =>
    new Promise((resolve, reject) => {
      held.set(job.taskId, { ctx, finish: () => resolve({ bytes: png, mime: 'image/png' }) });
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    }),
};

async function claimed(taskId: string) {
  for (let i = 0; i < 500 && !held.has(taskId); i++) await Bun.sleep(10);
  const h = held.get(taskId);
  if (!h) throw new Error(`${taskId} was not claimed`);
  return h;
}

/** The runner drops progress reports closer than 250 ms to the previous one. */
const PROGRESS_GAP = 300;

const serve = (app = env.app) => Bun.serve({ port: 0, fetch: (r) => app.handle(r) });
const server = serve();
const base = `http://127.0.0.1:${server.port}`;

beforeAll(async () => {
  await env.replacePool({ providers: [puppet], routes: { t2i: 'puppet', i2i: 'puppet', t2v: 'puppet', i2v: 'puppet' } });
});

afterAll(async () => {
  server.stop(true);
  await env.replacePool();
});

interface Stream {
  res: Response;
  /** the parsed `data:` lines, in order, with the time each arrived */
  events: any[];
  arrivals: number[];
  comments: string[];
  /** resolves when the server ends the stream */
  ended: Promise<void>;
  isEnded(): boolean;
  /** waits until `n` events have arrived */
  next(n: number, timeoutMs?: number): Promise<any>;
  abort(): void;
}

async function open(path: string, token: string | undefined, baseUrl = base): Promise<Stream> {
  const ac = new AbortController();
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(baseUrl + path, { headers, signal: ac.signal });
  const events: any[] = [];
  const arrivals: number[] = [];
  const comments: string[] = [];
  let done = false;
  const ended = (async () => {
    if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return;
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        buf += dec.decode(value, { stream: true });
        for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) {
            if (line.startsWith('data: ')) {
              events.push(JSON.parse(line.slice(6)));
              arrivals.push(performance.now());
            } else if (line.startsWith(':')) comments.push(line);
            else throw new Error(`unexpected line ${JSON.stringify(line)}`);
          }
        }
      }
      expect(buf).toBe('');
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    } finally {
      done = true;
    }
  })();
  return {
    res,
    events,
    arrivals,
    comments,
    ended,
    isEnded: () => done,
    async next(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`${n} events expected, got ${JSON.stringify(events)}`);
        if (done) throw new Error(`stream ended after ${JSON.stringify(events)}`);
        await Bun.sleep(5);
      }
      return events[n - 1];
    },
    abort: () => ac.abort(),
  };
}

const eventsPath = (id: string) => `/api/v1/generation/${id}/events`;
const pollData = async (token: string, id: string) => (await call('GET', `/api/v1/generation/${id}`, { token })).body.data;


const hub = () => eventsHubFor(env.database);

describe('GET /api/v1/generation/{taskId}/events', () => {
  test('the first event comes at once with the current state; it is the poll\'s data', async () => {
    const u = await newUser('ev1');
    const id = await createTask(u.token, { type: 't2i', prompt: 'first' });
    await claimed(id);
    const t0 = performance.now();
    const s = await open(eventsPath(id), u.token);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.res.headers.get('cache-control')).toBe('no-cache, no-transform');
    const first = await s.next(1);
    expect(s.arrivals[0] - t0).toBeLessThan(1000);
    expect(first).toEqual(await pollData(u.token, id));
    expect(first).toMatchObject({ task_id: id, status: 'processing' });
    expect(hub().subscribers).toBe(1);
    held.get(id)!.finish();
    await s.ended;
    expect(s.events.at(-1).status).toBe('completed');
    await until('the stream to be let go', () => hub().subscribers === 0);
  });

  test('one event per change (queue position, progress), the last one completed, then the stream ends', async () => {
    const u = await newUser('ev2');
    const id = await createTask(u.token, { type: 't2i', prompt: 'steps' });
    const h = await claimed(id);
    const s = await open(eventsPath(id), u.token);
    await s.next(1);
    h.ctx.progress({ queuePosition: 3 });
    expect(await s.next(2)).toMatchObject({ status: 'processing', queue_position: 3 });
    await Bun.sleep(PROGRESS_GAP);
    h.ctx.progress({ queuePosition: 1 });
    expect(await s.next(3)).toMatchObject({ queue_position: 1 });
    await Bun.sleep(PROGRESS_GAP);
    h.ctx.progress({ progress: 40, queuePosition: null });
    const p40 = await s.next(4);
    expect(p40).toMatchObject({ status: 'processing', progress: 40 });
    expect(p40.queue_position).toBeUndefined();
    await Bun.sleep(PROGRESS_GAP);
    h.ctx.progress({ progress: 80 });
    expect(await s.next(5)).toMatchObject({ progress: 80 });
    await Bun.sleep(PROGRESS_GAP);
    h.finish();
    await s.ended;
    const last = s.events.at(-1);
    expect(last).toMatchObject({ task_id: id, status: 'completed', result_url: `/generated_outputs/${id}.png` });
    expect(last).toEqual(await pollData(u.token, id)); // the same JSON as the poll's data
    expect(s.events.map((e) => e.status)).toEqual(['processing', 'processing', 'processing', 'processing', 'processing', 'completed']);
    // no repeats: every event differs from the one before
    for (let i = 1; i < s.events.length; i++) expect(s.events[i]).not.toEqual(s.events[i - 1]);
  });

  test('a cancel (failed) ends the stream after its event', async () => {
    const u = await newUser('ev3');
    const id = await createTask(u.token, { type: 't2i', prompt: 'cancel me' });
    await claimed(id);
    const s = await open(eventsPath(id), u.token);
    await s.next(1);
    expect((await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token })).body.code).toBe(200);
    await s.ended;
    expect(s.events.at(-1)).toEqual({ ...(await pollData(u.token, id)) });
    expect(s.events.at(-1)).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
  });

  test('a finished task: one event, then the end', async () => {
    const u = await newUser('ev4');
    const id = await createTask(u.token, { type: 't2i', prompt: 'done' });
    (await claimed(id)).finish();
    for (let i = 0; i < 200 && (await pollData(u.token, id)).status === 'processing'; i++) await Bun.sleep(10);
    const s = await open(eventsPath(id), u.token);
    await s.ended;
    expect(s.events).toEqual([await pollData(u.token, id)]);
  });

  test("another user's, an unknown or a malformed task is code 400 as JSON (HTTP 200), no stream; no token is HTTP 401", async () => {
    const owner = await newUser('ev5');
    const other = await newUser('ev5o');
    const id = await createTask(owner.token, { type: 't2i', prompt: 'mine' });
    await claimed(id);
    for (const [path, token] of [
      [eventsPath(id), other.token],
      [eventsPath('task_00000000000000000000'), owner.token],
      [eventsPath('nope'), owner.token],
    ] as const) {
      const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({ code: 400, message: '任务不存在' });
    }
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${owner.token}` }] as Record<string, string>[]) {
      const res = await fetch(base + eventsPath(id), { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: number }).code).toBe(401);
    }
    expect(hub().subscribers).toBe(0);
    held.get(id)!.finish();
  });

  test('a client that goes away is let go at once (no subscriber left)', async () => {
    const u = await newUser('ev6');
    const id = await createTask(u.token, { type: 't2i', prompt: 'leave' });
    const h = await claimed(id);
    const streams = await Promise.all([1, 2, 3].map(() => open(eventsPath(id), u.token)));
    await Promise.all(streams.map((s) => s.next(1)));
    expect(hub().subscribers).toBe(3);
    streams[0].abort();
    await until('one stream to be let go', () => hub().subscribers === 2);
    streams[1].abort();
    streams[2].abort();
    await until('every stream to be let go', () => hub().subscribers === 0);
    h.finish();
  });

  test('heartbeat comments; a session that ends (logout) ends its stream at the next heartbeat', async () => {
    const own: EventsHub = createEventsHub(env.database, { heartbeatMs: 150 });
    const app = env.makeApp({ events: own });
    const srv = serve(app);
    try {
      const u = await newUser('ev7');
      const id = await createTask(u.token, { type: 't2i', prompt: 'ping' });
      const h = await claimed(id);
      const s = await open(eventsPath(id), u.token, `http://127.0.0.1:${srv.port}`);
      await s.next(1);
      await until('two heartbeats', () => s.comments.length >= 2, 3000);
      expect(s.comments[0]).toBe(': ping');
      expect(s.isEnded()).toBe(false);
      expect((await call('POST', '/api/v1/auth/logout', { token: u.token })).body.code).toBe(200);
      await s.ended;
      expect(s.events).toHaveLength(1); // ended without a final event: the session is gone, not the task
      expect(own.subscribers).toBe(0);
      h.finish();
    } finally {
      srv.stop(true);
      await own.close();
    }
  });

  test('two apps on one database: a change made by the runner reaches a stream on the other app through NOTIFY', async () => {
    // the second app has its own hub (its own LISTEN) and, on PostgreSQL, its own connection pool: nothing in memory
    // is shared with the app whose runner makes the change
    const url = process.env.TEST_DATABASE_URL;
    const database: Database = url ? await openDatabase({ kind: 'postgres', url, max: 2 }) : env.database;
    const own = createEventsHub(database, { heartbeatMs: 600_000 }); // no safety-net re-read within the test
    const app = env.makeApp({ database, events: own });
    const srv = serve(app);
    try {
      const u = await newUser('ev8');
      const id = await createTask(u.token, { type: 't2i', prompt: 'elsewhere' });
      const h = await claimed(id);
      const s = await open(eventsPath(id), u.token, `http://127.0.0.1:${srv.port}`);
      await s.next(1);
      expect(own.subscribers).toBe(1);
      expect(hub().subscribers).toBe(0);
      const t0 = performance.now();
      h.ctx.progress({ progress: 10 });
      expect(await s.next(2)).toMatchObject({ progress: 10 });
      expect(s.arrivals[1] - t0).toBeLessThan(2000);
      await Bun.sleep(PROGRESS_GAP);
      h.finish();
      await s.ended;
      expect(s.events.at(-1)).toMatchObject({ status: 'completed' });
      expect(own.subscribers).toBe(0);
    } finally {
      srv.stop(true);
      await own.close();
      if (database !== env.database) await database.close();
    }
  });
});
