import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite, PgliteDatabase } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';
import { PgliteRemote } from './pglite-remote';
import type { SeedSource } from './pglite-protocol';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** what a transaction callback receives; it offers the same query API as Db */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** throws when the database cannot answer */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel (NOTIFY from any instance, `pg_notify`); resolves once listening; returns the unlisten.
   * `onListen` runs each time the LISTEN is in place: first, and again after a lost connection was re-established
   * (notifications sent in between are lost).
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  /** NOTIFY `channel` with `payload` */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Runs `fn` while holding the session-level advisory lock `key` (one instance at a time, across all instances
   * on the database), or returns null at once when another session holds it. `fn`'s own statements run as usual
   * (short, auto-committed): the lock lives on a connection of its own, not in a long transaction.
   */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T | null>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; max?: number }
  /**
   * dataDir undefined ⇒ in memory. `seed`: where a tarball of a pre-initialised data dir (PGlite's dumpDataDir) is,
   * loaded when dataDir holds no database yet, instead of running initdb (see SeedSource).
   */
  | { kind: 'pglite'; dataDir?: string; seed?: SeedSource | null };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') {
    const client = postgres(target.url, {
      max: target.max ?? 10,
      onnotice: () => {},
      // no statement may hang for ever (a lock that is never released, say): it fails after 60 s instead
      connection: { application_name: 'aigc-backend', statement_timeout: 60_000 },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      ping: async () => {
        await client`select 1`;
      },
      // postgres.js keeps one dedicated connection for LISTEN and re-listens after a reconnect
      listen: async (channel, onNotify, onListen) => {
        const req = await client.listen(channel, onNotify, onListen);
        return () => req.unlisten();
      },
      notify: async (channel, payload) => {
        await client.notify(channel, payload);
      },
      withLock: async (key, fn) => {
        const conn = await client.reserve();
        try {
          const [row] = await conn`select pg_try_advisory_lock(${key}) as ok`;
          if (!row.ok) return null;
          try {
            return await fn();
          } finally {
            await conn`select pg_advisory_unlock(${key})`;
          }
        } finally {
          conn.release();
        }
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  // PGlite runs on a thread of its own (src/db/pglite-worker.ts): the seed is unpacked and the WASM compiled there
  const pg = await PgliteRemote.open({ dataDir: target.dataDir, seed: target.seed });
  // drizzle's PGlite driver uses query and transaction only, which the remote offers
  const db = drizzlePglite(pg as unknown as PGlite, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    // one process, one session: the LISTEN cannot be lost; a NOTIFY reaches this thread before the result of the
    // statement that sent it
    listen: async (channel, onNotify, onListen) => {
      const unlisten = await pg.listen(channel, onNotify);
      onListen?.();
      return () => unlisten();
    },
    notify: async (channel, payload) => {
      await pg.query('select pg_notify($1, $2)', [channel, payload]);
    },
    // PGlite is one session: the lock is held by it while fn's statements run between the lock and the unlock
    withLock: async (key, fn) => {
      const [row] = (await pg.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key])).rows;
      if (!row.ok) return null;
      try {
        return await fn();
      } finally {
        await pg.query('select pg_advisory_unlock($1)', [key]);
      }
    },
    close: () => pg.close(),
  };
}

/**
 * True for the embedded database. PGlite decodes every field of every row in JavaScript (about 1 µs a field),
 * so queries that return thousands of rows fetch them as one JSON text instead (see the favorites listing).
 */
export const isPglite = (db: Db) => db instanceof PgliteDatabase;

/** `db.execute` returns an array on postgres.js and `{ rows }` on PGlite; this gives the rows either way. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * The pre-initialised data dir a first embedded start loads instead of running initdb: the one scripts/build.ts
 * embeds in the compiled binary, else (from source) `file` when it exists (PGLITE_SEED: a seed made by
 * `bun scripts/make-pgseed.ts FILE`; the test suite makes one per run). Resolved on the database's thread
 * (resolveSeed in seed.ts).
 */
export const embeddedPgSeed = (file: string | null = null): SeedSource => ({ embedded: true, file });
