import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { eq, inArray, sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client';
import { favorites } from '../src/db/schema';
import { removeFileNodesByUrl } from '../src/modules/favorites/service';
import { testEnv } from './support/env';
import { call, newUser, type TestUser } from './support/http';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const BASE = '/api/v1/user/favorite_list';
type Node = { id: number; parent_id: number | null; name: string; node_type: string; refer_url?: string };
type Item = {
  temp_id: number;
  parent_id?: number | null;
  parent_temp_id?: number | null;
  name: string;
  node_type: string;
  refer_url?: string | null;
};

const list = (u: TestUser) => call('GET', BASE, { token: u.token });
const add = (u: TestUser, body: unknown) => call('POST', BASE, { token: u.token, body });
const del = (u: TestUser, id: number | string) => call('DELETE', `${BASE}/${id}`, { token: u.token });
const batch = (u: TestUser, items: unknown) => call('POST', `${BASE}/batch`, { token: u.token, body: { items } });

async function nodes(u: TestUser): Promise<Node[]> {
  const res = await list(u);
  expect(res.status).toBe(200);
  expect(res.body.code).toBe(200);
  return res.body.data;
}
const rootOf = async (u: TestUser) => (await nodes(u))[0].id;

async function addOk(u: TestUser, body: Record<string, unknown>): Promise<number> {
  const res = await add(u, body);
  expect(res.body).toMatchObject({ code: 200, message: '成功创建新收藏内容' });
  return res.body.data.id;
}
const folder = (u: TestUser, parent_id: number, name = 'dir') => addOk(u, { parent_id, name, node_type: 'folder' });
const file = (u: TestUser, parent_id: number, name = 'a.png', refer_url = '/generated_outputs/a.png') =>
  addOk(u, { parent_id, name, node_type: 'file', refer_url });

async function batchOk(u: TestUser, items: Item[]): Promise<Record<string, number>> {
  const res = await batch(u, items);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ code: 200, message: '批量创建成功' });
  return res.body.data.mapping;
}

/** HTTP 200 + code 400 with `message` containing `text`, and the caller's tree unchanged. */
async function rejected(u: TestUser, run: () => Promise<{ status: number; body: any }>, text: string) {
  const before = await nodes(u);
  const res = await run();
  expect(res.status).toBe(200);
  expect(res.body.code).toBe(400);
  expect(res.body.message).toContain(text);
  expect(await nodes(u)).toEqual(before);
  return res.body.message as string;
}

const db = async () => (await testEnv()).database.db;

/** Nodes anywhere whose parent row is gone. */
async function orphanCount(): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await (await db()).execute(sql`
      select count(*)::int as n from favorites c left join favorites p on p.id = c.parent_id
      where c.parent_id is not null and p.id is null`),
  );
  return Number(rows[0].n);
}

/** Shuffles in place with a seeded generator (reproducible). */
function shuffle<T>(a: T[], seed = 42): T[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A random tree of n items under `parentId`: item k's parent is a random earlier folder item (or the real one). */
function randomTree(n: number, parentId: number, seed = 7): Item[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const items: Item[] = [];
  const folders: number[] = [];
  for (let k = 1; k <= n; k++) {
    const isFolder = k <= 2 || rnd() < 0.4;
    const p = folders.length && rnd() < 0.9 ? folders[Math.floor(rnd() * folders.length)] : undefined;
    items.push({
      temp_id: k * 10,
      ...(p === undefined ? { parent_id: parentId } : { parent_temp_id: p }),
      name: `${isFolder ? 'd' : 'f'}${k}`,
      node_type: isFolder ? 'folder' : 'file',
      ...(isFolder ? {} : { refer_url: `/generated_outputs/${k}.png` }),
    });
    if (isFolder) folders.push(k * 10);
  }
  return items;
}

describe('GET /api/v1/user/favorite_list', () => {
  test('a new user has exactly the root: "/", parent null, a folder, no refer_url key', async () => {
    const u = await newUser('fav');
    const res = await list(u);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('成功获取收藏夹列表');
    expect(res.body.data).toHaveLength(1);
    const [root] = res.body.data;
    expect(root).toEqual({ id: root.id, parent_id: null, name: '/', node_type: 'folder' });
    expect('refer_url' in root).toBe(false);
  });

  test('root first then by id; refer_url on files only; only the caller\'s nodes', async () => {
    const u = await newUser('fav');
    const other = await newUser('fav');
    const root = await rootOf(u);
    const a = await folder(u, root, 'A');
    const f1 = await file(u, a, 'x.png', '/generated_outputs/x.png');
    const b = await folder(u, root, 'B');
    const f2 = await file(u, root, 'y.png', '/outputs/y.png');
    await folder(other, await rootOf(other), 'theirs');
    expect(await nodes(u)).toEqual([
      { id: root, parent_id: null, name: '/', node_type: 'folder' },
      { id: a, parent_id: root, name: 'A', node_type: 'folder' },
      { id: f1, parent_id: a, name: 'x.png', node_type: 'file', refer_url: '/generated_outputs/x.png' },
      { id: b, parent_id: root, name: 'B', node_type: 'folder' },
      { id: f2, parent_id: root, name: 'y.png', node_type: 'file', refer_url: '/outputs/y.png' },
    ]);
  });

  test('a missing root is re-created (once, even by concurrent requests)', async () => {
    const u = await newUser('fav');
    const oldRoot = await rootOf(u);
    await folder(u, oldRoot, 'gone with the root');
    const d = await db();
    // the whole tree removed directly in the database (no API removes a root)
    await d.delete(favorites).where(inArray(favorites.id, (await nodes(u)).map((n) => n.id)));
    const results = await Promise.all([list(u), list(u), list(u)]);
    for (const r of results) {
      expect(r.body.code).toBe(200);
      expect(r.body.data).toHaveLength(1);
      expect(r.body.data[0]).toMatchObject({ parent_id: null, name: '/', node_type: 'folder' });
    }
    const newRoot = results[0].body.data[0].id;
    expect(newRoot).not.toBe(oldRoot);
    expect(results.every((r) => r.body.data[0].id === newRoot)).toBe(true);
    // the new root works as a parent
    const id = await file(u, newRoot);
    expect((await nodes(u)).map((n) => n.id)).toEqual([newRoot, id]);
  });
});

describe('POST /api/v1/user/favorite_list', () => {
  test('creates folders and files; names trimmed; folders ignore refer_url; urls and names need not be unique', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const res = await add(u, { parent_id: root, name: '  My folder\t', node_type: 'folder', refer_url: '/ignored' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 200, message: '成功创建新收藏内容', data: { id: expect.any(Number) } });
    const dir = res.body.data.id;
    const f1 = await file(u, dir, 'same', '/outputs/c.png');
    const f2 = await file(u, dir, 'same', '/outputs/c.png');
    const longName = '😀'.repeat(255); // 255 characters, 510 UTF-16 units
    const f3 = await file(u, root, longName, 'x'.repeat(2048));
    const f4 = await file(u, root, '中文 名称', 'any string at all');
    const all = await nodes(u);
    expect(all.find((n) => n.id === dir)).toEqual({ id: dir, parent_id: root, name: 'My folder', node_type: 'folder' });
    expect(all.filter((n) => n.id === f1 || n.id === f2).map((n) => n.refer_url)).toEqual(['/outputs/c.png', '/outputs/c.png']);
    expect(all.find((n) => n.id === f3)?.name).toBe(longName);
    expect(all.find((n) => n.id === f4)).toMatchObject({ name: '中文 名称', refer_url: 'any string at all' });
    const [row] = await (await db()).select().from(favorites).where(eq(favorites.id, dir));
    expect(row.referUrl).toBeNull();
  });

  test('parent: a file, another user\'s folder, a missing or absurd id ⇒ code 400, nothing written', async () => {
    const u = await newUser('fav');
    const other = await newUser('fav');
    const root = await rootOf(u);
    const f = await file(u, root);
    const theirs = await folder(other, await rootOf(other), 'theirs');
    const body = (parent_id: unknown) => ({ parent_id, name: 'n', node_type: 'folder' });
    await rejected(u, () => add(u, body(f)), `parent_id ${f} 是文件`);
    const m1 = await rejected(u, () => add(u, body(theirs)), `parent_id ${theirs} 对应的文件夹不存在`);
    const m2 = await rejected(u, () => add(u, body(2_000_000_000)), '对应的文件夹不存在');
    // another user's folder looks exactly like a missing one
    expect(m1.replace(String(theirs), '#')).toBe(m2.replace('2000000000', '#'));
    await rejected(u, () => add(u, body(1e12)), '对应的文件夹不存在');
    await rejected(u, () => add(u, body(-1)), '对应的文件夹不存在');
    await rejected(u, () => add(u, body(0)), '对应的文件夹不存在');
    await rejected(u, () => add(u, body(1.5)), 'parent_id');
    await rejected(u, () => add(u, body('abc')), 'parent_id');
    await rejected(u, () => add(u, { name: 'n', node_type: 'folder' }), 'parent_id');
    expect((await nodes(other)).length).toBe(2);
  });

  test.each([
    ['empty name', { name: '' }, 'name'],
    ['whitespace-only name', { name: ' \t\u3000 ' }, 'name 不能为空'],
    ['256 characters', { name: 'a'.repeat(256) }, 'name 不能超过 255 个字符'],
    ['256 characters after trimming spaces', { name: ` ${'好'.repeat(256)} ` }, 'name 不能超过 255 个字符'],
    ['control character inside', { name: 'a\u0001b' }, 'name 不能包含控制字符'],
    ['newline inside', { name: 'a\nb' }, 'name 不能包含控制字符'],
    ['NUL inside', { name: 'a\u0000b' }, 'name（不能包含 NUL 字符）'],
    ['lone surrogate', { name: 'a\ud800b' }, 'name（不能包含不成对的 UTF-16 代理项）'],
    ['name not a string', { name: 42 }, 'name'],
    ['missing name', { name: undefined }, 'name'],
    ['bad node_type', { node_type: 'dir' }, 'node_type'],
    ['missing node_type', { node_type: undefined }, 'node_type'],
    ['file without refer_url', { refer_url: undefined }, '文件节点必须提供 refer_url'],
    ['file with null refer_url', { refer_url: null }, '文件节点必须提供 refer_url'],
    ['file with empty refer_url', { refer_url: '' }, '文件节点必须提供 refer_url'],
    ['refer_url over 2048', { refer_url: 'x'.repeat(2049) }, 'refer_url 不能超过 2048 个字符'],
    ['refer_url with NUL', { refer_url: '/a\u0000b' }, 'refer_url（不能包含 NUL 字符）'],
    ['refer_url not a string', { refer_url: 5 }, 'refer_url'],
  ])('%s ⇒ HTTP 200, code 400 naming the field, nothing written', async (_n, over, text) => {
    const u = await newUser('fav');
    const body = { parent_id: await rootOf(u), name: 'ok', node_type: 'file', refer_url: '/u.png', ...over };
    for (const k of Object.keys(body) as (keyof typeof body)[]) if (body[k] === undefined) delete body[k];
    const msg = await rejected(u, () => add(u, body), text);
    expect(msg).toStartWith('参数不合规：');
  });

  test('a body that is not JSON, or not an object ⇒ code 400', async () => {
    const u = await newUser('fav');
    for (const body of ['{', '[]', 'null']) {
      const res = await call('POST', BASE, { token: u.token, body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(400);
    }
  });
});

describe('DELETE /api/v1/user/favorite_list/{id}', () => {
  test('removes the subtree and returns every removed node: named node first, then by depth, then id', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const keep = await folder(u, root, 'keep');
    const keepFile = await file(u, keep, 'k.png');
    const a = await folder(u, root, 'A');
    const b = await folder(u, a, 'B');
    const c = await file(u, a, 'c.png');
    const d = await folder(u, b, 'D');
    const e = await file(u, d, 'e.png');
    const f = await file(u, b, 'f.png');
    const res = await del(u, a);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: 200,
      message: '删除收藏夹内容成功',
      data: [
        { id: a, name: 'A' },
        { id: b, name: 'B' },
        { id: c, name: 'c.png' },
        { id: d, name: 'D' },
        { id: f, name: 'f.png' },
        { id: e, name: 'e.png' },
      ],
    });
    expect((await nodes(u)).map((n) => n.id)).toEqual([root, keep, keepFile]);
    // a single file
    expect((await del(u, keepFile)).body.data).toEqual([{ id: keepFile, name: 'k.png' }]);
    // gone now
    await rejected(u, () => del(u, keepFile), '收藏内容不存在');
  });

  test('named node first even when a descendant has a smaller id (batch in any order)', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const map = await batchOk(u, [
      { temp_id: 1, parent_id: root, name: 'top', node_type: 'folder' },
      { temp_id: 2, parent_temp_id: 1, name: 'mid', node_type: 'folder' },
    ]);
    const res = await del(u, map['2']);
    expect(res.body.data).toEqual([{ id: map['2'], name: 'mid' }]);
    const all = await del(u, map['1']);
    expect(all.body.data).toEqual([{ id: map['1'], name: 'top' }]);
  });

  test('the root cannot be deleted; another user\'s node or a missing id is code 400; nothing removed', async () => {
    const u = await newUser('fav');
    const other = await newUser('fav');
    const root = await rootOf(u);
    await file(u, root);
    const theirRoot = await rootOf(other);
    const theirs = await folder(other, theirRoot, 'theirs');
    await rejected(u, () => del(u, root), '根目录不能删除');
    await rejected(u, () => del(u, theirs), '收藏内容不存在');
    await rejected(u, () => del(u, theirRoot), '收藏内容不存在');
    await rejected(u, () => del(u, 2_000_000_000), '收藏内容不存在');
    await rejected(u, () => del(u, 2_147_483_647), '收藏内容不存在');
    expect((await nodes(other)).map((n) => n.id)).toEqual([theirRoot, theirs]);
  });

  test.each(['abc', '1.5', '-1', '0', '01', '1e3', '%20', '2147483648', '99999999999', '123456789012345678901234567890'])(
    'id %p ⇒ HTTP 200, code 400 (never 422)',
    async (id) => {
      const u = await newUser('fav');
      await rejected(u, () => del(u, id), '');
    },
  );
});

describe('POST /api/v1/user/favorite_list/batch', () => {
  test('the spec example; mapping has string keys; parents get smaller ids than children', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const res = await batch(u, [
      { temp_id: 3, parent_temp_id: 2, name: 'c.png', node_type: 'file', refer_url: '/outputs/c.png' },
      { temp_id: 1, parent_id: root, name: ' A ', node_type: 'folder' },
      { temp_id: 2, parent_temp_id: 1, name: 'B', node_type: 'folder', refer_url: '/ignored' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('批量创建成功');
    const mapping = res.body.data.mapping;
    expect(Object.keys(mapping).sort()).toEqual(['1', '2', '3']);
    expect(mapping['1']).toBeLessThan(mapping['2']);
    expect(mapping['2']).toBeLessThan(mapping['3']);
    expect(await nodes(u)).toEqual([
      { id: root, parent_id: null, name: '/', node_type: 'folder' },
      { id: mapping['1'], parent_id: root, name: 'A', node_type: 'folder' },
      { id: mapping['2'], parent_id: mapping['1'], name: 'B', node_type: 'folder' },
      { id: mapping['3'], parent_id: mapping['2'], name: 'c.png', node_type: 'file', refer_url: '/outputs/c.png' },
    ]);
  });

  test('negative and zero temp ids, explicit nulls for the unused parent field', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const mapping = await batchOk(u, [
      { temp_id: -5, parent_id: root, parent_temp_id: null, name: 'neg', node_type: 'folder' },
      { temp_id: 0, parent_id: null, parent_temp_id: -5, name: 'zero', node_type: 'file', refer_url: '/z' },
    ]);
    expect(Object.keys(mapping).sort()).toEqual(['-5', '0']);
    const all = await nodes(u);
    expect(all.find((n) => n.id === mapping['0'])?.parent_id).toBe(mapping['-5']);
  });

  test('a deep chain: depth 200, sent deepest first', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const items: Item[] = [];
    for (let k = 1; k <= 200; k++) {
      items.push({
        temp_id: k,
        ...(k === 1 ? { parent_id: root } : { parent_temp_id: k - 1 }),
        name: `level ${k}`,
        node_type: k === 200 ? 'file' : 'folder',
        ...(k === 200 ? { refer_url: '/deep.png' } : {}),
      });
    }
    const mapping = await batchOk(u, items.slice().reverse());
    const all = await nodes(u);
    expect(all).toHaveLength(201);
    const byId = new Map(all.map((n) => [n.id, n]));
    for (let k = 1; k <= 200; k++) {
      const n = byId.get(mapping[String(k)])!;
      expect(n.name).toBe(`level ${k}`);
      expect(n.parent_id).toBe(k === 1 ? root : mapping[String(k - 1)]);
    }
    // deleting the top returns all 200, top first, then each level
    const res = await del(u, mapping['1']);
    expect(res.body.data.map((n: { name: string }) => n.name)).toEqual(items.map((i) => i.name));
  });

  test('a wide batch: 1000 items of a random tree, shuffled; GET shows the same tree', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const top = await folder(u, root, 'import');
    const items = randomTree(1000, top);
    const mapping = await batchOk(u, shuffle(items.slice()));
    expect(Object.keys(mapping)).toHaveLength(1000);
    expect(new Set(Object.values(mapping)).size).toBe(1000);
    const all = await nodes(u);
    expect(all).toHaveLength(1002);
    const byId = new Map(all.map((n) => [n.id, n]));
    for (const it of items) {
      const n = byId.get(mapping[String(it.temp_id)])!;
      expect(n.name).toBe(it.name);
      expect(n.node_type).toBe(it.node_type);
      expect(n.refer_url).toBe(it.refer_url ?? undefined);
      const parent = it.parent_temp_id != null ? mapping[String(it.parent_temp_id)] : it.parent_id;
      expect(n.parent_id).toBe(parent!);
      expect(n.id).toBeGreaterThan(n.parent_id!);
    }
  });

  describe('rejections name the first bad item and write nothing', () => {
    const setup = async () => {
      const u = await newUser('fav');
      const root = await rootOf(u);
      const f = await file(u, root, 'existing.png');
      return { u, root, f };
    };
    const ok = (temp_id: number, parent: Partial<Item>, over: Partial<Item> = {}): Item => ({
      temp_id,
      ...parent,
      name: `n${temp_id}`,
      node_type: 'folder',
      ...over,
    });

    test('item count: 0 and batchMax + 1', async () => {
      const { u, root } = await setup();
      await rejected(u, () => batch(u, []), 'items');
      const max = (await testEnv()).config.batchMax;
      const many = Array.from({ length: max + 1 }, (_, i) => ok(i + 1, { parent_id: root }));
      await rejected(u, () => batch(u, many), 'items');
      await rejected(u, () => call('POST', `${BASE}/batch`, { token: u.token, body: {} }), 'items');
    });

    test.each([
      ['duplicate temp id', (r: number) => [ok(1, { parent_id: r }), ok(7, { parent_id: r }), ok(7, { parent_id: r })], 'items[2] (temp_id 7): temp_id 与 items[1] 重复'],
      ['dangling parent_temp_id', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_temp_id: 99 })], 'items[1] (temp_id 2): parent_temp_id 99 不在本次请求中'],
      ['self reference', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_temp_id: 2 })], 'items[1] (temp_id 2): parent_temp_id 不能指向自身'],
      ['2-cycle', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_temp_id: 3 }), ok(3, { parent_temp_id: 2 })], 'items[1] (temp_id 2): parent_temp_id 构成循环引用'],
      ['3-cycle with a tail', (r: number) => [ok(9, { parent_temp_id: 5 }), ok(1, { parent_id: r }), ok(5, { parent_temp_id: 6 }), ok(6, { parent_temp_id: 4 }), ok(4, { parent_temp_id: 5 })], 'items[2] (temp_id 5): parent_temp_id 构成循环引用'],
      ['file item as parent', (r: number) => [ok(1, { parent_id: r }, { node_type: 'file', refer_url: '/x' }), ok(2, { parent_temp_id: 1 })], 'items[1] (temp_id 2): parent_temp_id 1 不是文件夹'],
      ['both parent fields', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r, parent_temp_id: 1 })], 'items[1] (temp_id 2): parent_id 与 parent_temp_id 只能提供一个'],
      ['no parent field', (r: number) => [ok(1, { parent_id: r }), ok(2, {})], 'items[1] (temp_id 2): 必须提供 parent_id 或 parent_temp_id'],
      ['missing real parent', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: 2_000_000_000 })], 'items[1] (temp_id 2): parent_id 2000000000 对应的文件夹不存在'],
      ['absurd real parent', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: 1e15 })], 'items[1] (temp_id 2): parent_id 1000000000000000 对应的文件夹不存在'],
      ['empty name', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { name: '   ' })], 'items[1] (temp_id 2): name 不能为空'],
      ['long name', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { name: 'x'.repeat(256) })], 'items[1] (temp_id 2): name 不能超过 255 个字符'],
      ['control character', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { name: 'a\u007fb' })], 'items[1] (temp_id 2): name 不能包含控制字符'],
      ['bad node_type', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { node_type: 'link' })], 'items[1] (temp_id 2): node_type 只能是 folder 或 file'],
      ['file without url', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { node_type: 'file' })], 'items[1] (temp_id 2): 文件节点必须提供 refer_url'],
      ['url too long', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_id: r }, { node_type: 'file', refer_url: 'u'.repeat(2049) })], 'items[1] (temp_id 2): refer_url 不能超过 2048 个字符'],
      ['unsafe temp id', (r: number) => [ok(1, { parent_id: r }), ok(2 ** 60, { parent_id: r })], `items[1] (temp_id ${2 ** 60}): temp_id 超出范围`],
      ['the first of several bad items is named', (r: number) => [ok(1, { parent_id: r }), ok(2, { parent_temp_id: 3 }, { name: '' }), ok(3, { parent_id: 2_000_000_000 }), ok(4, { parent_temp_id: 4 })], 'items[1] (temp_id 2): name 不能为空'],
      ['a bad real parent before a cycle', (r: number) => [ok(1, { parent_id: 2_000_000_000 }), ok(2, { parent_temp_id: 3 }), ok(3, { parent_temp_id: 2 })], 'items[0] (temp_id 1): parent_id 2000000000 对应的文件夹不存在'],
    ])('%s', async (_n, make, message) => {
      const { u, root } = await setup();
      await rejected(u, () => batch(u, make(root)), `参数不合规：${message}`);
    });

    test('an existing file or another user\'s folder as parent_id', async () => {
      const { u, root, f } = await setup();
      const other = await newUser('fav');
      const theirs = await folder(other, await rootOf(other), 'theirs');
      await rejected(u, () => batch(u, [ok(1, { parent_id: root }), ok(2, { parent_id: f })]), `items[1] (temp_id 2): parent_id ${f} 是文件`);
      await rejected(
        u,
        () => batch(u, [ok(1, { parent_id: root }), ok(2, { parent_temp_id: 1 }), ok(3, { parent_id: theirs })]),
        `items[2] (temp_id 3): parent_id ${theirs} 对应的文件夹不存在`,
      );
      expect((await nodes(other)).length).toBe(2);
    });

    test('schema errors name the item field', async () => {
      const { u, root } = await setup();
      await rejected(u, () => batch(u, [ok(1, { parent_id: root }), { ...ok(2, { parent_id: root }), temp_id: 'x' }]), 'items[1].temp_id');
      await rejected(u, () => batch(u, [ok(1, { parent_id: root }), { ...ok(2, { parent_id: root }), temp_id: 1.5 }]), 'items[1].temp_id');
      await rejected(u, () => batch(u, [{ ...ok(1, { parent_id: root }), name: 3 }]), 'items[0].name');
      await rejected(u, () => batch(u, 'nope'), 'items');
    });
  });
});

describe('removeFileNodesByUrl', () => {
  test("removes only the user's file nodes with exactly that url, and counts them", async () => {
    const u = await newUser('fav');
    const other = await newUser('fav');
    const root = await rootOf(u);
    const dir = await folder(u, root, '/generated_outputs/t.png');
    await file(u, root, 'a', '/generated_outputs/t.png');
    await file(u, dir, 'b', '/generated_outputs/t.png');
    const c = await file(u, dir, 'c', '/generated_outputs/t.png?x');
    await file(other, await rootOf(other), 'theirs', '/generated_outputs/t.png');
    const d = await db();
    const userId = (await d.select({ u: favorites.userId }).from(favorites).where(eq(favorites.id, root)))[0].u;
    const n = await d.transaction((tx) => removeFileNodesByUrl(tx, userId, '/generated_outputs/t.png'));
    expect(n).toBe(2);
    expect((await nodes(u)).map((x) => x.id)).toEqual([root, dir, c]);
    expect((await nodes(other)).length).toBe(2);
    expect(await removeFileNodesByUrl(d, userId, '/nothing')).toBe(0);
  });
});

describe('concurrency', () => {
  test('batch under a folder vs deleting that folder at the same time: never an orphan, results consistent', async () => {
    for (let round = 0; round < 8; round++) {
      const u = await newUser('fav');
      const root = await rootOf(u);
      const target = await folder(u, root, 'target');
      await file(u, target, 'old.png');
      const items = randomTree(300, target, round + 1);
      // alternate which request starts first
      const [b, dl] =
        round % 2
          ? await Promise.all([batch(u, items), del(u, target)])
          : await Promise.all([del(u, target), batch(u, items)]).then(([x, y]) => [y, x]);
      expect(dl.body.code).toBe(200);
      expect([200, 400]).toContain(b.body.code);
      const removed = new Set(dl.body.data.map((n: { id: number }) => n.id));
      if (b.body.code === 200) {
        // the batch went first: the delete removed (and reported) every new node
        for (const id of Object.values(b.body.data.mapping as Record<string, number>)) expect(removed.has(id)).toBe(true);
        expect(removed.size).toBe(302);
      } else {
        expect(b.body.message).toContain('对应的文件夹不存在');
        expect(removed.size).toBe(2);
      }
      expect((await nodes(u)).map((n) => n.id)).toEqual([root]);
      expect(await orphanCount()).toBe(0);
    }
  });

  test('deep batch under a subfolder vs deleting an ancestor: no orphan', async () => {
    for (let round = 0; round < 4; round++) {
      const u = await newUser('fav');
      const root = await rootOf(u);
      const a = await folder(u, root, 'a');
      const b = await folder(u, a, 'b');
      const items: Item[] = Array.from({ length: 150 }, (_, k) => ({
        temp_id: k,
        ...(k === 0 ? { parent_id: b } : { parent_temp_id: k - 1 }),
        name: `l${k}`,
        node_type: 'folder',
      }));
      const [bt, dl] = await Promise.all([batch(u, items), del(u, a)]);
      expect(dl.body.code).toBe(200);
      expect(dl.body.data.length).toBe(bt.body.code === 200 ? 152 : 2);
      expect((await nodes(u)).map((n) => n.id)).toEqual([root]);
      expect(await orphanCount()).toBe(0);
    }
  });

  test('two batches at once on the same tree both land; overlapping deletes at once', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const top = await folder(u, root, 'top');
    const [x, y] = await Promise.all([batch(u, randomTree(500, top, 3)), batch(u, randomTree(500, top, 4))]);
    expect(x.body.code).toBe(200);
    expect(y.body.code).toBe(200);
    const all = await nodes(u);
    expect(all).toHaveLength(1002);
    const ids = new Set(all.map((n) => n.id));
    for (const id of [...Object.values(x.body.data.mapping), ...Object.values(y.body.data.mapping)]) {
      expect(ids.has(id as number)).toBe(true);
    }
    // delete an inner folder and the top at once: together they remove everything under root, no error
    const inner = x.body.data.mapping['10'];
    const [d1, d2] = await Promise.all([del(u, inner), del(u, top)]);
    const codes = [d1.body.code, d2.body.code];
    expect(codes).toContain(200);
    const removed = new Set([...(d1.body.data ?? []), ...(d2.body.data ?? [])].map((n: { id: number }) => n.id));
    expect(removed.size).toBe(1001);
    expect((await nodes(u)).map((n) => n.id)).toEqual([root]);
    expect(await orphanCount()).toBe(0);
  });

  test('single adds vs deleting their parent at once: no orphan', async () => {
    const u = await newUser('fav');
    const root = await rootOf(u);
    const target = await folder(u, root, 'target');
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => add(u, { parent_id: target, name: `f${i}`, node_type: 'file', refer_url: '/x' })),
      del(u, target),
      ...Array.from({ length: 10 }, (_, i) => add(u, { parent_id: target, name: `g${i}`, node_type: 'folder' })),
    ]);
    const dl = results[10];
    const added = results.filter((r, i) => i !== 10 && r.body.code === 200).map((r) => r.body.data.id);
    const removed = new Set(dl.body.data.map((n: { id: number }) => n.id));
    for (const id of added) expect(removed.has(id)).toBe(true);
    expect((await nodes(u)).map((n) => n.id)).toEqual([root]);
    expect(await orphanCount()).toBe(0);
  });
});

describe('authentication', () => {
  const routes: [string, string, unknown][] = [
    ['GET', BASE, undefined],
    ['POST', BASE, { parent_id: 1, name: 'x', node_type: 'folder' }],
    ['DELETE', `${BASE}/1`, undefined],
    ['POST', `${BASE}/batch`, { items: [{ temp_id: 1, parent_id: 1, name: 'x', node_type: 'folder' }] }],
  ];
  test.each(routes)('%s %s without a token or with a bad one ⇒ HTTP 401', async (method, path, body) => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer not.a.jwt' }, { authorization: 'Basic abc' }];
    for (const headers of variants) {
      const res = await call(method, path, { body, headers });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(401);
    }
  });
});

// (how fast these are is measured in bench/: bench/run.ts, GET of 10,001 nodes and the 1,000-item batch)
describe('at scale', () => {
  test('10,000 nodes in 10 batches: a GET lists them all, a shuffled 1,000-item batch lands, deleting the subtree removes 10,001', async () => {
    const u = await newUser('favscale');
    const root = await rootOf(u);
    const top = await folder(u, root, 'big');
    // 10 batches of 1000: each a random tree under `top` or under a folder of the previous batch
    let anchor = top;
    for (let b = 0; b < 10; b++) {
      const items = randomTree(1000, anchor, 100 + b);
      const mapping = await batchOk(u, items);
      anchor = mapping['10'];
    }
    expect((await nodes(u)).length).toBe(10_002);
    const listed = await list(u);
    expect(listed.body.data.length).toBe(10_002);
    const other = await newUser('favscale');
    const otherTop = await folder(other, await rootOf(other), 'batch');
    const res = await batch(other, shuffle(randomTree(1000, otherTop, 9)));
    expect(res.body.code).toBe(200);
    expect(Object.keys(res.body.data.mapping).length).toBe(1000);
    const dl = await del(u, top);
    expect(dl.body.data.length).toBe(10_001);
    expect((await nodes(u)).length).toBe(1);
  });
});

