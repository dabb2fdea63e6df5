// Browser clients (issue 14): CORS, signed result links (signed_url), /favicon.ico, history pagination and
// PATCH /favorite_list/{id} (rename, move).
import { afterAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { decode as decodePng } from 'fast-png';
import { ConfigError, loadConfig } from '../src/config';
import { users } from '../src/db/schema';
import { parseOrigin, readBrowserSettings } from '../src/http/browser-settings';
import { parseDuration } from '../src/config';
import { createResultLinks } from '../src/http/result-links';
import { type ListedNode, parentsFirst } from '../src/modules/favorites/service';
import { testEnv } from './support/env';
import { call, newUser, PASSWORD, type TestUser } from './support/http';
import { createTask, download, waitTask } from './support/tasks';

const env = await testEnv();
afterAll(() => env.clock.reset());

const APP_ORIGIN = 'https://app.example.com';

function appWith(browsers: Partial<(typeof env.config)['browsers']>) {
  return env.makeApp({ config: { ...env.config, browsers: { ...env.config.browsers, ...browsers } } });
}

const preflightHeaders = (origin: string) => ({
  origin,
  'access-control-request-method': 'GET',
  'access-control-request-headers': 'authorization, idempotency-key',
});

const userId = async (u: TestUser) =>
  (await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, u.account)))[0].id;

describe('CORS', () => {
  const listed = appWith({ corsOrigins: [APP_ORIGIN], corsCredentials: false });

  test('a preflight from a listed origin: 204 with the allowed methods and headers, before auth and the guard', async () => {
    const res = await call('OPTIONS', '/api/v1/user/generation_list', { app: listed, headers: preflightHeaders(APP_ORIGIN) });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('vary')).toContain('Origin');
    const methods = res.headers.get('access-control-allow-methods')!.split(/,\s*/);
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS']));
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'x-request-id', 'range']));
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    // a PATCH preflight of a favorites route, too (no token, no body)
    const patch = await call('OPTIONS', '/api/v1/user/favorite_list/12', {
      app: listed,
      headers: { ...preflightHeaders(APP_ORIGIN), 'access-control-request-method': 'PATCH' },
    });
    expect(patch.status).toBe(204);
    expect(patch.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  });

  test('a preflight from an unlisted origin gets no CORS header (the browser blocks the request)', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net', 'http://app.example.com', 'null']) {
      const res = await call('OPTIONS', '/api/v1/user/generation_list', { app: listed, headers: preflightHeaders(origin) });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  test('real responses carry Allow-Origin, Vary and Expose-Headers for a listed origin (errors included)', async () => {
    const u = await newUser('cors');
    const ok = await call('GET', '/api/v1/user/generation_list', { app: listed, token: u.token, headers: { origin: APP_ORIGIN } });
    expect(ok.body.code).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(ok.headers.get('vary')).toContain('Origin');
    const exposed = ok.headers.get('access-control-expose-headers')!.toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['retry-after', 'x-request-id', 'content-range', 'accept-ranges', 'content-length']));
    // a 401 must be readable by the page too (it logs the user out on it)
    const denied = await call('GET', '/api/v1/user/generation_list', { app: listed, headers: { origin: APP_ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    // an unknown route (404)
    const missing = await call('GET', '/api/v1/nothing-here', { app: listed, headers: { origin: APP_ORIGIN } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    // an unlisted origin: nothing but Vary
    const other = await call('GET', '/api/v1/user/generation_list', { app: listed, token: u.token, headers: { origin: 'https://evil.example.com' } });
    expect(other.body.code).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toContain('Origin');
  });

  test('CORS_ORIGINS=*: Allow-Origin * and never Allow-Credentials', async () => {
    const any = appWith({ corsOrigins: '*', corsCredentials: false });
    const pre = await call('OPTIONS', '/api/v1/generation', { app: any, headers: preflightHeaders('https://anything.example') });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const get = await call('GET', '/healthz', { app: any, headers: { origin: 'https://anything.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    expect(get.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('CORS_CREDENTIALS=true answers Allow-Credentials to listed origins only', async () => {
    const cred = appWith({ corsOrigins: [APP_ORIGIN], corsCredentials: true });
    const pre = await call('OPTIONS', '/api/v1/generation', { app: cred, headers: preflightHeaders(APP_ORIGIN) });
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await call('OPTIONS', '/api/v1/generation', { app: cred, headers: preflightHeaders('https://evil.example.com') });
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('not configured (the default): no CORS header at all, OPTIONS is not answered', async () => {
    const pre = await call('OPTIONS', '/api/v1/user/generation_list', { headers: preflightHeaders(APP_ORIGIN) });
    expect(pre.status).toBe(404);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const get = await call('GET', '/healthz', { headers: { origin: APP_ORIGIN } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    expect(get.headers.get('vary')).toBeNull();
  });

  test('settings: origins are normalised and checked; * alone; * with credentials refused; SIGNED_URL_TTL', () => {
    const read = (e: Record<string, string>) => readBrowserSettings(e, parseDuration);
    expect(read({})).toEqual({ corsOrigins: null, corsCredentials: false, signedUrlTtl: 3600 });
    expect(read({ CORS_ORIGINS: ' HTTPS://App.Example.com:443/ , http://localhost:5173' }).corsOrigins).toEqual([APP_ORIGIN, 'http://localhost:5173']);
    expect(read({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(read({ SIGNED_URL_TTL: '90m' }).signedUrlTtl).toBe(5400);
    const bads: Record<string, string>[] = [
      { CORS_ORIGINS: '*, https://a.example' },
      { CORS_ORIGINS: 'https://a.example/app' },
      { CORS_ORIGINS: 'https://*.example.com' },
      { CORS_ORIGINS: 'ftp://a.example' },
      { CORS_ORIGINS: 'a.example' },
      { CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' },
      { CORS_CREDENTIALS: 'maybe' },
      { SIGNED_URL_TTL: '0' },
      { SIGNED_URL_TTL: 'soon' },
    ];
    for (const bad of bads) {
      expect(() => read(bad)).toThrow(ConfigError);
    }
    expect(() => parseOrigin('X', 'https://u:p@a.example')).toThrow(ConfigError);
    const config = loadConfig({ DATA_DIR: env.dataDir, JWT_SECRET: 'x'.repeat(32), CORS_ORIGINS: APP_ORIGIN, SIGNED_URL_TTL: '2h' });
    expect(config.browsers).toEqual({ corsOrigins: [APP_ORIGIN], corsCredentials: false, signedUrlTtl: 7200 });
  });
});

describe('signed result links', () => {
  const SIGNED = /^\/generated_outputs\/(task_[0-9a-f]{20}\.png)\?exp=(\d+)&sid=([A-Za-z0-9_-]+)&sig=([0-9a-f]{64})$/;
  let owner: TestUser;
  let done: any;
  let second: any;

  test('completed tasks carry signed_url in the poll, the history and the live events; others do not', async () => {
    owner = await newUser('sig');
    const id = await createTask(owner.token, { type: 't2i', prompt: 'a red square', parameters: { width: 64, height: 64 } });
    done = await waitTask(owner.token, id);
    expect(done.status).toBe('completed');
    expect(done.signed_url).toMatch(SIGNED);
    expect(done.signed_url.startsWith(`${done.result_url}?`)).toBe(true);
    const id2 = await createTask(owner.token, { type: 't2i', prompt: 'a blue square', parameters: { width: 64, height: 64 } });
    second = await waitTask(owner.token, id2);
    // a failed task: no signed_url in the poll nor in the history
    const failedId = `task_${randomBytes(10).toString('hex')}`;
    await env.database.db.execute(sql`
      insert into tasks (id, user_id, type, prompt, parameters, "references", reference_files, status, error, review_status, created_at)
      values (${failedId}, ${await userId(owner)}, 't2i', 'x', '{}', '{}', '[]', 'failed', 'boom', 'pending', now())`);
    const failed = await call('GET', `/api/v1/generation/${failedId}`, { token: owner.token });
    expect(failed.body.data.status).toBe('failed');
    expect(failed.body.data).not.toHaveProperty('signed_url');
    const list = (await call('GET', '/api/v1/user/generation_list', { token: owner.token })).body.data as any[];
    const byId = new Map(list.map((r) => [r.task_id, r]));
    expect(byId.get(id).signed_url).toMatch(SIGNED);
    expect(byId.get(id).signed_url.startsWith(`${done.result_url}?`)).toBe(true);
    expect(byId.get(failedId)).not.toHaveProperty('signed_url');
    // the live events of a completed task: the one event is the poll's data, signed_url included
    const res = await env.app.handle(new Request(`http://localhost/api/v1/generation/${id}/events`, { headers: { authorization: `Bearer ${owner.token}` } }));
    const text = await res.text();
    const event = JSON.parse(/^data: (.*)$/m.exec(text)![1]);
    expect(event.signed_url).toMatch(SIGNED);
    expect(event.signed_url.startsWith(`${done.result_url}?`)).toBe(true);
  });

  test('the link works without a token, under both paths, with Range (206)', async () => {
    const withToken = await download(owner.token, done.result_url);
    expect(withToken.status).toBe(200);
    const plain = await download(undefined, done.signed_url);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('image/png');
    expect(Buffer.compare(plain.bytes, withToken.bytes)).toBe(0);
    const prefixed = await download(undefined, `/api/v1${done.signed_url}`);
    expect(prefixed.status).toBe(200);
    expect(Buffer.compare(prefixed.bytes, withToken.bytes)).toBe(0);
    const part = await download(undefined, done.signed_url, { range: 'bytes=0-9' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${withToken.bytes.length}`);
    expect(Buffer.compare(part.bytes, withToken.bytes.subarray(0, 10))).toBe(0);
    // the bearer rule is unchanged: no token and no link is HTTP 401
    expect((await download(undefined, done.result_url)).status).toBe(401);
  });

  /** status and body of a download, for comparing two refusals */
  const answer = async (url: string) => {
    const r = await download(undefined, url);
    return { status: r.status, body: r.body instanceof ArrayBuffer ? Buffer.from(r.body).toString('hex') : r.body };
  };
  const nonexistent = () => `/generated_outputs/task_${randomBytes(10).toString('hex')}.png`;

  test('a tampered link is HTTP 403, the same answer for an existing and a non-existing file', async () => {
    const [, , exp, sid, sig] = SIGNED.exec(done.signed_url)!;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    const tampered = await answer(`${done.result_url}?exp=${exp}&sid=${sid}&sig=${flipped}`);
    expect(tampered.status).toBe(403);
    expect(tampered.body).toMatchObject({ code: 403 });
    expect(await answer(`${nonexistent()}?exp=${exp}&sid=${sid}&sig=${flipped}`)).toEqual(tampered);
    // a later expiry with the old signature
    expect(await answer(`${done.result_url}?exp=${Number(exp) + 3600}&sid=${sid}&sig=${sig}`)).toEqual(tampered);
    // another task's path with this link's valid query
    expect(second.result_url).not.toBe(done.result_url);
    expect(await answer(`${second.result_url}?exp=${exp}&sid=${sid}&sig=${sig}`)).toEqual(tampered);
    // the valid query on a name that does not exist
    expect(await answer(`${nonexistent()}?exp=${exp}&sid=${sid}&sig=${sig}`)).toEqual(tampered);
    // parts missing or malformed
    expect(await answer(`${done.result_url}?sig=${sig}`)).toEqual(tampered);
    expect(await answer(`${done.result_url}?exp=${exp}&sid=${sid}&sig=zz`)).toEqual(tampered);
  });

  test('an expired link is HTTP 403, the same for an existing and a non-existing file', async () => {
    const [, , exp, sid, sig] = SIGNED.exec(done.signed_url)!;
    // valid at least the TTL, at most 1.25 × TTL
    const now = Math.floor(env.clock.now().getTime() / 1000);
    const ttl = env.config.browsers.signedUrlTtl;
    expect(Number(exp) - now).toBeGreaterThanOrEqual(ttl - 5);
    expect(Number(exp) - now).toBeLessThanOrEqual(ttl * 1.25 + 5);
    // a link signed for a name that does not exist, by the same key (what a valid link for it would be)
    const links = createResultLinks(env.config.jwtSecret, ttl, env.clock);
    const ghost = links.sign(nonexistent(), sid);
    expect((await answer(ghost)).status).toBe(404); // valid and unexpired: the file is simply not there
    try {
      env.clock.advance((ttl * 1.25 + 60) * 1000);
      const expired = await answer(`${done.result_url}?exp=${exp}&sid=${sid}&sig=${sig}`);
      expect(expired.status).toBe(403);
      expect(await answer(ghost)).toEqual(expired);
      // the bearer form does not expire with it
      expect((await download(owner.token, done.result_url)).status).toBe(200);
    } finally {
      env.clock.reset();
    }
    expect((await answer(done.signed_url)).status).toBe(200);
  });

  test("logging out kills the session's links; another session's links live on", async () => {
    const login = await call('POST', '/api/v1/auth/login', { body: { account: owner.account, password: PASSWORD } });
    const token2 = login.body.data.token as string;
    const poll = await call('GET', `/api/v1/generation/${done.task_id}`, { token: token2 });
    const link2 = poll.body.data.signed_url as string;
    expect(link2).toMatch(SIGNED);
    expect(link2).not.toBe(done.signed_url); // another session, another link
    expect((await download(undefined, link2)).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/logout', { token: token2 })).body.code).toBe(200);
    const dead = await answer(link2);
    expect(dead.status).toBe(403);
    expect((await answer(done.signed_url)).status).toBe(200);
  });

  test('a hidden record: its link is 404 like the bearer download', async () => {
    expect((await call('DELETE', `/api/v1/user/generation_list/${second.task_id}`, { token: owner.token })).body.code).toBe(200);
    expect((await download(undefined, second.signed_url)).status).toBe(404);
    expect((await download(owner.token, second.result_url)).status).toBe(404);
  });
});

describe('/favicon.ico', () => {
  test('an ICO with 16×16 and 32×32 PNG images, cacheable for a day, not in the OpenAPI document', async () => {
    const res = await call('GET', '/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/x-icon');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    const ico = new Uint8Array(res.body as ArrayBuffer);
    const v = new DataView(ico.buffer);
    expect([v.getUint16(0, true), v.getUint16(2, true), v.getUint16(4, true)]).toEqual([0, 1, 2]);
    const sizes: number[] = [];
    for (let k = 0; k < 2; k++) {
      const e = 6 + 16 * k;
      const length = v.getUint32(e + 8, true);
      const offset = v.getUint32(e + 12, true);
      const png = decodePng(ico.subarray(offset, offset + length));
      expect([png.width, png.height]).toEqual([ico[e], ico[e + 1]]);
      sizes.push(png.width);
    }
    expect(sizes).toEqual([16, 32]);
    const spec = await call('GET', '/swagger/json');
    expect(Object.keys(spec.body.paths)).not.toContain('/favicon.ico');
  });
});

describe('history pagination', () => {
  let u: TestUser;
  let all: any[];

  test('setup: 25 records, some with the same created_at and some with microseconds', async () => {
    u = await newUser('page');
    const uid = await userId(u);
    for (let i = 0; i < 25; i++) {
      const id = `task_${randomBytes(10).toString('hex')}`;
      // groups of three share a second; every third one has microseconds that a JS Date cannot hold
      const at = `2026-01-01T00:00:${String(Math.floor(i / 3)).padStart(2, '0')}.${i % 3 === 2 ? '000123' : '000000'}Z`;
      await env.database.db.execute(sql`
        insert into tasks (id, user_id, type, prompt, parameters, "references", reference_files, status, error, review_status, created_at)
        values (${id}, ${uid}, 't2i', ${`p${i}`}, '{}', '{}', '[]', 'failed', 'x', 'pending', ${at}::timestamptz)`);
    }
    const res = await call('GET', '/api/v1/user/generation_list', { token: u.token });
    expect(res.body.code).toBe(200);
    expect(res.body).not.toHaveProperty('next_cursor'); // without parameters: exactly as before
    all = res.body.data;
    expect(all).toHaveLength(25);
  });

  test('limit=10: 10 + 10 + 5, cursors chain, nothing twice, the same order as the whole list', async () => {
    const pages: any[][] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '?limit=10' : `?limit=10&cursor=${encodeURIComponent(cursor)}`;
      const res = await call('GET', `/api/v1/user/generation_list${q}`, { token: u.token });
      expect(res.body.code).toBe(200);
      expect(Array.isArray(res.body.data)).toBe(true);
      expect(res.body).toHaveProperty('next_cursor');
      pages.push(res.body.data);
      cursor = res.body.next_cursor;
      expect(pages.length).toBeLessThan(5);
    } while (cursor !== null);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const ids = pages.flat().map((r) => r.task_id);
    expect(new Set(ids).size).toBe(25);
    expect(ids).toEqual(all.map((r) => r.task_id));
    expect(pages.flat()).toEqual(all);
  });

  test('a cursor alone pages by 20; the last page has next_cursor null', async () => {
    const first = await call('GET', '/api/v1/user/generation_list?limit=1', { token: u.token });
    const rest = await call('GET', `/api/v1/user/generation_list?cursor=${first.body.next_cursor}`, { token: u.token });
    expect(rest.body.data.map((r: any) => r.task_id)).toEqual(all.slice(1, 21).map((r) => r.task_id));
    const whole = await call('GET', '/api/v1/user/generation_list?limit=100', { token: u.token });
    expect(whole.body.data).toEqual(all);
    expect(whole.body.next_cursor).toBeNull();
  });

  test('a bad limit or cursor is code 400 naming the field', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'limit=']) {
      const res = await call('GET', `/api/v1/user/generation_list?${q}`, { token: u.token });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(400);
      expect(res.body.message).toContain('limit');
    }
    const forged = Buffer.from('123.task_nothex').toString('base64url');
    for (const c of ['garbage!', '', forged, Buffer.from('x'.repeat(10)).toString('base64url'), 'A'.repeat(300)]) {
      const res = await call('GET', `/api/v1/user/generation_list?limit=5&cursor=${encodeURIComponent(c)}`, { token: u.token });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(400);
      expect(res.body.message).toContain('cursor');
    }
    expect((await call('GET', '/api/v1/user/generation_list?limit=5')).status).toBe(401);
  });
});

describe('PATCH /api/v1/user/favorite_list/{id}', () => {
  const list = async (u: TestUser) => (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data as ListedNode[];
  const add = async (u: TestUser, parent_id: number, name: string, node_type = 'folder', refer_url?: string) => {
    const res = await call('POST', '/api/v1/user/favorite_list', { token: u.token, body: { parent_id, name, node_type, refer_url } });
    expect(res.body.code).toBe(200);
    return res.body.data.id as number;
  };
  const patch = (u: TestUser, id: number | string, body: unknown) => call('PATCH', `/api/v1/user/favorite_list/${id}`, { token: u.token, body });
  const expectRefused = async (p: Promise<{ status: number; body: any }>, text: string) => {
    const res = await p;
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
    expect(res.body.message).toContain(text);
  };
  /** every node comes after its parent, and following parents from any node ends at the root */
  const expectTree = (nodes: ListedNode[]) => {
    expect(nodes[0].parent_id).toBeNull();
    const seen = new Set<number>();
    for (const n of nodes) {
      if (n.parent_id !== null) expect(seen.has(n.parent_id)).toBe(true);
      seen.add(n.id);
    }
  };

  test('rename and move; the answer is the node as listed; the list keeps parents first', async () => {
    const u = await newUser('fav');
    const root = (await list(u))[0].id;
    const a = await add(u, root, 'A');
    const b = await add(u, root, 'B');
    const f = await add(u, a, 'f.png', 'file', '/generated_outputs/x.png');
    const c = await add(u, a, 'C');
    const renamed = await patch(u, a, { name: '  A2  ' });
    expect(renamed.body).toEqual({ code: 200, message: '修改收藏夹内容成功', data: { id: a, parent_id: root, name: 'A2', node_type: 'folder' } });
    // B (an older id) under C (a newer one)
    const moved = await patch(u, b, { parent_id: c });
    expect(moved.body.data).toEqual({ id: b, parent_id: c, name: 'B', node_type: 'folder' });
    // both at once, and a file keeps its refer_url
    const file = await patch(u, f, { parent_id: b, name: 'g.png' });
    expect(file.body.data).toEqual({ id: f, parent_id: b, name: 'g.png', node_type: 'file', refer_url: '/generated_outputs/x.png' });
    const nodes = await list(u);
    expectTree(nodes);
    expect(nodes.map((n) => n.id)).toEqual([root, a, c, b, f]);
    expect(nodes.find((n) => n.id === b)).toEqual({ id: b, parent_id: c, name: 'B', node_type: 'folder' });
    // moving to where it is already is fine
    expect((await patch(u, c, { parent_id: a })).body.code).toBe(200);
  });

  test('refused: cycles, files as parents, the root, foreign and missing ids, bad names, empty bodies', async () => {
    const u = await newUser('fav');
    const other = await newUser('fav');
    const root = (await list(u))[0].id;
    const otherRoot = (await list(other))[0].id;
    const otherFolder = await add(other, otherRoot, 'theirs');
    const a = await add(u, root, 'A');
    const c = await add(u, a, 'C');
    const d = await add(u, c, 'D');
    const f = await add(u, a, 'f.png', 'file', 'u');
    await expectRefused(patch(u, a, { parent_id: a }), 'parent_id');
    await expectRefused(patch(u, a, { parent_id: c }), '子树');
    await expectRefused(patch(u, a, { parent_id: d }), '子树');
    await expectRefused(patch(u, c, { parent_id: f }), '是文件');
    await expectRefused(patch(u, root, { name: 'x' }), '根目录不能重命名');
    await expectRefused(patch(u, root, { parent_id: a }), '根目录不能移动');
    await expectRefused(patch(u, otherFolder, { name: 'mine' }), '收藏内容不存在');
    await expectRefused(patch(u, a, { parent_id: otherFolder }), `parent_id ${otherFolder} 对应的文件夹不存在`);
    await expectRefused(patch(u, a, { parent_id: otherRoot }), '对应的文件夹不存在');
    await expectRefused(patch(u, 999_999_999, { name: 'x' }), '收藏内容不存在');
    await expectRefused(patch(u, a, { parent_id: 2_000_000_000 }), '对应的文件夹不存在');
    await expectRefused(patch(u, 'abc', { name: 'x' }), 'id');
    await expectRefused(patch(u, a, { name: '   ' }), 'name');
    await expectRefused(patch(u, a, { name: 'x'.repeat(256) }), 'name');
    await expectRefused(patch(u, a, { name: 'a\u0007b' }), 'name');
    await expectRefused(patch(u, a, {}), 'name 或 parent_id');
    await expectRefused(patch(u, a, { parent_id: 'x' }), 'parent_id');
    // nothing changed
    const nodes = await list(u);
    expect(nodes.map((n) => [n.id, n.parent_id, n.name])).toEqual([[root, null, '/'], [a, root, 'A'], [c, a, 'C'], [d, c, 'D'], [f, a, 'f.png']]);
    expect((await list(other)).find((n) => n.id === otherFolder)?.name).toBe('theirs');
    // without a token
    expect((await call('PATCH', `/api/v1/user/favorite_list/${a}`, { body: { name: 'x' } })).status).toBe(401);
  });

  test('concurrent crossing moves cannot build a cycle', async () => {
    const u = await newUser('fav');
    const root = (await list(u))[0].id;
    for (let round = 0; round < 5; round++) {
      const x = await add(u, root, `x${round}`);
      const y = await add(u, root, `y${round}`);
      const [rx, ry] = await Promise.all([patch(u, x, { parent_id: y }), patch(u, y, { parent_id: x })]);
      expect([rx.body.code, ry.body.code].sort()).toEqual([200, 400]);
    }
    expectTree(await list(u));
  });

  test('parentsFirst keeps id order and puts moved subtrees after their new parent', () => {
    const n = (id: number, parent_id: number | null): ListedNode => ({ id, parent_id, name: String(id), node_type: 'folder' });
    const plain = [n(1, null), n(2, 1), n(3, 2), n(4, 1)];
    expect(parentsFirst(plain)).toBe(plain);
    const moved = [n(1, null), n(2, 9), n(3, 2), n(4, 1), n(5, 2), n(9, 4), n(10, 1)];
    expect(parentsFirst(moved).map((x) => x.id)).toEqual([1, 4, 9, 2, 3, 5, 10]);
  });
});
