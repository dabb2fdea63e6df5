// Several instances of the same build on one PostgreSQL database and one S3 bucket (issue 12): two `ROLE=api`
// processes (A, B) and one `ROLE=worker` process (W), each the compiled server (test/support/binary.ts) with its own
// PORT and DATA_DIR, with STORAGE=s3 on an S3 server started here (s3rver) and SMTP_URL to an SMTP server started here.
//
// The database is a scratch database created for this file and dropped after it, on the PostgreSQL server of
// TEST_DATABASE_URL when it is set, else on postgres://postgres@127.0.0.1:5432 (MULTI_INSTANCE_PG_ADMIN_URL
// overrides the admin connection). It is never TEST_DATABASE_URL's own database: the shared test env's in-process
// runner works on that one and would claim these tasks while the worker is meant to be stopped. Without a
// reachable PostgreSQL the file is skipped, except in CI (CI=true), where that is a failure.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import S3rver from 's3rver';
import type { SMTPServer } from 'smtp-server';
import { encodePng } from '../src/engine/local';
import { resetCodeIn } from './support/mail';
import { pgAdminUrl, postgresReachable } from './support/pg';
import { type ReceivedMail, startSmtp } from './support/env';
import { type ServerProcess, spawnServer } from './support/server-process';

setDefaultTimeout(60_000);

const JWT_SECRET = 'multi-instance-secret-0123456789-abcdefgh';
const BUCKET = 'aigc-multi';
const PASSWORD = 'User@1234';
const START_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: a scratch database

const ADMIN_URL = pgAdminUrl();
const DB_NAME = `aigc_multi_${process.pid}_${Date.now().toString(36)}`;
const DATABASE_URL = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
})();

const reachable = await postgresReachable(ADMIN_URL);
if (!reachable) {
  if (process.env.CI) throw new Error(`multi-instance test: PostgreSQL is not reachable at ${ADMIN_URL}`);
  console.warn(`multi-instance test skipped: PostgreSQL is not reachable at ${ADMIN_URL}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The instances

interface Instance extends ServerProcess {
  name: string;
  role: 'api' | 'worker';
  dataDir: string;
}

const work = mkdtempSync(join(tmpdir(), 'aigc-multi-'));
const logsDir = join(work, 'logs');
mkdirSync(logsDir);
const instances: Instance[] = [];
let s3port = 0;
let smtpPort = 0;

/** Everything an instance is configured with: nothing inherited but PATH, HOME and TMPDIR. */
function instanceEnv(role: Instance['role'], dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? work,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    ROLE: role,
    DATA_DIR: dataDir,
    DATABASE_URL,
    JWT_SECRET,
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: `http://127.0.0.1:${s3port}`,
    S3_REGION: 'us-east-1',
    // s3rver's fixed credentials
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    FORGOT_PER_IP_PER_MINUTE: '3',
    WORKERS: '1',
    TASK_POLL: '1s',
    USER_MAX_ACTIVE_TASKS: '0',
  };
}

const logsOf = (inst: Instance) => `--- ${inst.name} (${inst.role})\n${inst.output().split('\n').slice(-30).join('\n')}`;

let starts = 0;
async function start(name: string, role: Instance['role'], dataDir = mkdtempSync(join(work, `${name}-data-`))): Promise<Instance> {
  const server = await spawnServer({
    env: instanceEnv(role, dataDir),
    logFile: join(logsDir, `${name}-${++starts}.log`),
    ready: '/readyz',
    timeoutMs: START_TIMEOUT_MS,
  });
  const inst: Instance = { ...server, name, role, dataDir };
  instances.push(inst);
  return inst;
}

/** SIGTERM, as an orchestrator stops a container: the instance drains and exits 0. */
const stop = (inst: Instance): Promise<number> => inst.stop();

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  bytes: Uint8Array;
}

async function api(
  inst: Instance,
  method: string,
  path: string,
  o: { token?: string; json?: unknown; bytes?: Uint8Array; type?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: RequestInit['body'];
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] = 'application/json';
  } else if (o.bytes) {
    body = o.bytes;
    headers['content-type'] = o.type ?? 'application/octet-stream';
  }
  const res = await fetch(`${inst.base}${path}`, { method, headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, body: isJson ? JSON.parse(new TextDecoder().decode(bytes)) : null, bytes };
}

let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Registers on one instance and logs in on another. */
async function newUser(registerOn: Instance, loginOn: Instance) {
  const account = uniq('mi');
  const email = `${account}@example.com`;
  const reg = await api(registerOn, 'POST', '/api/v1/auth/register', { json: { account, email, password: PASSWORD } });
  expect(reg.body.code).toBe(200);
  const token = await login(loginOn, account);
  return { account, email, token };
}

async function login(inst: Instance, account: string, password = PASSWORD): Promise<string> {
  const res = await api(inst, 'POST', '/api/v1/auth/login', { json: { account, password } });
  expect(res.body.code).toBe(200);
  return res.body.data.token;
}

async function poll(inst: Instance, token: string, taskId: string) {
  const res = await api(inst, 'GET', `/api/v1/generation/${taskId}`, { token });
  expect(res.body.code).toBe(200);
  return res.body.data;
}

async function waitDone(inst: Instance, token: string, taskId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await poll(inst, token, taskId);
    if (data.status !== 'processing') return data;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still processing after ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

/** A live event stream read as a browser's fetch-based reader does: one parsed `data:` JSON per event. */
async function openEvents(inst: Instance, token: string, taskId: string) {
  const res = await fetch(`${inst.base}/api/v1/generation/${taskId}/events`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type') ?? '').toStartWith('text/event-stream');
  const reader = res.body!.getReader();
  const events: { at: number; data: any }[] = [];
  const state = { ended: false };
  const done = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) events.push({ at: Date.now(), data: JSON.parse(data) });
      }
    }
    state.ended = true;
  })();
  return {
    events,
    get ended() {
      return state.ended;
    },
    async until(pred: () => boolean, timeoutMs: number, what: string) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`events: ${what} not seen in ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.data))}`);
        await Bun.sleep(20);
      }
    },
    async close() {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(dir, p)).isFile());
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------------------------
// Set-up: database, S3, SMTP, A + B + W

let s3: S3rver | null = null;
let smtp: SMTPServer | null = null;
const mails: ReceivedMail[] = [];
let A: Instance;
let B: Instance;
let W: Instance;
let dbCreated = false;

describe.skipIf(!reachable)('several instances: two api + one worker on one database and one bucket', () => {
  beforeAll(async () => {
    const t0 = performance.now();
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${DB_NAME}`);
    dbCreated = true;
    await admin.end();

    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(work, 's3'),
      configureBuckets: [{ name: BUCKET }],
    });
    s3port = ((await s3.run()) as { port: number }).port;

    ({ server: smtp, port: smtpPort } = await startSmtp(mails));

    // A migrates the new database first; B and W start together (their migrations find nothing to do)
    A = await start('api-a', 'api');
    [B, W] = await Promise.all([start('api-b', 'api'), start('worker', 'worker')]);
    console.log(`multi-instance: database, S3, SMTP and 3 instances ready in ${Math.round(performance.now() - t0)} ms`);
  });

  afterAll(async () => {
    const failed = instances.filter((i) => i.proc.exitCode === null);
    await Promise.all(failed.map((i) => stop(i)));
    if (process.env.MULTI_INSTANCE_LOGS) for (const i of instances) console.log(logsOf(i));
    await s3?.close().catch(() => {});
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    if (dbCreated) {
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`).catch((e) => console.error('drop database failed', e));
      await admin.end();
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('the worker answers only /healthz and /readyz; the api instances serve the API', async () => {
    expect((await api(W, 'GET', '/healthz')).body).toEqual({ code: 200, message: 'ok' });
    expect((await api(W, 'GET', '/readyz')).body).toEqual({ code: 200, message: 'ok' });
    for (const [method, path] of [['POST', '/api/v1/auth/login'], ['GET', '/swagger'], ['GET', '/api/v1/user/generation_list']]) {
      const res = await api(W, method, path, { json: method === 'POST' ? { account: 'x', password: 'y' } : undefined });
      expect(res.status, path).toBe(404);
      expect(res.body.code, path).toBe(404);
    }
    for (const inst of [A, B]) {
      const spec = await api(inst, 'GET', '/swagger/json');
      expect(spec.status).toBe(200);
      expect(spec.body.paths['/api/v1/generation/{taskId}/events']).toBeDefined();
    }
  });

  let user: { account: string; email: string; token: string };
  let video: any;

  test('an upload on A, tasks created on B wait while no worker runs, live events on A, then the worker starts and they finish', async () => {
    user = await newUser(A, B); // registered on A, token issued by B: one secret, one database
    const png = await encodePng({
      width: 64,
      height: 48,
      data: new Uint8Array(64 * 48 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256)),
    });
    const up = await api(A, 'POST', '/api/v1/upload', { token: user.token, bytes: png, type: 'image/png' });
    expect(up.body.code).toBe(200);
    const ref = up.body.data;
    // the upload is in the bucket: B serves the same bytes
    const back = await api(B, 'GET', ref.file_url, { token: user.token });
    expect(back.status).toBe(200);
    expect(sha256(back.bytes)).toBe(sha256(png));

    expect(await stop(W)).toBe(0);
    const created = await api(B, 'POST', '/api/v1/generation', {
      token: user.token,
      json: { type: 'i2v', prompt: 'slow zoom', images: [ref.file_id], parameters: { duration: 1, fps: 8, width: 96, height: 96 } },
    });
    expect(created.body.code).toBe(200);
    const videoId = created.body.data.task_id;
    const second = await api(B, 'POST', '/api/v1/generation', {
      token: user.token,
      json: { type: 't2i', prompt: 'a lighthouse at dusk', parameters: { width: 96, height: 64 } },
    });
    expect(second.body.code).toBe(200);
    const imageId = second.body.data.task_id;

    const stream = await openEvents(A, user.token, videoId);
    await stream.until(() => stream.events.length >= 1, 2000, 'the first event');
    expect(stream.events[0].data).toMatchObject({ task_id: videoId, status: 'processing' });
    expect(stream.events[0].data).toEqual(await poll(A, user.token, videoId));

    // two API instances and no worker: nothing generates, and the stream stays quiet
    await Bun.sleep(1500);
    for (const inst of [A, B]) {
      expect((await poll(inst, user.token, videoId)).status).toBe('processing');
      expect((await poll(inst, user.token, imageId)).status).toBe('processing');
    }
    expect(stream.events).toHaveLength(1);

    // a worker starts (the same DATA_DIR, as a restarted container): both tasks finish; A's stream follows the worker
    const restarted = Date.now();
    W = await start('worker', 'worker', W.dataDir);
    const ready = Date.now();
    await stream.until(() => stream.ended, 30_000, 'the end of the stream');
    if (process.env.MULTI_INSTANCE_DEBUG) {
      console.log(`worker ready after ${ready - restarted} ms; events at`, stream.events.map((e) => [e.at - restarted, e.data.status, e.data.progress]));
      console.log('poll', await poll(B, user.token, videoId));
    }
    const statuses = stream.events.map((e) => e.data.status);
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses.slice(0, -1).every((s) => s === 'processing')).toBe(true);
    expect(stream.events.length).toBeGreaterThanOrEqual(2);
    video = stream.events.at(-1)!.data;
    // each event is the poll's data; the last one equals what B answers now
    expect(video).toEqual(await poll(B, user.token, videoId));
    const progress = stream.events.map((e) => e.data.progress).filter((p) => typeof p === 'number');
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect((await waitDone(B, user.token, imageId)).status).toBe('completed');
    await stream.close();
  });

  test('the result from A and from B: the same bytes, type and length, and the same Range answers', async () => {
    const [a, b] = await Promise.all([A, B].map((inst) => api(inst, 'GET', video.result_url, { token: user.token })));
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('video/mp4');
      expect(Number(r.headers.get('content-length'))).toBe(r.bytes.byteLength);
    }
    expect(a.bytes.byteLength).toBeGreaterThan(1000);
    expect(sha256(a.bytes)).toBe(sha256(b.bytes));
    const range = { range: 'bytes=100-599' };
    const [ra, rb] = await Promise.all([A, B].map((inst) => api(inst, 'GET', video.result_url, { token: user.token, headers: range })));
    for (const r of [ra, rb]) {
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes 100-599/${a.bytes.byteLength}`);
      expect(Number(r.headers.get('content-length'))).toBe(500);
      expect(sha256(r.bytes)).toBe(sha256(a.bytes.subarray(100, 600)));
    }
    const tail = await api(B, 'GET', video.result_url, { token: user.token, headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(sha256(tail.bytes)).toBe(sha256(a.bytes.subarray(-10)));
    // another user may not read it on either instance
    const other = await newUser(B, A);
    for (const inst of [A, B]) expect((await api(inst, 'GET', video.result_url, { token: other.token })).status).toBe(404);
  });

  test('a session ended on one instance is refused by the other at once (well within 1 s)', async () => {
    const u = await newUser(A, A);
    const second = await login(B, u.account);
    // both instances have verified (and cached) the token's signature
    for (const inst of [A, B]) expect((await api(inst, 'GET', '/api/v1/user/sessions', { token: u.token })).status).toBe(200);
    expect((await api(A, 'POST', '/api/v1/auth/logout', { token: u.token })).body.code).toBe(200);
    /** ms until `token` is refused (HTTP 401) by `inst`, asking again at once; -1 when still accepted after 1 s */
    const refusedWithin = async (inst: Instance, token: string) => {
      const t0 = performance.now();
      while (performance.now() - t0 < 1000) {
        if ((await api(inst, 'GET', '/api/v1/user/sessions', { token })).status === 401) return performance.now() - t0;
      }
      return -1;
    };
    const refusedAfter = await refusedWithin(B, u.token);
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(refusedAfter).toBeLessThan(1000);
    // the hot poll route (signature from the cache, session checked in its own query) refuses it too
    expect((await api(B, 'GET', '/api/v1/generation/task_00000000000000000000', { token: u.token })).status).toBe(401);
    // the other session lives on, on both instances; ending it from B is seen by A
    const sessions = await api(A, 'GET', '/api/v1/user/sessions', { token: second });
    expect(sessions.body.data).toHaveLength(1);
    const id = sessions.body.data[0].id ?? sessions.body.data[0].session_id;
    const third = await login(A, u.account);
    expect((await api(B, 'DELETE', `/api/v1/user/sessions/${id}`, { token: third })).body.code).toBe(200);
    // A learns it by NOTIFY, like the logout above: A had just served `second` from memory, so its next request may
    // come before the notification (seen once under load); refused within the second all the same
    const endedAfter = await refusedWithin(A, second);
    expect(endedAfter).toBeGreaterThanOrEqual(0);
    expect(endedAfter).toBeLessThan(1000);
  });

  test('the forgot-password limits hold across instances: one mail per address, the per-IP count is shared', async () => {
    const u = await newUser(B, B);
    const first = await api(A, 'POST', '/api/v1/auth/forgot-password', { json: { email: u.email } });
    expect(first.body.code).toBe(200);
    // the same address on the other instance within 60 s: HTTP 200, code 429, and no second mail
    const again = await api(B, 'POST', '/api/v1/auth/forgot-password', { json: { email: u.email } });
    expect(again.status).toBe(200);
    expect(again.body.code).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(50);
    await Bun.sleep(300);
    const sent = mails.filter((m) => m.to.includes(u.email.toLowerCase()));
    expect(sent).toHaveLength(1);
    // the per-IP limit (FORGOT_PER_IP_PER_MINUTE=3): requests 1 and 2 above, 3 on A, the 4th is refused by B
    expect((await api(A, 'POST', '/api/v1/auth/forgot-password', { json: { email: `${uniq('ghost')}@example.com` } })).status).toBe(200);
    const limited = await api(B, 'POST', '/api/v1/auth/forgot-password', { json: { email: `${uniq('ghost')}@example.com` } });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // the code mailed by A's request resets the password on B, which ends every session on every instance
    const reset = await api(B, 'POST', '/api/v1/auth/reset-password', {
      json: { email: u.email, verification_code: resetCodeIn(sent[0].raw), new_password: 'Newpass123' },
    });
    expect(reset.body.code).toBe(200);
    expect((await api(A, 'GET', '/api/v1/user/sessions', { token: u.token })).status).toBe(401);
    await login(A, u.account, 'Newpass123');
  });

  test('nothing was written under any DATA_DIR; the files are in the bucket, byte for byte', async () => {
    for (const inst of instances) {
      expect(filesUnder(join(inst.dataDir, 'files')), `${inst.name} DATA_DIR/files`).toEqual([]);
      expect(filesUnder(inst.dataDir), `${inst.name} DATA_DIR`).toEqual([]);
    }
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const [task] = await sql<{ result_key: string }[]>`select result_key from tasks where id = ${video.task_id}`;
      const [upload] = await sql<{ key: string }[]>`select key from files limit 1`;
      const bucket = new Bun.S3Client({
        bucket: BUCKET,
        endpoint: `http://127.0.0.1:${s3port}`,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
      });
      const stored = await bucket.file(task.result_key).bytes();
      const served = await api(A, 'GET', video.result_url, { token: user.token });
      expect(sha256(stored)).toBe(sha256(served.bytes));
      expect(await bucket.file(upload.key).exists()).toBe(true);
    } finally {
      await sql.end();
    }
  });
});
