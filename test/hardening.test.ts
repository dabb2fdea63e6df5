// Issue 9: each finding of the attacker's probe, as a regression test through the real HTTP interface.
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwt } from '@elysiajs/jwt';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { migrations } from '../src/db/migrations.gen';
import { MAX_JSON_DEPTH } from '../src/http/guard';
import { createDbProbe } from '../src/ops/watchdog';
import { silentLogger } from '../src/logger';
import { createLocalStorage } from '../src/storage/local';
import { pgliteSeed, testEnv } from './support/env';
import { call, newUser, PASSWORD, uniq } from './support/http';
import { runCli } from './support/server-process';
import { until, waitTask } from './support/tasks';

setDefaultTimeout(60_000);

const nested = (depth: number, leaf: unknown = 1, kind: 'object' | 'array' = 'object') => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'object' ? { a: v } : [v];
  return v;
};

const history = async (token: string) => (await call('GET', '/api/v1/user/generation_list', { token })).body.data as { task_id: string }[];

describe('finding 1+2: deep JSON then a NUL froze the embedded server; the deep task was answered but never stored', () => {
  test('the deep request is refused before the database, the NUL one too, and the server keeps answering', async () => {
    const u = await newUser('freeze');
    const deep = await call('POST', '/api/v1/generation', {
      token: u.token,
      body: { type: 't2i', prompt: 'p', parameters: { x: nested(5000) } },
    });
    expect(deep.status).toBe(200);
    expect(deep.body.code).toBe(400);
    expect(deep.body.message).toBe(`参数不合规：请求体嵌套过深（最多 ${MAX_JSON_DEPTH} 层）`);
    const nul = await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: 'a\u0000b' } });
    expect(nul.status).toBe(200);
    expect(nul.body.code).toBe(400);
    expect(nul.body.message).toContain('result_url');
    expect((await call('GET', '/healthz')).body.code).toBe(200);
    expect((await call('GET', '/readyz')).body.code).toBe(200);
    // nothing was stored for the refused request, and a task that is answered "created" is really there
    expect(await history(u.token)).toEqual([]);
    const ok = await call('POST', '/api/v1/generation', { token: u.token, body: { type: 't2i', prompt: 'p', parameters: { width: 64, height: 64 } } });
    expect(ok.body.code).toBe(200);
    expect((await history(u.token)).map((t) => t.task_id)).toEqual([ok.body.data.task_id]);
    expect((await call('GET', `/api/v1/generation/${ok.body.data.task_id}`, { token: u.token })).body.code).toBe(200);
  });

  test('stored parameters are bounded: 8 levels and 16 KB', async () => {
    const u = await newUser('pbound');
    const create = (parameters: unknown) => call('POST', '/api/v1/generation', { token: u.token, body: { type: 't2i', prompt: 'p', parameters } });
    const eight = await create({ width: 64, height: 64, x: nested(7) }); // the parameters object is level 1
    expect(eight.body.code).toBe(200);
    const nine = await create({ x: nested(8) });
    expect(nine.body.code).toBe(400);
    expect(nine.body.message).toBe('参数不合规：parameters（嵌套最多 8 层）');
    const big = await create({ x: 'y'.repeat(17 * 1024) });
    expect(big.body.code).toBe(400);
    expect(big.body.message).toBe('参数不合规：parameters（序列化后最多 16 KB）');
    expect((await history(u.token)).map((t) => t.task_id)).toEqual([eight.body.data.task_id]);
    await waitTask(u.token, eight.body.data.task_id);
  });
});

describe('finding 3: deeply nested arrays blew the validator\'s stack and blocked the loop', () => {
  test('100,000 nested arrays to the favorites batch are code 400 naming the limit; nothing is written', async () => {
    const u = await newUser('arrays');
    const before = (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data;
    const body = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await call('POST', '/api/v1/user/favorite_list/batch', { token: u.token, body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
    expect(res.body.message).toContain('嵌套过深');
    const inObject = `{"items":${'['.repeat(100_000)}1${']'.repeat(100_000)}}`;
    const res2 = await call('POST', '/api/v1/user/favorite_list/batch', { token: u.token, body: inObject, headers: { 'content-type': 'application/json' } });
    expect(res2.body.code).toBe(400);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data).toEqual(before);
  });

  test('nesting exactly at the limit is parsed and validated normally', async () => {
    const u = await newUser('limit');
    // depth 32 in an unknown key: accepted by the guard, then refused by the stored-parameters bound
    const res = await call('POST', '/api/v1/generation', {
      token: u.token,
      body: { type: 't2i', prompt: 'p', parameters: { x: nested(MAX_JSON_DEPTH - 2) } },
    });
    expect(res.body.code).toBe(400);
    expect(res.body.message).toBe('参数不合规：parameters（嵌套最多 8 层）');
  });
});

describe('finding 4: NUL bytes gave HTTP 500', () => {
  test('NUL in login account, prompt, negative_prompt, an unknown parameter, result_url: code 400 naming the field', async () => {
    const u = await newUser('nul');
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/auth/login', { account: 'a\u0000b', password: 'x' }, 'account'],
      ['POST', '/api/v1/generation', { type: 't2i', prompt: 'a\u0000b' }, 'prompt'],
      ['POST', '/api/v1/generation', { type: 't2i', prompt: 'p', parameters: { negative_prompt: 'a\u0000' } }, 'parameters.negative_prompt'],
      ['POST', '/api/v1/generation', { type: 't2i', prompt: 'p', parameters: { mine: ['ok', 'b\u0000'] } }, 'parameters.mine[1]'],
      ['POST', '/api/v1/generation', { type: 't2i', prompt: 'p', parameters: { ['k\u0000']: 1 } }, 'parameters.（键名）'],
      ['POST', '/api/v1/user/generation_list', { result_url: '/generated_outputs/a\u0000.png' }, 'result_url'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, { token: u.token, body });
      expect(res.status, `${path} ${field}`).toBe(200);
      expect(res.body.code, `${path} ${field}`).toBe(400);
      expect(res.body.message).toBe(`参数不合规：${field}（不能包含 NUL 字符）`);
    }
    // in the path and the query
    const del = await call('DELETE', '/api/v1/user/generation_list/task_%00', { token: u.token });
    expect(del.status).toBe(200);
    expect(del.body.code).toBe(400);
    const q = await call('GET', '/api/v1/user/favorite_list?x=%00', { token: u.token });
    expect(q.body.code).toBe(400);
    expect(await history(u.token)).toEqual([]);
  });
});

describe('fuzz finding: a body object with a key named toString gave HTTP 500', () => {
  // String() of such an object throws; Elysia's validation message builds one from a wrong-typed value
  test('refused as code 400 naming the field, before validation; nothing is written; the name as a value is fine', async () => {
    const u = await newUser('tostr');
    const before = (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data as { id: number }[];
    const root = before[0].id;
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/user/generation_list', { result_url: { toString: 0 } }, 'result_url.toString'],
      ['POST', '/api/v1/auth/login', { account: { toString: 'x', valueOf: 1 }, password: 'x' }, 'account.toString'],
      ['POST', '/api/v1/generation', { type: 't2i', prompt: 'p', parameters: { width: { toString: null } } }, 'parameters.width.toString'],
      ['POST', '/api/v1/user/favorite_list/batch', { items: [{ temp_id: 1, parent_id: root, name: { toString: [] }, node_type: 'folder' }] }, 'items[0].name.toString'],
      ['POST', '/api/v1/user/favorite_list', { parent_id: root, name: 'n', node_type: 'folder', toString: 1 }, 'toString'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, { token: u.token, body });
      expect(res.status, `${path} ${field}`).toBe(200);
      expect(res.body, `${path} ${field}`).toEqual({ code: 400, message: `参数不合规：${field}（不接受名为 toString 的键）` });
    }
    expect(await history(u.token)).toEqual([]);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data).toEqual(before);
    // "toString" as a value, and a key that only starts like it, are ordinary input
    const named = await call('POST', '/api/v1/user/favorite_list', { token: u.token, body: { parent_id: root, name: 'toString', node_type: 'folder' } });
    expect(named.body.code).toBe(200);
    const other = await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: { toStringX: 0 } } });
    expect(other.body).toEqual({ code: 400, message: '参数不合规：result_url' });
  });
});

describe('finding 5: login throttling, per account name and per client IP, in the database', () => {
  const throttledApp = async (over: Partial<{ accountMax: number; ipMax: number }> = {}) => {
    const env = await testEnv();
    const config = {
      ...env.config,
      trustProxy: true,
      loginThrottle: { accountMax: 5, ipMax: 1_000_000, windowMs: 15 * 60_000, lockMs: 30_000, ...over },
    };
    return { env, app: env.makeApp({ config }) };
  };
  const login = (app: Awaited<ReturnType<typeof throttledApp>>['app'], account: string, password: string, ip: string) =>
    call('POST', '/api/v1/auth/login', { app, body: { account, password }, headers: { 'x-forwarded-for': ip } });

  test('5 wrong passwords lock the account (HTTP 429, Retry-After), even for the right password; the lock doubles', async () => {
    const { env, app } = await throttledApp();
    const u = await newUser('thr');
    const ip = `10.0.${Math.floor(Math.random() * 250)}.1`;
    try {
      for (let i = 0; i < 5; i++) {
        const r = await login(app, u.account, 'Wrong1234', ip);
        expect(r.status).toBe(200);
        expect(r.body.code).toBe(401);
      }
      const locked = await login(app, u.account, PASSWORD, ip);
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe(429);
      const wait = Number(locked.headers.get('retry-after'));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(30);
      expect(locked.body.message).toBe(`登录尝试过于频繁，请 ${wait} 秒后再试`);
      // the lock is per account name: another account from the same IP still logs in
      const other = await newUser('thr2');
      expect((await login(app, other.account, PASSWORD, ip)).body.code).toBe(200);
      // after the lock, one attempt is admitted; its failure locks twice as long
      env.clock.advance(31_000);
      expect((await login(app, u.account, 'Wrong1234', ip)).body.code).toBe(401);
      const again = await login(app, u.account, PASSWORD, ip);
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(30);
      env.clock.advance(61_000);
      // the right password after the lock logs in and clears the account's failures
      expect((await login(app, u.account, PASSWORD, ip)).body.code).toBe(200);
      expect((await login(app, u.account, 'Wrong1234', ip)).body.code).toBe(401);
      expect((await login(app, u.account, PASSWORD, ip)).body.code).toBe(200);
    } finally {
      env.clock.reset();
    }
  });

  test('an unknown account is locked the same way, so the lock does not tell which accounts exist', async () => {
    const { app } = await throttledApp();
    const ghost = uniq('ghost');
    const ip = `10.1.${Math.floor(Math.random() * 250)}.1`;
    for (let i = 0; i < 5; i++) expect((await login(app, ghost, 'Wrong1234', ip)).body.code).toBe(401);
    const locked = await login(app, ghost, 'Wrong1234', ip);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);
  });

  test('per client IP: failures across many account names lock the address', async () => {
    const { app } = await throttledApp({ ipMax: 8 });
    const ip = `10.2.${Math.floor(Math.random() * 250)}.1`;
    for (let i = 0; i < 8; i++) expect((await login(app, uniq('spray'), 'Wrong1234', ip)).body.code).toBe(401);
    const locked = await login(app, uniq('spray'), 'Wrong1234', ip);
    expect(locked.status).toBe(429);
    // another address is not affected
    expect((await login(app, uniq('spray'), 'Wrong1234', `${ip}0`)).body.code).toBe(401);
  });

  test('parallel guesses are counted before any password is checked: at most the limit is answered 401', async () => {
    const { app } = await throttledApp();
    const u = await newUser('par');
    const ip = `10.3.${Math.floor(Math.random() * 250)}.1`;
    const all = await Promise.all(Array.from({ length: 20 }, () => login(app, u.account, 'Wrong1234', ip)));
    expect(all.filter((r) => r.body.code === 401).length).toBe(5);
    expect(all.filter((r) => r.status === 429).length).toBe(15);
  });

  test('the counters live in the database (shared by every instance) and stale ones are purged', async () => {
    const { env, app } = await throttledApp();
    const name = uniq('db');
    await login(app, name, 'Wrong1234', '10.4.0.1');
    const rows = rowsOf<{ failures: number }>(
      await env.database.db.execute(sql`select failures from login_throttle where key = ${`account:${name.toLowerCase()}`}`),
    );
    expect(rows).toEqual([{ failures: 1 }]);
    // a second app (instance) on the same database continues the same counter: with a limit of 2, its first
    // attempt is the second failure, which sets the lock
    const second = env.makeApp({ config: { ...env.config, trustProxy: true, loginThrottle: { accountMax: 2, ipMax: 1_000_000, windowMs: 900_000, lockMs: 30_000 } } });
    expect((await login(second, name, 'Wrong1234', '10.4.0.2')).body.code).toBe(401);
    expect((await login(second, name, 'Wrong1234', '10.4.0.2')).status).toBe(429);
    const { housekeep } = await import('../src/ops/housekeeping');
    try {
      env.clock.advance(16 * 60_000);
      const purged = await housekeep(env.database.db, env.clock, 15 * 60_000);
      expect(purged.counters).toBeGreaterThan(0);
    } finally {
      env.clock.reset();
    }
    const left = rowsOf(await env.database.db.execute(sql`select 1 from login_throttle where key = ${`account:${name.toLowerCase()}`}`));
    expect(left).toEqual([]);
  });
});

describe('finding 6: the smaller ones', () => {
  test('a chunked body over the limit is HTTP 413 (the size is counted on the stream, not taken from Content-Length)', async () => {
    const env = await testEnv();
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > env.config.bodyLimit + chunk.byteLength) return c.close();
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const res = await env.app.handle(
      new Request('http://localhost/api/v1/auth/login', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: number }).code).toBe(400);
  });

  test('a token signed HS512 with the right secret is refused: the algorithm is pinned to HS256', async () => {
    const env = await testEnv();
    const u = await newUser('alg');
    const claims = JSON.parse(Buffer.from(u.token.split('.')[1], 'base64url').toString());
    const sign = (jwt({ name: 'jwt', secret: env.config.jwtSecret, alg: 'HS512' }).decorator as any).jwt.sign as (p: object) => Promise<string>;
    const forged = await sign({ sub: claims.sub, sid: claims.sid, exp: claims.exp });
    expect(JSON.parse(Buffer.from(forged.split('.')[0], 'base64url').toString()).alg).toBe('HS512');
    const res = await call('GET', '/api/v1/user/favorite_list', { token: forged });
    expect(res.status).toBe(401);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: u.token })).status).toBe(200);
  });

  test('a lone surrogate in a password is refused, not silently replaced (two passwords would collide)', async () => {
    const account = uniq('sur');
    const body = `{"account":"${account}","email":"${account}@example.com","password":"Passw0rd\\ud800"}`;
    const res = await call('POST', '/api/v1/auth/register', { body, headers: { 'content-type': 'application/json' } });
    expect(res.body.code).toBe(400);
    expect(res.body.message).toBe('参数不合规：password（不能包含不成对的 UTF-16 代理项）');
    const login = await call('POST', '/api/v1/auth/login', { body: `{"account":"${account}","password":"Passw0rd\\udfff"}`, headers: { 'content-type': 'application/json' } });
    expect(login.body.code).toBe(400);
  });

  test('form and text bodies on JSON routes are code 400 saying JSON is expected', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await call('POST', '/api/v1/auth/login', { body: 'account=a&password=b', headers: { 'content-type': type } });
      expect(res.status, type).toBe(200);
      expect(res.body.code, type).toBe(400);
      expect(res.body.message).toBe('参数不合规：请求体须为 JSON（Content-Type: application/json）');
    }
  });
});

// A full disk: a 1 MB tmpfs mounted for the test (the test machine runs as root, as CI does).
describe('disk full', () => {
  const mountTiny = (sizeKb: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
    return {
      dir,
      fill(leaveKb: number) {
        const free = Number(execFileSync('df', ['-k', '--output=avail', dir]).toString().split('\n')[1]);
        writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, free - leaveKb) * 1024));
      },
      unmount: () => execFileSync('umount', [dir]),
    };
  };

  test('an upload on a full disk is HTTP 507, code 507, a clear message, and nothing is kept', async () => {
    const env = await testEnv();
    const fs = mountTiny(1024);
    try {
      fs.fill(0);
      const storage = createLocalStorage(join(fs.dir, 'files'));
      const app = env.makeApp({ storage });
      const u = await newUser('full');
      const jpg = await Bun.file(join(import.meta.dir, 'fixtures/sample.jpg')).bytes();
      const res = await call('POST', '/api/v1/upload', { app, token: u.token, body: jpg, headers: { 'content-type': 'image/jpeg' } });
      expect(res.status).toBe(507);
      expect(res.body.code).toBe(507);
      expect(res.body.message).toBe('服务器存储空间不足，图片未保存，请稍后再试');
      const rows = rowsOf<{ n: number }>(
        await env.database.db.execute(sql`select count(*)::int as n from files f join users u on u.id = f.user_id where u.account = ${u.account}`),
      );
      expect(rows[0].n).toBe(0);
      const leftovers = readdirSync(fs.dir, { recursive: true }).map(String).filter((f) => f.includes('.tmp-'));
      expect(leftovers).toEqual([]);
    } finally {
      fs.unmount();
    }
  });

  test('a generation whose result cannot be written fails with a clear error', async () => {
    const env = await testEnv();
    const fs = mountTiny(1024);
    try {
      fs.fill(0);
      await env.replacePool({ storage: createLocalStorage(join(fs.dir, 'files')) });
      const u = await newUser('fullgen');
      const res = await call('POST', '/api/v1/generation', { token: u.token, body: { type: 't2i', prompt: 'sea', parameters: { width: 256, height: 256 } } });
      const done = await waitTask(u.token, res.body.data.task_id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe('服务器存储空间不足，结果未能保存 / no space left on the server');
    } finally {
      await env.replacePool();
      fs.unmount();
    }
  });

  test('start-up on a full DATA_DIR stops with one line saying how much room is needed', async () => {
    const fs = mountTiny(4096);
    try {
      const { code, err } = await runCli([], { ...process.env, DATA_DIR: fs.dir, PORT: '0', JWT_SECRET: 'x'.repeat(40), DATABASE_URL: '' });
      expect(code).toBe(1);
      expect(err.trim()).toMatch(/^start-up error: not enough space in DATA_DIR=\S+ \(needs about 96 MB, [0-4] MB free\)$/);
    } finally {
      fs.unmount();
    }
  });
});

describe('a hung call does not hang the process silently', () => {
  test('/readyz is HTTP 503 (数据库无响应) while a database call is stuck, and logged; ready again after', async () => {
    const env = await testEnv();
    // its own embedded database, from the suite's seed
    const database = await openDatabase({ kind: 'pglite', seed: pgliteSeed() });
    await migrate(database.db, migrations);
    const lines: string[] = [];
    const log = { ...silentLogger, error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const app = env.makeApp({ database, dbProbe: createDbProbe(database, log, 300) });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // a transaction that never ends: the embedded database runs one statement at a time, so the check waits behind it
    const stuck = database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await held;
    });
    try {
      const t0 = performance.now();
      const res = await call('GET', '/readyz', { app });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ code: 503, message: '数据库无响应' });
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(lines.some((l) => l.startsWith('database call stalled'))).toBe(true);
      expect((await call('GET', '/readyz', { app })).status).toBe(503); // reported at once while it lasts
    } finally {
      release();
      await stuck;
    }
    // ready again once the check queued behind the transaction has its answer (on a busy machine that can take more
    // than a few ms after the commit: until then the check still counts as stalled)
    await until('/readyz to answer 200 again', async () => (await call('GET', '/readyz', { app })).status === 200, 5_000);
    await database.close();
  });

  /**
   * Runs `body` in a process of its own after `startWatchdog(1000)`, to its end (SIGKILL after 20 s): its exit, its
   * output and how long it ran.
   */
  async function underWatchdog(body: string) {
    const dir = mkdtempSync(join(tmpdir(), 'wd-'));
    const fixture = join(dir, 'fixture.ts');
    writeFileSync(fixture, `import { startWatchdog } from ${JSON.stringify(join(import.meta.dir, '../src/ops/watchdog.ts'))};\nstartWatchdog(1000);\n${body}`);
    const t0 = performance.now();
    const proc = Bun.spawn([process.execPath, fixture], { stdout: 'pipe', stderr: 'pipe' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await proc.exited;
    clearTimeout(timer);
    const ms = performance.now() - t0;
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    rmSync(dir, { recursive: true, force: true });
    return { signal: proc.signalCode, code: proc.exitCode, out, err, ms };
  }

  test('the watchdog leaves a process whose event loop answers alone, past its timeout, and does not keep it alive', async () => {
    // answering for 2.2 s, well past the 1 s limit (two busy 150 ms slices among idle time); then nothing is left but
    // the watchdog
    const r = await underWatchdog(
      "const busy = () => { const t = Date.now(); while (Date.now() - t < 150); };\n" +
        "setTimeout(busy, 500); setTimeout(busy, 1200); setTimeout(() => console.log('done'), 2200);\n",
    );
    expect(r.err).not.toContain('watchdog');
    expect(r.out).toBe('done\n');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  });

  test('the watchdog ends a process whose event loop is blocked, with a line saying why', async () => {
    const r = await underWatchdog("setTimeout(() => { console.log('blocking'); for (;;) {} }, 300);\n");
    expect(r.signal).toBe('SIGKILL');
    expect(r.err).toContain('watchdog: the event loop has not answered for');
    expect(r.ms).toBeLessThan(15_000);
  });
});
