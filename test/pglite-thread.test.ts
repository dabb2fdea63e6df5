// The embedded database runs on a thread of its own (src/db/pglite-worker.ts), reached by messages
// (src/db/pglite-remote.ts). What the rest of the code relies on from PGlite must survive the hop: PostgreSQL's error
// fields, transactions that commit or roll back as a whole, a NOTIFY heard before the statement that sent it
// returns, the types drizzle reads as text; and the HTTP thread must stay free while a statement runs.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Database, openDatabase, rowsOf } from '../src/db/client';
import { PGLITE_MAX_PREPARED_TEXT, PGLITE_MAX_STATEMENTS } from '../src/db/pglite-protocol';
import { pgliteSeed } from './support/env';

let database: Database;
beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite', seed: pgliteSeed() });
  await database.db.execute(sql`create table thread_t (id int primary key, at timestamptz not null default now())`);
});
afterAll(() => database?.close());

describe('the embedded database on its own thread', () => {
  test('a long statement does not hold up this thread: timers keep firing while it runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    await database.db.execute(sql`select pg_sleep(0.4)`);
    clearInterval(timer);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    // in-process, PGlite's WASM blocked this thread for the whole 400 ms: no tick at all
    expect(ticks).toBeGreaterThanOrEqual(15);
  });

  test("PostgreSQL's error fields arrive: code, constraint, detail; a syntax error's position", async () => {
    await database.db.execute(sql`insert into thread_t (id) values (1)`);
    const dup = await database.db.execute(sql`insert into thread_t (id) values (1)`).then(() => null, (e) => e);
    expect(dup).toBeInstanceOf(Error);
    const pg = (dup.cause ?? dup) as Record<string, unknown>;
    expect(pg.code).toBe('23505');
    expect(pg.constraint).toBe('thread_t_pkey');
    expect(String(pg.detail)).toContain('(id)=(1)');
    const syntax = await database.db.execute(sql.raw('selec 1')).then(() => null, (e) => e);
    const pgs = (syntax.cause ?? syntax) as Record<string, unknown>;
    expect(pgs.code).toBe('42601');
    expect(pgs.position).toBe('1');
  });

  test('a transaction whose callback throws leaves nothing; one that returns is committed', async () => {
    const boom = new Error('boom');
    const outcome = await database.db
      .transaction(async (tx) => {
        await tx.execute(sql`insert into thread_t (id) values (10)`);
        await tx.execute(sql`insert into thread_t (id) values (11)`);
        throw boom;
      })
      .then(() => null, (e) => e);
    expect(outcome).toBe(boom);
    const kept = await database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into thread_t (id) values (12)`);
      return rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from thread_t where id >= 10`))[0].n;
    });
    expect(kept).toBe(1);
    const ids = rowsOf<{ id: number }>(await database.db.execute(sql`select id from thread_t where id >= 10 order by id`));
    expect(ids.map((r) => r.id)).toEqual([12]);
  });

  test('statements from other callers wait while a transaction is open, then see its committed rows', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = database.db.transaction(async (t) => {
      await t.execute(sql`insert into thread_t (id) values (20)`);
      await held;
    });
    await Bun.sleep(20);
    let seen = null as number | null;
    const other = database.db.execute(sql`select count(*)::int as n from thread_t where id = 20`).then((r) => (seen = rowsOf<{ n: number }>(r)[0].n));
    await Bun.sleep(50);
    expect(seen).toBeNull(); // one session: it waits for the transaction
    release();
    await tx;
    await other;
    expect(seen).toBe(1);
  });

  test('a NOTIFY reaches the listener before the statement that sent it returns', async () => {
    const heard: string[] = [];
    const unlisten = await database.listen('thread_c', (p) => heard.push(p));
    await database.db.execute(sql`select pg_notify('thread_c', 'one')`);
    expect(heard).toEqual(['one']);
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_notify('thread_c', 'two')`);
    });
    expect(heard).toEqual(['one', 'two']);
    await unlisten();
    await database.db.execute(sql`select pg_notify('thread_c', 'three')`);
    expect(heard).toEqual(['one', 'two']);
  });

  test('timestamps come back as PostgreSQL wrote them (drizzle parses them itself); json, bytea and nulls intact', async () => {
    const [row] = rowsOf<Record<string, unknown>>(
      await database.db.execute(
        sql`select '2026-12-03 10:00:00.123+00'::timestamptz as at, '{"a":[1,"x",null]}'::jsonb as j, '\\x00ff10'::bytea as b, null::text as n`,
      ),
    );
    expect(row.at).toBe('2026-12-03 10:00:00.123+00');
    expect(row.j).toEqual({ a: [1, 'x', null] });
    expect([...(row.b as Uint8Array)]).toEqual([0, 255, 16]);
    expect(row.n).toBeNull();
  });

  test('parameters of every type the app sends arrive as PostgreSQL inferred them, on first use and by name later', async () => {
    await database.db.execute(
      sql`create table thread_p (id int primary key, t text, j jsonb, at timestamptz, b bytea, a int[], f boolean, n text, big bigint)`,
    );
    const insert = (id: number) =>
      database.db.execute(
        sql`insert into thread_p (id, t, j, at, b, a, f, n, big) values (${id}, ${'naïve 猫'}, ${JSON.stringify({ k: [1, 'x'] })}, ${'2026-12-03T10:00:00.123Z'}, ${new Uint8Array([0, 255, 16])}, ${sql.param([3, 1, 2])}, ${true}, ${null}, ${'9007199254740993'})`,
      );
    for (const id of [1, 2, 3]) await insert(id); // the first parses the text; the others run it by name
    const rows = rowsOf<Record<string, unknown>>(
      await database.db.execute(sql`select id, t, j, at, b, a, f, n, big::text as big from thread_p where id = any(${sql.param([1, 2, 3])}) order by id`),
    );
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    for (const r of rows) {
      expect(r.t).toBe('naïve 猫');
      expect(r.j).toEqual({ k: [1, 'x'] });
      expect(r.at).toBe('2026-12-03 10:00:00.123+00');
      expect([...(r.b as Uint8Array)]).toEqual([0, 255, 16]);
      expect(r.a).toEqual([3, 1, 2]);
      expect(r.f).toBe(true);
      expect(r.n).toBeNull();
      expect(r.big).toBe('9007199254740993');
    }
    // one prepared statement per text, however often it ran
    const kept = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like 'insert into thread_p %'`));
    expect(kept[0].n).toBe(1);
  });

  test('the same new text from many callers at once is parsed once and answers each of them', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => database.db.execute(sql`select ${i}::int * 7 as v, 'concurrent-once' as tag`)));
    expect(answers.map((a) => rowsOf<{ v: number }>(a)[0].v)).toEqual(Array.from({ length: 40 }, (_, i) => i * 7));
    const kept = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like '%concurrent-once%' and statement not like '%pg_prepared_statements%'`));
    expect(kept[0].n).toBe(1);
  });

  test(`at most ${PGLITE_MAX_STATEMENTS} statements are kept (least recently used closed first); an evicted one runs again`, async () => {
    // texts with a parameter each, so that they are prepared like the app's
    const run = (i: number) => database.db.execute(sql`select ${i}::int + 1 as v, ${`evict-${i}`}::text as tag`.append(sql.raw(` /* evict-${i} */`)));
    for (let i = 0; i < PGLITE_MAX_STATEMENTS + 40; i++) expect(rowsOf<{ v: number }>(await run(i))[0].v).toBe(i + 1);
    const count = async () => rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements`))[0].n;
    // the closes of the evicted go out with the next statements outside a transaction
    await database.db.execute(sql`select ${1}::int as flush`);
    expect(await count()).toBeLessThanOrEqual(PGLITE_MAX_STATEMENTS + 1);
    expect(rowsOf<{ v: number }>(await run(0))[0].v).toBe(1); // evicted long ago: parsed again
  });

  test(`a text over ${PGLITE_MAX_PREPARED_TEXT} characters (a batch of many rows) runs unprepared, as PGlite's query() runs it`, async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => 1000 + i);
    const batch = sql`insert into thread_t (id) values ${sql.join(
      ids.map((id) => sql`(${id})`),
      sql`, `,
    )} returning id`;
    const text = new PgDialect().sqlToQuery(batch).sql;
    expect(text.length).toBeGreaterThan(PGLITE_MAX_PREPARED_TEXT);
    expect(rowsOf<{ id: number }>(await database.db.execute(batch)).map((r) => r.id)).toEqual(ids);
    const kept = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like 'insert into thread_t (id) values ($1), ($2)%'`));
    expect(kept[0].n).toBe(0);
    // a short one of the same kind is kept
    await database.db.execute(sql`insert into thread_t (id) values (${3000}), (${3001}) returning id`);
    const short = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like 'insert into thread_t (id) values ($1), ($2)%'`));
    expect(short[0].n).toBe(1);
  });

  test('a failing statement in a transaction aborts it as before; its text runs by name afterwards', async () => {
    const add = (tx: { execute: typeof database.db.execute }, id: number) => tx.execute(sql`insert into thread_t (id) values (${id})`);
    await add(database.db, 40);
    const outcome = await database.db
      .transaction(async (tx) => {
        await add(tx, 41);
        await add(tx, 40); // duplicate key: the transaction is aborted
      })
      .then(() => null, (e) => e);
    const pg = (outcome?.cause ?? outcome) as Record<string, unknown>;
    expect(pg.code).toBe('23505');
    const ids = rowsOf<{ id: number }>(await database.db.execute(sql`select id from thread_t where id between 40 and 49 order by id`));
    expect(ids.map((r) => r.id)).toEqual([40]);
    await database.db.transaction(async (tx) => {
      await add(tx, 42);
      await add(tx, 43);
    });
    const after = rowsOf<{ id: number }>(await database.db.execute(sql`select id from thread_t where id between 40 and 49 order by id`));
    expect(after.map((r) => r.id)).toEqual([40, 42, 43]);
  });

  test('a text that fails to parse is not kept: the same error every time, and nothing left prepared', async () => {
    for (let i = 0; i < 2; i++) {
      const e = await database.db.execute(sql`select no_such_column + ${i}::int as v from thread_t`).then(() => null, (e) => e);
      const pg = (e?.cause ?? e) as Record<string, unknown>;
      expect(pg.code).toBe('42703');
      expect(String(pg.message)).toContain('no_such_column');
    }
    const kept = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like '%no_such_column%' and statement not like '%pg_prepared_statements%'`));
    expect(kept[0].n).toBe(0);
  });

  test('after close every call fails with a clear error', async () => {
    const other = await openDatabase({ kind: 'pglite', seed: pgliteSeed() });
    await other.ping();
    await other.close();
    const e = await other.ping().then(() => null, (e) => e);
    expect(String((e.cause ?? e).message)).toBe('the embedded database is closed');
  });
});
