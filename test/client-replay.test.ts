// The real desktop client's two builds (A = ea888a6, L = e33ac15), replayed over real HTTP against a listening server,
// plus per-login sessions as that client meets them. See test/support/client-replay.ts for what each build sends.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client';
import { files, users } from '../src/db/schema';
import { type Build, QtClient, type ReplayLog, replayBuild } from './support/client-replay';
import { testEnv, type TestEnv } from './support/env';
import { call, newUser } from './support/http';
import { probeVideo } from './support/ffprobe';
import { mp4Info, pngSize } from './support/media';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const FIXTURE = join(import.meta.dir, 'fixtures', 'sample.jpg');

let env: TestEnv;
let server: ReturnType<typeof Bun.serve>;
let origin: string;
let appServer: unknown;

beforeAll(async () => {
  env = await testEnv();
  server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (r) => env.app.handle(r) });
  // Elysia's handlers read the client address through `server` (as src/server.ts does); restored afterwards
  appServer = (env.app as any).server;
  (env.app as any).server = server;
  origin = `http://127.0.0.1:${server.port}`;
  await env.replacePool({ size: 1 });
});

afterAll(async () => {
  (env.app as any).server = appServer;
  server.stop(true);
  await env.replacePool();
});

// ---------------------------------------------------------------------------------------------------------------

/** Records raw requests on a bare TCP socket and answers each with a code-200 envelope. */
async function recordRequests(run: (origin: string) => Promise<void>) {
  const got: { head: string; body: Buffer }[] = [];
  const answer = '{"code": 200, "message": "ok", "data": {}}';
  const listener = Bun.listen<{ buf: Buffer }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0) };
      },
      data(s, chunk) {
        s.data.buf = Buffer.concat([s.data.buf, chunk]);
        for (;;) {
          const end = s.data.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = s.data.buf.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (s.data.buf.length < end + 4 + length) return;
          got.push({ head, body: Buffer.from(s.data.buf.subarray(end + 4, end + 4 + length)) });
          s.data.buf = s.data.buf.subarray(end + 4 + length);
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`);
        }
      },
    },
  });
  try {
    await run(`http://127.0.0.1:${listener.port}`);
  } finally {
    listener.stop(true);
  }
  return got;
}

/**
 * Header lines without those the transport adds (Host, Content-Length) and fetch's own Accept, sorted: fetch sends
 * headers in name order whatever order they are given in (Qt: the app's, then Content-Length, Connection, ...).
 */
const appHeaders = (head: string) =>
  head
    .split('\r\n')
    .slice(1)
    .filter((l) => !/^(host|content-length|accept):/i.test(l))
    .sort();
const sorted = (lines: string[]) => [...lines].sort();

describe('wire format: the replay sends what the captured Qt client sent', () => {
  const QT = ['Connection: Keep-Alive', 'Accept-Encoding: zstd, br, gzip, deflate', 'Accept-Language: en-US,*', 'User-Agent: Mozilla/5.0'];
  const batch =
    '{"items": [{"parent_id": 1, "name": "A", "node_type": "folder", "temp_id": 2}, {"name": "c.png", "node_type": "file", ' +
    '"refer_url": "/generated_outputs/c.png", "temp_id": 3, "parent_temp_id": 2}]}';

  for (const build of ['A', 'L'] as Build[]) {
    test(`build ${build}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wire-'));
      const cjk = join(dir, '猫 图.png');
      copyFileSync(FIXTURE, cjk);
      const got = await recordRequests(async (o) => {
        const c = new QtClient(build, `${o}/api/v1`);
        await c.send('register', 'POST', '/auth/register', { account: 'alice', email: 'a@x.io', password: 'P@ss1' });
        await c.send('login', 'POST', '/auth/login', { account: 'alice', password: 'P@ss1' });
        c.token = 'TOK1';
        await c.send('upload', 'POST', '/upload', FIXTURE);
        await c.send('upload', 'POST', '/upload', cjk);
        await c.send('generation', 'POST', '/generation', { type: 'i2i', prompt: '油画', parameters: {}, image: 'ref_1' });
        await c.send('poll', 'GET', '/generation/task_1');
        await c.send('download', 'GET', c.downloadEndpoint('/generated_outputs/x.png')!);
        await c.send('history', 'GET', '/user/generation_list');
        await c.send('fav delete', 'DELETE', '/user/favorite_list/7');
        await c.send('batch', 'POST', '/user/favorite_list/batch', JSON.parse(batch));
      });
      rmSync(dir, { recursive: true, force: true });
      expect(got.map((r) => r.head.split('\r\n')[0])).toEqual([
        'POST /api/v1/auth/register HTTP/1.1',
        'POST /api/v1/auth/login HTTP/1.1',
        'POST /api/v1/upload HTTP/1.1',
        'POST /api/v1/upload HTTP/1.1',
        'POST /api/v1/generation HTTP/1.1',
        'GET /api/v1/generation/task_1 HTTP/1.1',
        build === 'A' ? 'GET /generated_outputs/x.png HTTP/1.1' : 'GET /api/v1/generated_outputs/x.png HTTP/1.1',
        'GET /api/v1/user/generation_list HTTP/1.1',
        'DELETE /api/v1/user/favorite_list/7 HTTP/1.1',
        'POST /api/v1/user/favorite_list/batch HTTP/1.1',
      ]);
      const json = ['Content-Type: application/json'];
      const bearer = ['Authorization: Bearer TOK1'];
      const noBody = build === 'A' ? [...json, ...bearer, ...QT] : [...bearer, ...QT];
      const [reg, login, up1, up2, gen, poll, dl, hist, del, bat] = got;
      expect(appHeaders(reg.head)).toEqual(sorted([...json, ...QT]));
      expect(reg.body.toString()).toBe('{"account": "alice", "email": "a@x.io", "password": "P@ss1"}');
      expect(appHeaders(login.head)).toEqual(sorted([...json, ...QT]));
      expect(login.body.toString()).toBe('{"account": "alice", "password": "P@ss1"}');
      expect(appHeaders(gen.head)).toEqual(sorted([...json, ...bearer, ...QT]));
      expect(gen.body.toString()).toBe('{"type": "i2i", "prompt": "\\u6cb9\\u753b", "parameters": {}, "image": "ref_1"}');
      for (const r of [poll, dl, hist, del]) {
        expect(appHeaders(r.head)).toEqual(sorted(noBody));
        expect(r.body.byteLength).toBe(0);
      }
      for (const r of [poll, dl, hist]) expect(r.head).not.toMatch(/content-length/i); // as Qt; a DELETE gets "0" from fetch
      expect(appHeaders(bat.head)).toEqual(sorted([...json, ...bearer, ...QT]));
      expect(bat.body.toString()).toBe(batch);
      for (const r of [reg, login, gen, bat]) expect(r.head).toContain(`\r\nContent-Length: ${r.body.byteLength}`);

      if (build === 'A') {
        // the local path as a JSON string, never the file's bytes
        for (const r of [up1, up2]) expect(appHeaders(r.head)).toEqual(sorted([...json, ...bearer, ...QT]));
        expect(up1.body.toString()).toBe(JSON.stringify(FIXTURE));
        expect(up2.body.toString()).toBe(`"${dir}/\\u732b \\u56fe.png"`);
        return;
      }
      const bytes = readFileSync(FIXTURE);
      for (const [r, filename, type] of [[up1, 'sample.jpg', 'image/jpeg'], [up2, '猫 图.png', 'image/png']] as const) {
        const lines = appHeaders(r.head);
        const ct = lines.find((l) => l.startsWith('Content-Type: ')) ?? '';
        expect(lines.filter((l) => l !== ct)).toEqual(sorted([...bearer, 'MIME-Version: 1.0', ...QT]));
        const boundary = /^Content-Type: multipart\/form-data; boundary="(boundary_\.oOo\._[A-Za-z0-9+/]{32})"$/.exec(ct)?.[1];
        expect(boundary).toBeDefined();
        expect(boundary).toMatch(/\//);
        expect(boundary).toMatch(/\+/);
        const expected = Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`, 'utf8'),
          bytes,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        expect(Buffer.compare(r.body, expected)).toBe(0);
      }
      // the non-ASCII filename goes out as raw UTF-8 bytes
      expect(up2.body.includes(Buffer.from([0xe7, 0x8c, 0xab, 0x20, 0xe5, 0x9b, 0xbe]))).toBe(true);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

const logs: Partial<Record<Build, ReplayLog>> = {};

/** The failure message with the step log, so a failing replay shows where it stopped. */
async function replay(build: Build) {
  try {
    // the client's own 3 s timeout; its poll timer at 250 ms instead of 2 s: the same requests, without up to 2 s
    // idle after each task finishes. One engine worker (beforeAll): the client's default video alone keeps every
    // worker busy when the probe's POST /generation is sent, without a second 512² video to render
    return await replayBuild(build, origin, { pollIntervalMs: 250, busyTasks: 0 });
  } catch (e) {
    const steps = ((e as { steps?: ReplayLog['steps'] }).steps ?? []).map(
      (s) => `${s.extra ? '  (extra) ' : '  '}${s.method} ${s.path} → HTTP ${s.status} code ${s.code} ${s.ms} ms  [${s.step}]`,
    );
    throw new Error(`${(e as Error).message}\n${steps.join('\n')}`);
  }
}

function checkSteps(log: ReplayLog) {
  expect(log.steps.length).toBeGreaterThan(30);
  for (const s of log.steps) {
    const label = `${s.step}: ${s.method} ${s.path}`;
    expect({ label, fast: s.ms < 3000 }).toEqual({ label, fast: true });
    if (s.expectStatus !== undefined) expect({ label, status: s.status }).toEqual({ label, status: s.expectStatus });
    else expect({ label, status: s.status >= 200 && s.status < 300 }).toEqual({ label, status: true });
    if (s.expectCode !== undefined) expect({ label, code: s.code }).toEqual({ label, code: s.expectCode });
  }
  // the client's own requests come in this order (first occurrences)
  const order = [...new Set(log.steps.filter((s) => !s.extra).map((s) => s.step))];
  const want = [
    'register',
    'login',
    'main window: history',
    'main window: favorites',
    ...(log.build === 'A' ? ['upload (path as JSON string)', 'upload (non-ASCII path)'] : ['upload (multipart)']),
    'generate t2i',
    'poll t2i',
    'download t2i',
    ...(log.build === 'L' ? ['upload (multipart, non-ASCII filename)', 'generate i2i', 'poll i2i', 'download i2i'] : []),
    'generate t2v',
  ];
  expect(order.slice(0, want.length)).toEqual(want);
  for (const step of ['favorites: import an exported folder', 'history: delete record', 'change password', 'change e-mail', 'forgot password again', 'fresh install: download']) {
    expect(order).toContain(step);
  }
}

async function userId(account: string) {
  const [u] = await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, account));
  return u.id;
}

describe('the two client builds, replayed over HTTP', () => {
  test('build A (ea888a6)', async () => {
    const log = (logs.A = await replay('A'));
    checkSteps(log);
    const at = (step: string) => log.steps.filter((s) => s.step === step);
    // the path upload is refused (HTTP 200, code 400) and nothing was stored
    expect(at('upload (path as JSON string)').map((s) => [s.status, s.code])).toEqual([[200, 400]]);
    const stored = await env.database.db.select({ n: sql<number>`count(*)::int` }).from(files).where(eq(files.userId, await userId(log.account)));
    expect(stored[0].n).toBe(0);
    // the root export keeps the root as parent: the batch is refused and nothing is written (checked by the replay)
    expect(at('favorites: import a root export (dangling parent_temp_id)').map((s) => s.code)).toEqual([400]);
    // A: GET/DELETE carry Content-Type: application/json; results come from the host root
    for (const d of log.downloads) expect(d.path).toStartWith('/generated_outputs/');
    expect(at('history: delete record')[0].method).toBe('POST');
  }, 240_000);

  test('build L (e33ac15)', async () => {
    const log = (logs.L = await replay('L'));
    checkSteps(log);
    const at = (step: string) => log.steps.filter((s) => s.step === step);
    expect(at('upload (multipart)').map((s) => s.code)).toEqual([200]);
    expect(at('upload (multipart, non-ASCII filename)').map((s) => s.code)).toEqual([200]);
    const stored = await env.database.db.select({ n: sql<number>`count(*)::int` }).from(files).where(eq(files.userId, await userId(log.account)));
    expect(stored[0].n).toBe(2);
    // i2i works on the uploaded 48×32 JPEG
    const i2i = log.downloads.find((d) => d.taskId === log.tasks.i2i)!;
    expect(pngSize(i2i.bytes)).toEqual({ width: 48, height: 32 });
    // L: /api/v1 in front of the result path
    for (const d of log.downloads) expect(d.path).toStartWith('/api/v1/generated_outputs/');
    expect(at('history: delete record')[0].method).toBe('DELETE');
  }, 240_000);

  test('what both replays produced', async () => {
    for (const log of [logs.A!, logs.L!]) {
      // t2i at the default 1024×1024, t2v the default video (4 s at 24 fps, 512×512, H.264: the client sends no
      // parameters), each downloaded within 3 s
      const t2i = log.downloads.find((d) => d.taskId === log.tasks.t2i)!;
      expect(t2i.contentType).toBe('image/png');
      expect(pngSize(t2i.bytes)).toEqual({ width: 1024, height: 1024 });
      const t2v = log.downloads.find((d) => d.taskId === log.tasks.t2v)!;
      expect(t2v.contentType).toBe('video/mp4');
      const info = mp4Info(t2v.bytes);
      expect(info.codec).toBe('avc1');
      expect(info.seconds).toBeCloseTo(4, 1);
      expect(info.sampleCount).toBe(96);
      expect([info.width, info.height]).toEqual([512, 512]);
      expect(info.children).toContain('avcC');
      expect(info.top.indexOf('moov'), 'faststart: moov before mdat').toBeLessThan(info.top.indexOf('mdat'));
      // what a decoder makes of it (the engine's default video end to end: test/engine.test.ts renders no other)
      expect(await probeVideo(t2v.bytes)).toEqual({ frames: 96, codec: 'h264', width: 512, height: 512 });
      // the probe's POST /generation was answered while earlier videos were still processing
      expect(log.busyAtProbe).toBe(true);
      // forgot-password: one mail for two requests, to the changed address
      expect(env.mails.filter((m) => m.to.includes(log.email.toLowerCase())).length).toBe(1);
    }
    // result basenames are unique across users
    const names = [logs.A!, logs.L!].flatMap((l) => [...new Set(l.downloads.map((d) => d.path.split('/').pop()))]);
    expect(new Set(names).size).toBe(names.length);
  });
});

// ---------------------------------------------------------------------------------------------------------------

let seq = 0;

/** A new account, registered the way the client does it. */
async function newAccount() {
  const account = `sess${Date.now().toString(36)}${seq++}`;
  await new QtClient('L', origin).call('register', 'POST', '/auth/register', { account, email: `${account}@example.com`, password: 'User@1234' });
  return { account, password: 'User@1234' };
}

/** One login = one client install (and one session). */
async function loginAs(build: Build, u: { account: string; password: string }) {
  const c = new QtClient(build, origin);
  const res = await c.call('login', 'POST', '/auth/login', { account: u.account, password: u.password });
  c.token = res.data.token;
  return c;
}

const works = (c: QtClient) => c.call('history', 'GET', '/user/generation_list');
const refused = (c: QtClient, endpoint = '/user/generation_list') => c.send('refused', 'GET', endpoint, null, { extra: true, status: 401 });

/** The caller's sessions, and the id of its own. */
async function sessionsOf(c: QtClient) {
  const list = (await c.call('sessions', 'GET', '/user/sessions', null, { extra: true })).data as {
    id: string;
    current: boolean;
    user_agent: string | null;
    ip: string | null;
  }[];
  const own = list.filter((s) => s.current);
  expect(own.length).toBe(1);
  return { list, own: own[0].id };
}

describe('per-login sessions, as the client meets them', () => {
  test('change password from one login: the other login is HTTP 401 (poll too), the caller keeps its old token', async () => {
    const u = await newAccount();
    const a = await loginAs('A', u);
    const l = await loginAs('L', u);
    const task = (await l.call('generate', 'POST', '/generation', { type: 't2i', prompt: '会话测试', parameters: {} })).data.task_id;
    await a.call('change password', 'POST', '/user/reset-password', { old_password: u.password, new_password: 'User@5678' });
    await works(a);
    await a.call('favorites', 'GET', '/user/favorite_list');
    await refused(l);
    await refused(l, `/generation/${task}`);
    await loginAs('L', { ...u, password: 'User@5678' });
  });

  test('logout ends the calling session only', async () => {
    const u = await newAccount();
    const a = await loginAs('A', u);
    const b = await loginAs('L', u);
    await a.call('logout', 'POST', '/auth/logout', null, { extra: true });
    await refused(a);
    await refused(a, '/user/favorite_list');
    await works(b);
  });

  test('the session list marks the current one and records the User-Agent; one can be ended by id', async () => {
    const u = await newAccount();
    const a = await loginAs('A', u);
    const b = await loginAs('L', u);
    const seenByA = await sessionsOf(a);
    const seenByB = await sessionsOf(b);
    expect(seenByA.list.length).toBe(2);
    expect(seenByA.own).not.toBe(seenByB.own);
    expect(seenByA.list.map((s) => s.id).sort()).toEqual(seenByB.list.map((s) => s.id).sort());
    for (const s of seenByA.list) {
      expect(s.user_agent).toBe('Mozilla/5.0');
      expect(s.ip).toContain('127.0.0.1');
    }
    const ended = await a.call('end session', 'DELETE', `/user/sessions/${seenByB.own}`, null, { extra: true });
    expect(ended.data).toEqual({ id: seenByB.own, current: false });
    await refused(b);
    await works(a);
    expect((await sessionsOf(a)).list.map((s) => s.id)).toEqual([seenByA.own]);
  });

  test("another user's session id is code 400 and ends nothing", async () => {
    const mine = await loginAs('L', await newAccount());
    const theirs = await loginAs('L', await newAccount());
    const target = (await sessionsOf(theirs)).own;
    await mine.call('end session', 'DELETE', `/user/sessions/${target}`, null, { extra: true, code: 400 });
    await works(theirs);
    expect((await sessionsOf(theirs)).list.map((s) => s.id)).toEqual([target]);
    expect((await sessionsOf(mine)).list.length).toBe(1);
  });

  test('a token from before its session ended is HTTP 401 on the poll endpoint and for result files', async () => {
    const c = await loginAs('L', await newAccount());
    const task = (await c.call('generate', 'POST', '/generation', { type: 't2i', prompt: '旧令牌', parameters: {} })).data.task_id;
    let done: any;
    for (let i = 0; i < 100 && done?.status !== 'completed'; i++) {
      done = (await c.call('poll', 'GET', `/generation/${task}`)).data;
      if (done.status !== 'completed') await Bun.sleep(200);
    }
    expect(done.status).toBe('completed');
    await c.send('download', 'GET', c.downloadEndpoint(done.result_url)!);
    const own = (await sessionsOf(c)).own;
    expect((await c.call('end own session', 'DELETE', `/user/sessions/${own}`, null, { extra: true })).data.current).toBe(true);
    await refused(c, `/generation/${task}`);
    await refused(c);
    await refused(c, c.downloadEndpoint(done.result_url)!);
    await c.send('download (host root)', 'GET', done.result_url, null, { extra: true, status: 401, url: origin + done.result_url });
  });
});

describe('sessions do not grow without bound', () => {
  test('expired sessions are not listed and are deleted by housekeeping; live ones stay', async () => {
    const env = await testEnv();
    const u = await newUser('purge');
    const { housekeep } = await import('../src/ops/housekeeping');
    const count = async () =>
      rowsOf<{ n: number }>(
        await env.database.db.execute(sql`select count(*)::int as n from sessions s join users x on x.id = s.user_id where x.account = ${u.account}`),
      )[0].n;
    expect(await count()).toBe(1);
    // its session runs out (as it would 7 days after the login); other users' sessions are left alone
    await env.database.db.execute(
      sql`update sessions set expires_at = now() - interval '1 minute' where user_id = (select id from users where account = ${u.account})`,
    );
    expect((await call('GET', '/api/v1/user/sessions', { token: u.token })).status).toBe(401);
    const removed = await housekeep(env.database.db, env.clock, env.config.loginThrottle.windowMs);
    expect(removed.sessions).toBeGreaterThan(0);
    expect(await count()).toBe(0);
    // the token's signature is still valid: the session row decides
    expect((await call('GET', '/api/v1/user/sessions', { token: u.token })).status).toBe(401);
    const fresh = await newUser('purge2');
    await housekeep(env.database.db, env.clock, env.config.loginThrottle.windowMs);
    expect((await call('GET', '/api/v1/user/sessions', { token: fresh.token })).body.data).toHaveLength(1);
  });
});
