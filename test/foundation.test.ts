import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { existsSync, statSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSocketPath } from '../src/cli/admin';
import { ConfigError, loadConfig } from '../src/config';
import type { Database } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { migrations } from '../src/db/migrations.gen';
import { renderMigrationsModule } from '../scripts/embed-migrations';
import { silentLogger } from '../src/logger';
import { testEnv } from './support/env';
import { testBinary } from './support/binary';
import { call } from './support/http';
import { ROOT, runCli, spawnServer } from './support/server-process';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

describe('health and envelope', () => {
  test('GET /healthz and /readyz answer code 200', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ code: 200, message: 'ok' });
    expect((await call('GET', '/readyz')).body).toEqual({ code: 200, message: 'ok' });
  });

  test('/readyz is HTTP 503 when the database does not answer', async () => {
    const env = await testEnv();
    const broken: Database = { ...env.database, ping: () => Promise.reject(new Error('down')) };
    const res = await call('GET', '/readyz', { app: env.makeApp({ database: broken }) });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe(503);
  });

  test('unknown route is HTTP 404 with code 404', async () => {
    const res = await call('GET', '/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe(404);
  });

  test('a body over the limit is HTTP 413 with code 400', async () => {
    const env = await testEnv();
    const big = 'x'.repeat(env.config.bodyLimit + 10);
    const res = await call('POST', '/api/v1/auth/login', {
      body: JSON.stringify({ account: big, password: 'x' }),
      headers: { 'content-type': 'application/json', 'content-length': String(big.length + 30) },
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe(400);
  });

  test('malformed JSON is HTTP 200 + code 400, never 422', async () => {
    const res = await call('POST', '/api/v1/auth/login', {
      body: '{"account": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
  });

  test('an unexpected error is HTTP 500 with a request id and no internals', async () => {
    const env = await testEnv();
    const broken = { ...env.database, db: new Proxy(env.database.db, { get: () => { throw new Error('SECRET-SQL select * from users'); } }) };
    const res = await call('POST', '/api/v1/auth/login', {
      app: env.makeApp({ database: broken as Database }),
      body: { account: 'someone', password: 'User@1234' },
    });
    expect(res.status).toBe(500);
    expect(res.body.code).toBe(500);
    expect(res.body.data.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toContain('SECRET');
  });
});

describe('swagger', () => {
  test('UI at /swagger uses local assets that the app serves', async () => {
    const res = await call('GET', '/swagger');
    const html = new TextDecoder().decode(res.body as ArrayBuffer);
    expect(res.status).toBe(200);
    expect(html).toContain('/swagger/assets/swagger-ui-bundle.js');
    expect(html).toContain('/swagger/assets/swagger-ui.css');
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn)/);
    const js = await call('GET', '/swagger/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect((js.body as ArrayBuffer).byteLength).toBeGreaterThan(100_000);
    const css = await call('GET', '/swagger/assets/swagger-ui.css');
    expect(css.status).toBe(200);
  });

  test('OpenAPI JSON documents every route with schemas, descriptions and the bearer scheme', async () => {
    const { body: spec } = await call('GET', '/swagger/json');
    expect(spec.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const expected = [
      'post /api/v1/auth/register', 'post /api/v1/auth/login', 'post /api/v1/auth/forgot-password',
      'post /api/v1/auth/reset-password', 'post /api/v1/user/reset-password', 'post /api/v1/user/reset-email',
      'get /api/v1/user/generation_list', 'post /api/v1/user/generation_list', 'delete /api/v1/user/generation_list/{task_id}',
      'get /api/v1/user/favorite_list', 'post /api/v1/user/favorite_list', 'delete /api/v1/user/favorite_list/{id}',
      'post /api/v1/user/favorite_list/batch', 'post /api/v1/generation', 'post /api/v1/upload',
      'get /api/v1/generation/{taskId}', 'get /generated_outputs/{name}', 'get /uploads/{name}',
      'get /healthz', 'get /readyz', 'post /api/v1/auth/logout', 'get /api/v1/user/sessions', 'delete /api/v1/user/sessions/{id}',
      'get /api/v1/generated_outputs/{name}', 'post /api/v1/generation/{taskId}/cancel',
      'get /api/v1/generation/{taskId}/events', 'post /api/v1/labels/verify', 'patch /api/v1/user/favorite_list/{id}',
    ];
    const documented = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual([...expected].sort());
    for (const key of expected) {
      const [method, path] = key.split(' ');
      const op = spec.paths[path][method];
      expect(op.summary, key).toBeTruthy();
      if (path.startsWith('/api/')) {
        expect(op.description, key).toMatch(/[\u4e00-\u9fff]/); // Chinese
        expect(op.description, key).toMatch(/[a-z]{4,} [a-z]{2,}/); // and English
      }
      if (method === 'post' && key !== 'post /api/v1/auth/logout' && !key.endsWith('/cancel')) {
        const types = Object.keys(op.requestBody?.content ?? {});
        expect(types.length, key).toBeGreaterThan(0);
        // JSON routes document JSON only (the request guard refuses form bodies there)
        if (key !== 'post /api/v1/upload' && key !== 'post /api/v1/labels/verify') expect(types, key).toEqual(['application/json']);
      }
      const open = (path.startsWith('/api/v1/auth/') && path !== '/api/v1/auth/logout') || path === '/healthz' || path === '/readyz';
      // the label check is for anyone holding a file: it says so with an empty security list
      if (key === 'post /api/v1/labels/verify') expect(op.security, key).toEqual([]);
      // results: the bearer token, or none with a signed link (signed_url)
      else if (path.endsWith('/generated_outputs/{name}')) expect(op.security, key).toEqual([{ bearerAuth: [] }, {}]);
      else expect(op.security, key).toEqual(open ? [] : [{ bearerAuth: [] }]);
      if (path.startsWith('/api/') && !path.includes('upload') && !path.includes('generated_outputs')) {
        // response schemas are named components (issue 14): follow the $ref
        const schema = op.responses['200']?.content?.['application/json']?.schema;
        const named = schema?.$ref ? spec.components.schemas[schema.$ref.split('/').pop()] : schema;
        expect(named?.properties?.code, key).toBeDefined();
      }
    }
    expect(spec.paths['/api/v1/auth/register'].post.requestBody.content['application/json'].schema.properties.account.maxLength).toBe(32);
    expect(Object.keys(spec.paths['/api/v1/generation/{taskId}/events'].get.responses['200'].content)).toEqual(['text/event-stream', 'application/json']);
  });
});

describe('config', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'aigc-cfg-'));

  test('defaults, and a JWT secret generated once with 0600 permissions', () => {
    const d = dir();
    const a = loadConfig({ DATA_DIR: d });
    expect(a.port).toBe(3000);
    expect(a.databaseUrl).toBeNull();
    expect(a.smtpUrl).toBeNull();
    expect(a.jwtTtl).toBe(7 * 86400);
    expect(a.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(d, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(d, 'jwt-secret'), 'utf8').trim()).toBe(a.jwtSecret);
    expect(loadConfig({ DATA_DIR: d }).jwtSecret).toBe(a.jwtSecret);
  });

  test('values are parsed', () => {
    const c = loadConfig({
      DATA_DIR: dir(),
      PORT: '8080',
      JWT_TTL: '12h',
      JWT_SECRET: 'x'.repeat(40),
      BODY_LIMIT: '2mb',
      DATABASE_URL: 'postgres://u@h:5432/db',
      SMTP_URL: 'smtp://mail:25',
    });
    expect(c.port).toBe(8080);
    expect(c.jwtTtl).toBe(43200);
    expect(c.bodyLimit).toBe(2 * 1024 * 1024);
    expect(c.databaseUrl).toBe('postgres://u@h:5432/db');
  });

  test.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['JWT_TTL', '7 weeks'],
    ['JWT_SECRET', 'short'],
    ['DATABASE_URL', 'mysql://x'],
    ['SMTP_URL', 'not a url'],
    ['BODY_LIMIT', '-1'],
    ['WORKERS', '0'],
    ['WORKER_PRIORITY', 'lowest'],
    ['TRUST_PROXY', 'maybe'],
  ])('a bad %s (%s) stops start-up with a line naming it', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: dir(), [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ DATA_DIR: dir(), [name]: value });
    } catch (e) {
      expect((e as Error).message).toContain(name);
    }
  });

  test('a bad value stops the real process with exit code 1 and one line', async () => {
    const { code, err } = await runCli([], { ...process.env, DATA_DIR: dir(), PORT: 'abc' });
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual(['configuration error: PORT=abc must be an integer from 0 to 65535']);
  });
});

describe('migrations', () => {
  test('the embedded list matches drizzle/meta/_journal.json', () => {
    expect(readFileSync(join(import.meta.dir, '../src/db/migrations.gen.ts'), 'utf8')).toBe(renderMigrationsModule());
  });

  test('running them again applies nothing', async () => {
    const env = await testEnv();
    expect(await migrate(env.database.db, migrations)).toEqual([]);
  });
});

test('createApp composes without a listening server', async () => {
  const env = await testEnv();
  const app = env.makeApp({ log: silentLogger });
  const res = await app.handle(new Request('http://localhost/healthz'));
  expect(res.status).toBe(200);
});

describe('embedded PGlite seed', () => {
  test('a fresh data dir loads the pre-initialised seed, fully migrated; an existing one is reopened as is', async () => {
    const { openDatabase } = await import('../src/db/client');
    const { sql } = await import('drizzle-orm');
    const dir = mkdtempSync(join(tmpdir(), 'aigc-seed-'));
    // the suite's seed: test/support/preload.ts makes it with scripts/make-pgseed.ts, as the build does for the binary
    expect(process.env.PGLITE_SEED && (await Bun.file(process.env.PGLITE_SEED).exists())).toBe(true);
    const seed = { file: process.env.PGLITE_SEED! };
    const first = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pg'), seed });
    expect(await migrate(first.db, migrations)).toEqual([]); // nothing left to apply
    // sized for one process, not PostgreSQL's server defaults (keeps idle RSS low)
    expect(JSON.stringify(await first.db.execute(sql`show shared_buffers`))).toContain('16MB');
    await first.db.execute(sql`insert into users (account, email, password_hash, created_at) values ('seeded', 's@example.com', 'x', now())`);
    await first.close();
    // the seed must not be loaded over an existing database
    const again = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pg'), seed });
    const rows = await again.db.execute(sql`select account from users`);
    expect(JSON.stringify(rows)).toContain('seeded');
    await again.close();

    // the native unpacker: never over existing files, no temporary folder left, unsafe archives refused
    const { resolveSeed, unpackDataDir } = await import('../src/db/seed');
    // where the seed is, resolved on the database's thread: from source nothing is embedded, so the file; none when
    // the file is missing
    const file = resolveSeed({ embedded: true, file: seed.file });
    expect(file?.size).toBe(Bun.file(seed.file).size);
    expect(resolveSeed({ embedded: true, file: join(dir, 'missing.tgz') })).toBeNull();
    expect(resolveSeed(null)).toBeNull();
    expect(await unpackDataDir(file!, join(dir, 'pg'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('unpacking'))).toEqual([]);
    const evil = new Uint8Array(1024);
    evil.set(new TextEncoder().encode('../escape'), 0);
    evil.set(new TextEncoder().encode('0000644\0'), 100);
    evil.set(new TextEncoder().encode('00000000000\0'), 124);
    evil[156] = 48;
    await expect(unpackDataDir(new Blob([Bun.gzipSync(evil)]), join(dir, 'evil'))).rejects.toThrow('unsafe path');
    expect(readdirSync(dir).sort()).toEqual(['pg']);
  }, 120_000);
});

test('SIGTERM during start-up (before it listens, or while its workers start): a clean stop once started, exit 0', async () => {
  // the handler used to be installed only once start-up had finished, and the workers start after listening: a
  // signal in between ended the process by the default action (exit 143), without the drain and the database close
  const dir = mkdtempSync(join(tmpdir(), 'aigc-stop-'));
  // the embedded database, whose admin socket marks the start-up's beginning
  // (no PGLITE_SEED: the binary's own seed only)
  const env = { ...process.env, DATABASE_URL: '', DATA_DIR: dir, WORKERS: '2', PORT: '0', HOST: '127.0.0.1', PGLITE_SEED: '' } as Record<string, string>;
  const proc = Bun.spawn([await testBinary()], { cwd: ROOT, env, stdout: 'pipe', stderr: 'pipe' });
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then((t) => t.join(''));
  // the admin socket is the first thing start-up makes; the database opens after it, the server listens later still
  const socket = adminSocketPath(dir);
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket) && proc.exitCode === null && Date.now() < deadline) await Bun.sleep(2);
  proc.kill('SIGTERM');
  const code = await proc.exited;
  const out = await output;
  expect(code, out).toBe(0);
  expect(out).toContain('SIGTERM during start-up');
  expect(out).toContain('listening on');
  expect(out).toContain('stopped');
  // the fresh data dir came from the seed embedded in the binary (made from the same migrations: nothing to apply),
  // which the database's thread finds itself (SeedSource); without it initdb would run and every migration be applied
  expect(out).not.toContain('migrations applied');
}, 120_000);

/**
 * A request that is certainly in flight: sent over a socket of its own with its body cut short, so that the server
 * cannot answer it until `finish()` sends the rest. `received()` resolves once the server has read every byte sent
 * so far (its side of the connection has nothing left to read: /proc/net/tcp), whatever the machine's load.
 */
async function heldRequest(base: string, path: string, body: string) {
  const { hostname, port } = new URL(base);
  let text = '';
  // one decoder for the whole answer: its Chinese message may be split between two chunks
  const decoder = new TextDecoder();
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => (closed = resolve));
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: { data: (_s, chunk) => void (text += decoder.decode(chunk, { stream: true })), close: () => closed(), error: () => closed() },
  });
  const head = `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.write(head + body.slice(0, 5));
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  // the server's end of this connection: local port = the server's, remote port = ours
  const serverSide = new RegExp(`^\\s*\\d+: [0-9A-F]{8}:${hex(Number(port))} [0-9A-F]{8}:${hex(socket.localPort)} 01 [0-9A-F]{8}:([0-9A-F]{8})`, 'm');
  return {
    async received() {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await Bun.sleep(5)) {
        const m = serverSide.exec(readFileSync('/proc/net/tcp', 'utf8'));
        if (m && Number.parseInt(m[1], 16) === 0) return;
      }
      throw new Error('the server never read the request');
    },
    finish() {
      socket.write(body.slice(5));
    },
    /** the answer's status line and JSON body, once the server has closed the connection */
    async answer() {
      await ended;
      text += decoder.decode();
      const at = text.indexOf('\r\n\r\n');
      if (at < 0) throw new Error(`the server closed the connection without answering (received ${JSON.stringify(text)})`);
      return { status: text.slice(0, text.indexOf('\r\n')), body: JSON.parse(text.slice(at + 4)) as unknown };
    },
  };
}

/** The environment a process runs with now (Linux): after an execve, the new one. */
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

test('a BUN_JSC_numberOfGCMarkers already set is kept: no restart, and the process serves (from source)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aigc-markers-'));
  const server = await spawnServer({ env: { ...process.env, DATA_DIR: dir, WORKERS: '1', BUN_JSC_numberOfGCMarkers: '2' }, fromSource: true });
  const environ = environOf(server.proc.pid);
  expect(environ).toContain('BUN_JSC_numberOfGCMarkers=2');
  expect(environ).not.toContain('BUN_JSC_numberOfGCMarkers=1');
  expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  expect(await server.stop()).toBe(0);
}, 120_000);

test('SIGTERM: stops accepting, finishes the in-flight request, closes the database, exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aigc-stop-'));
  // a busy CI machine can take well over 15 s to start a second PGlite: wait up to 60 s, and say so if it never came up
  const server = await spawnServer({ env: { ...process.env, DATA_DIR: dir, WORKERS: '1' } });
  const base = server.base;
  // the binary re-executed itself with one GC marker (src/ops/gc-markers.ts): the same process, which is what serves
  // and gets the signal below
  expect(environOf(server.proc.pid)).toContain('BUN_JSC_numberOfGCMarkers=1');
  // a login whose body is still arriving when the signal comes: in flight however fast or slow the machine is (a
  // plain request sent a few ms before the signal sometimes had not reached the server yet, and was reset)
  const login = await heldRequest(base, '/api/v1/auth/login', JSON.stringify({ account: 'nobody_here', password: 'User@1234' }));
  await login.received();
  const stopped = server.stop();
  // the server stops listening at once; the held request is still served
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await fetch(`${base}/healthz`).then(() => true, () => false)); ) await Bun.sleep(10);
  expect(await fetch(`${base}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused');
  login.finish();
  const answer = await login.answer();
  expect(answer.status).toBe('HTTP/1.1 200 OK');
  expect(answer.body).toMatchObject({ code: 401 });
  expect(await stopped).toBe(0);
  const out = server.output();
  expect(out).toContain('stopping');
  expect(out).toContain('stopped');
}, 120_000);
