// Chaos tier: the real server as a child process, killed with SIGKILL while it works, then started again on the same
// data (DATA_DIR with the embedded PGlite, or TEST_DATABASE_URL's PostgreSQL). What was answered must have been kept,
// what was in flight must be all there or not there at all, and no task may stay `processing` for ever.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { testEnv, type TestEnv } from './support/env';
import { PASSWORD, uniq } from './support/http';
import { type ServerProcess, spawnServer } from './support/server-process';
import { until } from './support/tasks';

setDefaultTimeout(120_000);

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? '';
const dataDir = mkdtempSync(join(tmpdir(), 'aigc-chaos-'));
const JWT_SECRET = 'chaos-secret-0123456789-0123456789-abcdef';
/** a start can take seconds on a busy 2-core machine */
const START_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------------------------------------------
// The server process

let starts = 0;
let current: ServerProcess | null = null;

async function startServer(): Promise<ServerProcess> {
  const server = await spawnServer({
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      JWT_SECRET,
      WORKERS: '2',
      // one user queues 10 tasks here: the per-user limit (USER_MAX_ACTIVE_TASKS, default 4) is not the subject
      USER_MAX_ACTIVE_TASKS: '0',
      TASK_LEASE: '2',
      // empty ⇒ the embedded PGlite in DATA_DIR/pg
      DATABASE_URL,
    },
    logFile: join(dataDir, `server-${++starts}.log`),
    timeoutMs: START_TIMEOUT_MS,
  });
  current = server;
  return server;
}

async function kill9(server: ServerProcess): Promise<void> {
  expect(await server.kill9()).not.toBe(0);
  if (current === server) current = null;
}

const logsOf = (server: ServerProcess) => server.output().split('\n').slice(-40).join('\n');

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  body: any;
}

async function api(server: ServerProcess, method: string, path: string, opts: { token?: string; body?: unknown; bytes?: Uint8Array; type?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: RequestInit['body'];
  if (opts.bytes) {
    body = opts.bytes;
    headers['content-type'] = opts.type ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('json') ? await res.json() : new Uint8Array(await res.arrayBuffer()) };
}

async function newUser(server: ServerProcess, prefix: string): Promise<string> {
  const account = uniq(prefix);
  const reg = await api(server, 'POST', '/api/v1/auth/register', { body: { account, email: `${account}@example.com`, password: PASSWORD } });
  expect(reg.body.code).toBe(200);
  const login = await api(server, 'POST', '/api/v1/auth/login', { body: { account, password: PASSWORD } });
  expect(login.body.code).toBe(200);
  return login.body.data.token;
}

// ---------------------------------------------------------------------------------------------------------------

let env: TestEnv | null = null;
let passed = 0;

beforeAll(async () => {
  if (DATABASE_URL) {
    // The shared env wipes the database when it first opens it: let that happen before a server uses it. Its worker
    // pool would claim the servers' tasks (and write their results into its own storage): pause it meanwhile.
    env = await testEnv();
    await env.pool.stop();
  }
});

afterAll(async () => {
  if (current) await kill9(current);
  if (env) await env.replacePool();
  // the servers' logs (server-N.log) stay for a failed run
  if (passed === 2) rmSync(dataDir, { recursive: true, force: true });
  else console.log(`chaos: data and server logs kept in ${dataDir}`);
});

describe('kill -9 and restart', () => {
  let token: string;
  /** tasks answered with a task_id before the kill */
  const answered = new Map<string, string>();

  test('generation tasks in flight survive a kill: each answered task completes or fails, none stays processing', async () => {
    const a = await startServer();
    token = await newUser(a, 'chaos');
    const w = 64;
    const png = encodePng({ width: w, height: w, data: new Uint8Array(w * w * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 11) % 256)) });
    const upload = await api(a, 'POST', '/api/v1/upload', { token, bytes: png, type: 'image/png' });
    expect(upload.body.code).toBe(200);
    const image = upload.body.data.file_id;

    // 256² (the size is not the subject): the kill below waits until a video is seen rendering, so it cuts work off
    // whatever the machine's speed; 4 s at 24 fps is 96 frames, several of the runner's progress writes
    const video = { width: 256, height: 256 };
    const bodies = [
      { type: 't2v', prompt: 'waves rolling on a beach', parameters: video },
      { type: 't2v', prompt: 'forest fire at night', parameters: video },
      { type: 't2i', prompt: 'city night', parameters: { width: 256, height: 256 } },
      { type: 'i2v', prompt: 'slow zoom', image, parameters: { ...video, duration: 2 } },
      { type: 'i2i', prompt: 'oil painting', image },
      { type: 't2v', prompt: 'snowy mountains', parameters: { ...video, duration: 2 } },
    ];
    const create = (body: object) =>
      api(a, 'POST', '/api/v1/generation', { token, body }).then(
        (r) => {
          expect(r.body.code).toBe(200);
          answered.set(r.body.data.task_id, r.body.data.type);
        },
        () => {}, // cut off by the kill: never answered, so nothing is promised
      );
    for (const body of bodies) await create(body);
    // kill once a worker is seen rendering a video (a poll shows its progress), with more creations in flight
    const cut = await until(
      'a video seen rendering before the kill',
      async () => {
        // the two videos created first (all `answered` holds so far, in creation order)
        for (const id of [...answered.keys()].slice(0, 2)) {
          const d = (await api(a, 'GET', `/api/v1/generation/${id}`, { token })).body.data;
          if (d.status === 'processing' && d.progress !== undefined && d.progress < 100) return id;
        }
        return undefined;
      },
      30_000,
    );
    // (small ones: they run after the restart, and their size is not the subject)
    const inflight = [
      { type: 't2v', prompt: 'rain on a window', parameters: { duration: 1, width: 256, height: 256 } },
      { type: 't2i', prompt: 'desert dunes', parameters: { width: 256, height: 256 } },
      { type: 'i2v', prompt: 'slow pan', image, parameters: { duration: 1 } },
      { type: 'i2i', prompt: 'watercolor', image },
    ].map(create);
    await Bun.sleep(5);
    await kill9(a);
    await Promise.all(inflight);
    expect(answered.size).toBeGreaterThanOrEqual(bodies.length);

    const b = await startServer();
    const deadline = Date.now() + 60_000;
    const final = new Map<string, any>();
    while (final.size < answered.size) {
      for (const id of answered.keys()) {
        if (final.has(id)) continue;
        const r = await api(b, 'GET', `/api/v1/generation/${id}`, { token });
        expect(r.body.code, `task ${id} exists after the restart: ${JSON.stringify(r.body)}`).toBe(200);
        if (r.body.data.status !== 'processing') final.set(id, r.body.data);
      }
      if (Date.now() > deadline) {
        const stuck = [...answered.keys()].filter((id) => !final.has(id));
        throw new Error(`still processing after the restart: ${stuck.join(', ')}\n${logsOf(b)}`);
      }
      await Bun.sleep(250);
    }
    for (const [id, task] of final) {
      if (task.status === 'failed') {
        expect(typeof task.error, `failed task ${id} says why`).toBe('string');
        continue;
      }
      expect(task.status).toBe('completed');
      const file = await api(b, 'GET', task.result_url, { token });
      expect(file.status, `${task.result_url} downloads`).toBe(200);
      const bytes = file.body as Uint8Array;
      if (task.result_url.endsWith('.mp4')) expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe('ftyp');
      else expect([...bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // PNG
    }
    const summary = [...final].map(([id, t]) => `${answered.get(id)}:${t.status}${t.error ? ` (${t.error})` : ''}`);
    console.log(`chaos: ${final.size} answered tasks after the restart: ${summary.join(', ')}`);
    // work that was cut off is redone, not dropped: the video seen rendering at the kill was completed after it
    expect([...final.values()].filter((t) => t.status === 'completed').length).toBeGreaterThan(0);
    expect(final.get(cut)?.status, `the video cut off by the kill (${cut})`).toBe('completed');
    passed++;
  });

  test('favorites batches cut off by a kill are all there or not at all; every answered batch is whole', async () => {
    const b = current ?? (await startServer());
    const user = await newUser(b, 'chaosfav');
    const list = await api(b, 'GET', '/api/v1/user/favorite_list', { token: user });
    const root = list.body.data[0].id;

    const BATCHES = 8;
    const ITEMS = 1000;
    /** batch k: a folder under the root, then folders and files under earlier folders; names `k:i` */
    const batch = (k: number) => ({
      items: Array.from({ length: ITEMS }, (_, i) => {
        const temp = i + 1;
        const folder = temp % 10 === 1;
        const parent = temp === 1 ? { parent_id: root } : { parent_temp_id: Math.floor((i - 1) / 10) * 10 + 1 };
        return folder
          ? { temp_id: temp, ...parent, name: `${k}:${temp}`, node_type: 'folder' }
          : { temp_id: temp, ...parent, name: `${k}:${temp}`, node_type: 'file', refer_url: `/generated_outputs/chaos_${k}_${temp}.png` };
      }),
    });
    const outcome: (number | 'cut')[] = Array(BATCHES).fill('cut');
    let firstAnswer: () => void;
    const someAnswered = new Promise<void>((resolve) => (firstAnswer = resolve));
    const requests = Array.from({ length: BATCHES }, (_, k) =>
      api(b, 'POST', '/api/v1/user/favorite_list/batch', { token: user, body: batch(k) }).then(
        (r) => {
          outcome[k] = r.body.code;
          firstAnswer();
        },
        () => {},
      ),
    );
    // kill as soon as one batch is answered, with the others queued or half-written
    await Promise.race([someAnswered, Bun.sleep(20_000)]);
    await kill9(b);
    await Promise.all(requests);
    expect(outcome.filter((c) => c === 200).length, `outcomes ${outcome}`).toBeGreaterThan(0);
    expect(outcome.filter((c) => c !== 200 && c !== 'cut'), 'no batch was refused').toEqual([]);

    const c = await startServer();
    const after = await api(c, 'GET', '/api/v1/user/favorite_list', { token: user });
    expect(after.body.code).toBe(200);
    const nodes = after.body.data as { id: number; parent_id: number | null; name: string }[];
    const ids = new Set(nodes.map((n) => n.id));
    const orphans = nodes.filter((n) => n.parent_id !== null && !ids.has(n.parent_id));
    expect(orphans, 'every node has its parent').toEqual([]);
    expect(nodes.filter((n) => n.parent_id === null).length, 'one root').toBe(1);
    const perBatch = Array(BATCHES).fill(0);
    for (const n of nodes) if (n.parent_id !== null) perBatch[Number(n.name.split(':')[0])]++;
    for (let k = 0; k < BATCHES; k++) {
      expect([0, ITEMS], `batch ${k} (answered ${outcome[k]}) has ${perBatch[k]} nodes`).toContain(perBatch[k]);
      if (outcome[k] === 200) expect(perBatch[k], `answered batch ${k} is kept`).toBe(ITEMS);
    }
    console.log(`chaos: batches answered ${outcome.filter((o) => o === 200).length}, cut ${outcome.filter((o) => o === 'cut').length}, kept after restart ${perBatch.filter((n) => n === ITEMS).length} of ${BATCHES}`);
    expect(await c.stop()).toBe(0);
    current = null;
    passed++;
  });
});
