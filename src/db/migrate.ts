import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from './client';

export interface EmbeddedMigration {
  tag: string;
  /** drizzle-kit's journal timestamp; migrations apply in this order */
  when: number;
  sql: string;
}

/**
 * Applies the embedded drizzle-kit migrations that the database has not seen, in one transaction
 * under an advisory lock (so several instances starting together do not race). Uses drizzle's own
 * bookkeeping table, so `drizzle-kit migrate` and this runner agree on what is applied.
 */
export async function migrate(db: Db, migrations: EmbeddedMigration[]): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(7305511001)`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(sql`create table if not exists drizzle.__drizzle_migrations (
      id serial primary key, hash text not null, created_at bigint)`);
    const list = rowsOf<{ created_at: string | number }>(
      await tx.execute(sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`),
    );
    const last = list.length ? Number(list[0].created_at) : -1;
    const applied: string[] = [];
    for (const m of [...migrations].sort((a, b) => a.when - b.when)) {
      if (m.when <= last) continue;
      for (const stmt of m.sql.split('--> statement-breakpoint')) {
        if (stmt.trim()) await tx.execute(sql.raw(stmt));
      }
      const hash = createHash('sha256').update(m.sql).digest('hex');
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${hash}, ${m.when})`,
      );
      applied.push(m.tag);
    }
    return applied;
  });
}
