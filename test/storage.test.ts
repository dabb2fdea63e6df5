// Issue 12, storage drivers: one contract run against both (disk on a small tmpfs, S3 against a real
// S3-compatible server started here), the serving of a stored object over HTTP on both, the S3 configuration, and
// the whole flow on STORAGE=s3 (upload, generate, download with Range, S3_REDIRECT) with nothing under DATA_DIR.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { rowsOf } from '../src/db/client';
import { serveFile } from '../src/http/files';
import {
  createLocalStorage,
  createStorage,
  type Storage,
  StorageFullError,
  StorageNotFoundError,
  StorageUnavailableError,
} from '../src/storage';
import { testEnv } from './support/env';
import { call, newUser } from './support/http';
import { createTask, waitTask } from './support/tasks';
import { s3Storage, startProxy, startS3, type TestS3 } from './support/s3';
import { runCli, spawnServer } from './support/server-process';

// real generation on 2 cores and a spawned server; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const bytesOf = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255);
const same = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
const drain = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());
let keySeq = 0;
const newKey = (ext = 'png') => `outputs/t${Date.now().toString(36)}_${keySeq++}.${ext}`;

/** Every file under `dir` (relative paths), to prove that a flow wrote nothing there. */
const filesUnder = (dir: string) =>
  existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()).sort() : [];

interface Driver {
  name: string;
  storage: Storage;
  /** a put of `bytes` on the same store that fails half-way (the disk fills up / the connection drops) */
  failingPut(key: string, bytes: Uint8Array): Promise<unknown>;
  failure: new (...a: never[]) => Error;
  /** what storage-writer.ts needs to write here */
  writerSpec: unknown;
  /** waits until a spawned writer of `key` is half-way through its write */
  halfWay(key: string, child: { pid: number }): Promise<void>;
  /** temp files or parts that a killed writer may leave (never under the key) */
  leftovers(): string[];
}

let s3: TestS3;
const drivers: Driver[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  // disk: a 4 MB tmpfs, so that a bigger write runs out of space half-way
  const tiny = mkdtempSync(join(tmpdir(), 'storage-tiny-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4096k', 'tmpfs', tiny]);
  cleanups.push(() => {
    execFileSync('umount', [tiny]);
  });
  const diskRoot = join(tiny, 'files');
  const disk = createLocalStorage(diskRoot);
  // the killed writer writes to a real disk directory (big enough, and slow enough to be caught half-way)
  const killRoot = mkdtempSync(join(tmpdir(), 'storage-kill-'));
  cleanups.push(() => rmSync(killRoot, { recursive: true, force: true }));
  drivers.push({
    name: 'disk',
    storage: disk,
    failingPut: (key, bytes) => disk.put(key, bytes),
    failure: StorageFullError,
    writerSpec: { kind: 'disk', root: killRoot },
    async halfWay(key) {
      // a busy look at the temporary file's size (the kernel grows it page by page during the one big write(2)):
      // inotify would speak only once the write is over
      const dir = join(killRoot, key.split('/')[0]);
      mkdirSync(dir, { recursive: true });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        for (const f of readdirSync(dir)) {
          if (f.startsWith('.tmp-') && (statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0) > 0) return;
        }
      }
      throw new Error('the writer never started writing');
    },
    leftovers: () =>
      [diskRoot, killRoot]
        .filter((d) => existsSync(d))
        .flatMap((d) => readdirSync(d, { recursive: true }).map(String))
        .filter((f) => f.includes('.tmp-')),
  });

  s3 = await startS3();
  cleanups.push(() => s3.stop());
  const cut = await startProxy(s3.port, { cutAfter: 256 * 1024 });
  const slow = await startProxy(s3.port, { bytesPerTick: 32 * 1024 });
  cleanups.push(() => cut.stop(), () => slow.stop());
  const failing = s3Storage(s3, { endpoint: cut.endpoint });
  drivers.push({
    name: 's3',
    storage: s3Storage(s3),
    failingPut: (key, bytes) => failing.put(key, bytes),
    failure: StorageUnavailableError,
    writerSpec: { kind: 's3', settings: { ...s3.settings, endpoint: slow.endpoint } },
    async halfWay() {
      const start = slow.stats.forwarded;
      while (slow.stats.forwarded - start < 512 * 1024) await Bun.sleep(5);
    },
    leftovers: () => readdirSync(s3.dir, { recursive: true }).map(String).filter((f) => f.includes('.incoming-')),
  });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.each(['disk', 's3'])('storage contract: %s', (name) => {
  const d = () => drivers.find((x) => x.name === name)!;

  test('put, then get (size and stream), read and exists give the same bytes', async () => {
    const { storage } = d();
    const key = newKey();
    const bytes = bytesOf(300_000);
    await storage.put(key, bytes, { type: 'image/png' });
    expect(await storage.exists(key)).toBe(true);
    const object = (await storage.get(key))!;
    expect(object).not.toBeNull();
    expect(await object.size()).toBe(300_000);
    expect(same(await drain(object.stream()), bytes)).toBe(true);
    expect(same(await storage.read(key), bytes)).toBe(true);
    expect(object.redirectUrl()).toBeNull();
  });

  test('ranges: first byte, a middle span, the last byte, the whole object', async () => {
    const { storage } = d();
    const key = newKey('mp4');
    const bytes = bytesOf(100_000, 2);
    await storage.put(key, bytes);
    const object = (await storage.get(key))!;
    for (const [start, end] of [[0, 0], [10, 99], [65_536, 70_000], [99_999, 99_999], [0, 99_999]]) {
      expect(same(await drain(object.stream({ start, end })), bytes.subarray(start, end + 1))).toBe(true);
      expect(same(await object.bytes({ start, end }), bytes.subarray(start, end + 1))).toBe(true);
    }
    expect(same(await object.bytes(), bytes)).toBe(true);
  });

  test('an empty object has size 0 and an empty stream', async () => {
    const { storage } = d();
    const key = newKey();
    await storage.put(key, new Uint8Array(0));
    const object = (await storage.get(key))!;
    expect(await object.size()).toBe(0);
    expect((await drain(object.stream())).byteLength).toBe(0);
  });

  test('a missing key: get is null, exists is false, read is StorageNotFoundError, delete is fine', async () => {
    const { storage } = d();
    const key = newKey();
    expect(await storage.get(key)).toBeNull();
    expect(await storage.exists(key)).toBe(false);
    await expect(storage.read(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await storage.delete(key);
  });

  test('delete removes the object; a second put replaces the first whole', async () => {
    const { storage } = d();
    const key = newKey();
    await storage.put(key, bytesOf(5000, 3));
    await storage.put(key, bytesOf(1234, 4));
    expect(same(await storage.read(key), bytesOf(1234, 4))).toBe(true);
    const object = (await storage.get(key))!;
    expect(await object.size()).toBe(1234);
    await storage.delete(key);
    await expect(object.bytes()).rejects.toBeInstanceOf(StorageNotFoundError); // gone since it was looked up
    expect(await storage.get(key)).toBeNull();
    expect(await storage.exists(key)).toBe(false);
  });

  test('keys that could leave the store are refused', async () => {
    const { storage } = d();
    for (const key of ['../x.png', 'a/../../x.png', '/etc/x.png', 'a//b.png', 'a/b', 'a b.png', '']) {
      await expect(storage.put(key, new Uint8Array(1))).rejects.toThrow(/invalid storage key/);
      await expect(storage.get(key)).rejects.toThrow(/invalid storage key/);
      await expect(storage.delete(key)).rejects.toThrow(/invalid storage key/);
    }
  });

  test('a write that fails half-way leaves no object under the key, and an older object intact', async () => {
    const { storage, failingPut, failure, leftovers } = d();
    const key = newKey('mp4');
    const err = await failingPut(key, bytesOf(8 * 1024 * 1024)).catch((e) => e);
    expect(err).toBeInstanceOf(failure);
    expect(await storage.exists(key)).toBe(false);
    expect(await storage.get(key)).toBeNull();
    // over an existing object: the old one stays, whole
    const old = bytesOf(200_000, 5);
    await storage.put(key, old);
    expect(await failingPut(key, bytesOf(8 * 1024 * 1024, 6)).catch((e) => e)).toBeInstanceOf(failure);
    expect(same(await storage.read(key), old)).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  test('a writer killed half-way through leaves no object under the key', async () => {
    const driver = d();
    const key = newKey('mp4');
    const size = name === 'disk' ? 256 * 1024 * 1024 : 4 * 1024 * 1024;
    const child = Bun.spawn([process.execPath, join(import.meta.dir, 'support/storage-writer.ts'), JSON.stringify(driver.writerSpec), key, String(size)], {
      stdout: 'pipe',
      stderr: 'inherit',
    });
    await driver.halfWay(key, child);
    child.kill('SIGKILL');
    await child.exited;
    expect(await new Response(child.stdout).text()).not.toContain('done');
    await Bun.sleep(200); // whatever the server received is settled
    const spec = driver.writerSpec as { kind: string; root?: string };
    const view = spec.kind === 'disk' ? createLocalStorage(spec.root!) : driver.storage;
    expect(await view.exists(key)).toBe(false);
    expect(await view.get(key)).toBeNull();
    if (spec.kind === 'disk') {
      // the crash leaves its temporary file (never under a key); remove it
      const dir = join(spec.root!, key.split('/')[0]);
      for (const f of readdirSync(dir)) if (f.startsWith('.tmp-')) rmSync(join(dir, f));
    }
  });

  test('served over HTTP: Content-Type, Content-Length, Accept-Ranges, Range 206 and 416', async () => {
    const { storage } = d();
    const key = newKey('mp4');
    const bytes = bytesOf(10_000, 7);
    await storage.put(key, bytes, { type: 'video/mp4' });
    const serve = async (range?: string) => serveFile((await storage.get(key))!, 'video/mp4', range);
    const full = await serve();
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('content-length')).toBe('10000');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(same(new Uint8Array(await full.arrayBuffer()), bytes)).toBe(true);
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=9000-', 9000, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=9990-20000', 9990, 9999],
    ];
    for (const [range, start, end] of cases) {
      const res = await serve(range);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/10000`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(same(new Uint8Array(await res.arrayBuffer()), bytes.subarray(start, end + 1))).toBe(true);
    }
    for (const range of ['bytes=10000-', 'bytes=5-3', 'bytes=-0', 'items=0-1']) {
      const res = await serve(range);
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe('bytes */10000');
    }
  });

  test('over a real socket (Bun.serve), Content-Length is on the wire for the whole object and for a range', async () => {
    const { storage } = d();
    const key = newKey('mp4');
    const bytes = bytesOf(3 * 1024 * 1024, 8);
    await storage.put(key, bytes);
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: async (req) => serveFile((await storage.get(key))!, 'video/mp4', req.headers.get('range')) });
    try {
      const full = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(full.status).toBe(200);
      expect(full.headers.get('content-length')).toBe(String(bytes.byteLength));
      expect(full.headers.get('transfer-encoding')).toBeNull();
      expect(same(new Uint8Array(await full.arrayBuffer()), bytes)).toBe(true);
      const part = await fetch(`http://127.0.0.1:${server.port}/`, { headers: { range: 'bytes=1000000-2999999' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-length')).toBe('2000000');
      expect(part.headers.get('transfer-encoding')).toBeNull();
      expect(same(new Uint8Array(await part.arrayBuffer()), bytes.subarray(1_000_000, 3_000_000))).toBe(true);
    } finally {
      server.stop(true);
    }
  });
});

describe('s3 only: presigned URLs and S3_REDIRECT', () => {
  test('presign(key, seconds) gives a URL that serves the object with its type, and ranges', async () => {
    const storage = s3Storage(s3);
    const key = newKey('png');
    const bytes = bytesOf(50_000, 8);
    await storage.put(key, bytes, { type: 'image/png' });
    const url = storage.presign!(key, 60);
    expect(url).toContain('X-Amz-Expires=60');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(same(new Uint8Array(await res.arrayBuffer()), bytes)).toBe(true);
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(same(new Uint8Array(await part.arrayBuffer()), bytes.subarray(100, 200))).toBe(true);
  });

  test('with redirects on, serveFile answers HTTP 302 to a presigned URL (no-store) instead of the bytes', async () => {
    const storage = s3Storage(s3, { redirectSeconds: 300 });
    const key = newKey('png');
    await storage.put(key, bytesOf(2000, 9), { type: 'image/png' });
    const res = await serveFile((await storage.get(key))!, 'image/png', 'bytes=0-9');
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/${key}?`)).toBe(true);
    expect(location).toContain('X-Amz-Expires=300');
    expect(same(new Uint8Array(await (await fetch(location)).arrayBuffer()), bytesOf(2000, 9))).toBe(true);
  });

  test('a body over the in-memory limit is streamed (chunked on the wire), complete and exact', async () => {
    const storage = s3Storage(s3);
    const key = newKey('mp4');
    const bytes = bytesOf(500_000, 10);
    await storage.put(key, bytes);
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: async (req) => serveFile((await storage.get(key))!, 'video/mp4', req.headers.get('range'), 4096) });
    try {
      const full = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(full.status).toBe(200);
      expect(same(new Uint8Array(await full.arrayBuffer()), bytes)).toBe(true);
      const part = await fetch(`http://127.0.0.1:${server.port}/`, { headers: { range: 'bytes=123456-456789' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 123456-456789/500000');
      expect(same(new Uint8Array(await part.arrayBuffer()), bytes.subarray(123_456, 456_790))).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  test('an unreachable store is StorageUnavailableError on every call, never "not found"', async () => {
    const storage = s3Storage(s3, { endpoint: 'http://127.0.0.1:9' });
    const key = newKey();
    await expect(storage.put(key, new Uint8Array(10))).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.get(key)).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.read(key)).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.exists(key)).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  test('refused credentials: the write fails and nothing is stored', async () => {
    const key = newKey();
    const err = await s3Storage(s3, { accessKeyId: 'UNKNOWN' }).put(key, bytesOf(1000)).catch((e) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(await s3Storage(s3).exists(key)).toBe(false);
  });
});

describe('configuration: STORAGE and the S3 variables', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'storage-config-'));
  const base = { DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(40) };
  const s3env = { STORAGE: 's3', S3_BUCKET: 'bkt1', S3_ACCESS_KEY_ID: 'AK', S3_SECRET_ACCESS_KEY: 'SK' };
  const error = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no ConfigError');
  };

  test('default is disk; s3 reads the S3_* variables', () => {
    expect(loadConfig(base).storage).toEqual({ kind: 'disk' });
    expect(loadConfig({ ...base, STORAGE: ' DISK ' }).storage).toEqual({ kind: 'disk' });
    expect(
      loadConfig({ ...base, ...s3env, S3_ENDPOINT: 'http://minio:9000', S3_REGION: 'auto', S3_REDIRECT: '1', S3_SESSION_TOKEN: 'T' }).storage,
    ).toEqual({
      kind: 's3',
      bucket: 'bkt1',
      endpoint: 'http://minio:9000',
      region: 'auto',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: 'T',
      virtualHostedStyle: false,
      redirect: true,
    });
  });

  test('the AWS_* names are fallbacks; the S3_* ones win', () => {
    const aws = { STORAGE: 's3', AWS_BUCKET: 'bkt2', AWS_ACCESS_KEY_ID: 'A2', AWS_SECRET_ACCESS_KEY: 'S2', AWS_REGION: 'eu-west-1', AWS_ENDPOINT: 'https://s3.example.com' };
    expect(loadConfig({ ...base, ...aws }).storage).toMatchObject({ bucket: 'bkt2', accessKeyId: 'A2', secretAccessKey: 'S2', region: 'eu-west-1', endpoint: 'https://s3.example.com' });
    expect(loadConfig({ ...base, ...aws, S3_BUCKET: 'bkt3', S3_ACCESS_KEY_ID: 'A3' }).storage).toMatchObject({ bucket: 'bkt3', accessKeyId: 'A3', secretAccessKey: 'S2' });
  });

  test('a missing or bad setting is a ConfigError naming the variable', () => {
    expect(error({ STORAGE: 's3' })).toBe('STORAGE=s3 needs S3_BUCKET (or AWS_BUCKET)');
    expect(error({ ...s3env, S3_BUCKET: '  ' })).toBe('STORAGE=s3 needs S3_BUCKET (or AWS_BUCKET)');
    expect(error({ ...s3env, S3_ACCESS_KEY_ID: '' })).toBe('STORAGE=s3 needs S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID)');
    expect(error({ ...s3env, S3_SECRET_ACCESS_KEY: '' })).toBe('STORAGE=s3 needs S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY)');
    expect(error({ STORAGE: 'ftp' })).toBe('STORAGE=ftp must be one of disk, s3');
    expect(error({ ...s3env, S3_ENDPOINT: 'minio:9000' })).toMatch(/^S3_ENDPOINT /);
    expect(error({ ...s3env, S3_ENDPOINT: 'ftp://minio' })).toMatch(/^S3_ENDPOINT must start with http:\/\/ or https:\/\//);
    expect(error({ ...s3env, S3_BUCKET: 'a/b' })).toMatch(/^S3_BUCKET=a\/b is not a bucket name/);
    expect(error({ ...s3env, AWS_REGION: 'us east' })).toMatch(/^AWS_REGION=us east is not a region name/);
    expect(error({ ...s3env, S3_REDIRECT: 'maybe' })).toBe('S3_REDIRECT=maybe must be true or false');
    expect(error({ ...s3env, S3_VIRTUAL_HOSTED_STYLE: '2' })).toMatch(/^S3_VIRTUAL_HOSTED_STYLE=2/);
  });

  test('start-up with STORAGE=s3 and no bucket stops with one line naming S3_BUCKET', async () => {
    const { code, err } = await runCli([], { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', JWT_SECRET: 'x'.repeat(40), STORAGE: 's3' });
    expect(code).toBe(1);
    expect(err.trim()).toBe('configuration error: STORAGE=s3 needs S3_BUCKET (or AWS_BUCKET)');
  });

  test('the factory builds the driver the configuration names; s3 writes nothing under DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storage-factory-'));
    const disk = createStorage(loadConfig({ ...base, DATA_DIR: dir }).storage, dir);
    expect(disk.kind).toBe('disk');
    await disk.put('uploads/f1.png', bytesOf(10));
    expect(filesUnder(join(dir, 'files'))).toEqual(['uploads/f1.png']);
    const dir2 = mkdtempSync(join(tmpdir(), 'storage-factory-'));
    const config = loadConfig({ ...base, DATA_DIR: dir2, ...s3.env, S3_REDIRECT: 'true' });
    const onS3 = createStorage(config.storage, dir2);
    expect(onS3.kind).toBe('s3');
    const key = newKey();
    await onS3.put(key, bytesOf(10));
    expect(s3.keys()).toContain(key);
    expect((await onS3.get(key))!.redirectUrl()).toContain('X-Amz-Expires=300');
    expect(existsSync(join(dir2, 'files'))).toBe(false);
  });
});

describe('STORAGE=s3 end to end', () => {
  let storage: Storage;
  let before: string[];
  beforeAll(async () => {
    const env = await testEnv();
    storage = s3Storage(s3);
    await env.replacePool({ storage });
    before = filesUnder(env.dataDir);
  });
  afterAll(async () => {
    await (await testEnv()).replacePool();
  });

  test('upload, generate from it, download with Range, S3_REDIRECT: bytes from the bucket, nothing under DATA_DIR', async () => {
    const env = await testEnv();
    const app = env.makeApp({ storage });
    const u = await newUser('s3flow');
    const jpg = await Bun.file(join(import.meta.dir, 'fixtures/sample.jpg')).bytes();
    const up = await call('POST', '/api/v1/upload', { app, token: u.token, body: jpg, headers: { 'content-type': 'image/jpeg' } });
    expect(up.body.code).toBe(200);
    const { file_id: fileId, file_url: fileUrl } = up.body.data;
    expect(s3.keys()).toContain(`uploads/${fileId}.jpg`);
    const back = await call('GET', fileUrl, { app, token: u.token });
    expect(back.status).toBe(200);
    expect(back.headers.get('content-type')).toBe('image/jpeg');
    expect(same(new Uint8Array(back.body), jpg)).toBe(true);

    // the runner reads the reference from the bucket and writes the result there
    const taskId = await createTask(u.token, { type: 'i2i', prompt: 'harbour at dawn', image: fileId, parameters: { width: 96, height: 64 } });
    const done = await waitTask(u.token, taskId);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${taskId}.png`);
    expect(s3.keys()).toContain(`outputs/${taskId}.png`);
    const stored = await storage.read(`outputs/${taskId}.png`);

    for (const url of [done.result_url, `/api/v1${done.result_url}`]) {
      const full = await call('GET', url, { app, token: u.token });
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toBe('image/png');
      expect(full.headers.get('content-length')).toBe(String(stored.byteLength));
      expect(full.headers.get('accept-ranges')).toBe('bytes');
      expect(same(new Uint8Array(full.body), stored)).toBe(true);
      const part = await call('GET', url, { app, token: u.token, headers: { range: 'bytes=8-23' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 8-23/${stored.byteLength}`);
      expect(part.headers.get('content-length')).toBe('16');
      expect(same(new Uint8Array(part.body), stored.subarray(8, 24))).toBe(true);
      const tail = await call('GET', url, { app, token: u.token, headers: { range: `bytes=${stored.byteLength}-` } });
      expect(tail.status).toBe(416);
    }
    // the owner rule is unchanged: someone else gets 404, no token 401
    const other = await newUser('s3other');
    expect((await call('GET', done.result_url, { app, token: other.token })).status).toBe(404);
    expect((await call('GET', fileUrl, { app, token: other.token })).status).toBe(404);
    expect((await call('GET', done.result_url, { app })).status).toBe(401);

    // S3_REDIRECT: the owner gets 302 to a presigned URL that works (and honours Range); others still 404
    const redirecting = env.makeApp({ storage: s3Storage(s3, { redirectSeconds: 300 }) });
    for (const [url, bytes, type] of [[done.result_url, stored, 'image/png'], [fileUrl, jpg, 'image/jpeg']] as const) {
      const res = await call('GET', url, { app: redirecting, token: u.token });
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/`)).toBe(true);
      const followed = await fetch(location);
      expect(followed.status).toBe(200);
      expect(followed.headers.get('content-type')).toBe(type);
      expect(same(new Uint8Array(await followed.arrayBuffer()), bytes)).toBe(true);
      const ranged = await fetch(location, { headers: { range: 'bytes=0-3' } });
      expect(ranged.status).toBe(206);
      expect(same(new Uint8Array(await ranged.arrayBuffer()), bytes.subarray(0, 4))).toBe(true);
      expect((await call('GET', url, { app: redirecting, token: other.token })).status).toBe(404);
    }

    // nothing of it was written under DATA_DIR
    expect(filesUnder(env.dataDir)).toEqual(before);
    expect(filesUnder(join(env.dataDir, 'files')).filter((f) => f.includes(fileId) || f.includes(taskId))).toEqual([]);
  });

  test('a store that is down: an upload is HTTP 503 and nothing is kept; a download is HTTP 503', async () => {
    const env = await testEnv();
    const down = env.makeApp({ storage: s3Storage(s3, { endpoint: 'http://127.0.0.1:9' }) });
    const u = await newUser('s3down');
    const jpg = await Bun.file(join(import.meta.dir, 'fixtures/sample.jpg')).bytes();
    const res = await call('POST', '/api/v1/upload', { app: down, token: u.token, body: jpg, headers: { 'content-type': 'image/jpeg' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 503, message: '存储服务暂时不可用，图片未保存，请稍后再试' });
    const history = await env.database.db.execute(sql`select count(*)::int as n from files f join users u on u.id = f.user_id where u.account = ${u.account}`);
    expect(rowsOf<{ n: number }>(history)[0].n).toBe(0);
    const up = await call('POST', '/api/v1/upload', { app: env.makeApp({ storage }), token: u.token, body: jpg, headers: { 'content-type': 'image/jpeg' } });
    const get = await call('GET', up.body.data.file_url, { app: down, token: u.token });
    expect(get.status).toBe(503);
    expect(get.body).toMatchObject({ code: 503, message: '存储服务暂时不可用，请稍后再试' });
  });
});

describe('the server on STORAGE=s3', () => {
  test('start-up names the storage; an upload goes to the bucket and DATA_DIR gets no files/', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'storage-server-'));
    const server = await spawnServer({
      env: { ...process.env, ...s3.env, DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(40), DATABASE_URL: '', WORKERS: '1', WATCHDOG_TIMEOUT: '0' },
    });
    try {
      expect(server.output()).toContain('storage: s3');
      const base = server.base;
      const api = (path: string, init: RequestInit = {}) => fetch(base + path, init);
      const account = `srv${Date.now().toString(36)}`;
      const reg: any = await api('/api/v1/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account, email: `${account}@example.com`, password: 'User@1234' }) });
      expect((await reg.json()).code).toBe(200);
      const login: any = await (await api('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account, password: 'User@1234' }) })).json();
      const auth = { authorization: `Bearer ${login.data.token}` };
      const jpg = await Bun.file(join(import.meta.dir, 'fixtures/sample.jpg')).bytes();
      const up: any = await (await api('/api/v1/upload', { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: jpg })).json();
      expect(up.code).toBe(200);
      expect(s3.keys()).toContain(`uploads/${up.data.file_id}.jpg`);
      // over a real socket too, Content-Length is the object's (Bun would send a native S3 stream chunked)
      const full = await api(up.data.file_url, { headers: auth });
      expect(full.status).toBe(200);
      expect(full.headers.get('content-length')).toBe(String(jpg.byteLength));
      expect(full.headers.get('transfer-encoding')).toBeNull();
      expect(same(new Uint8Array(await full.arrayBuffer()), jpg)).toBe(true);
      const part = await api(up.data.file_url, { headers: { ...auth, range: 'bytes=0-99' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-length')).toBe('100');
      expect(same(new Uint8Array(await part.arrayBuffer()), jpg.subarray(0, 100))).toBe(true);
      expect(existsSync(join(dataDir, 'files'))).toBe(false);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
