// Writes a pre-initialised, fully migrated PGlite data dir as a gzipped tarball. The build embeds it in the
// binary, so a first start loads it (a few hundred ms) instead of running initdb (seconds).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Db } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { migrations } from '../src/db/migrations.gen';
import { loadPgliteAssets } from '../src/db/pglite-assets';

/** A checkpointed dump of the data dir, gzipped, written to `file`; its size. */
async function dumpTo(pg: PGlite, file: string): Promise<number> {
  await pg.query('checkpoint');
  mkdirSync(dirname(file), { recursive: true });
  return Bun.write(file, await pg.dumpDataDir('gzip'));
}

/** `bareOutfile`: also write the data dir as initdb left it, before any migration (the tests migrate it themselves). */
export async function makePgSeed(outfile: string, bareOutfile?: string): Promise<number> {
  const pg = await PGlite.create({ ...(await loadPgliteAssets()) });
  try {
    if (bareOutfile) await dumpTo(pg, bareOutfile);
    await migrate(drizzle(pg) as unknown as Db, migrations);
    return await dumpTo(pg, outfile);
  } finally {
    await pg.close();
  }
}

if (import.meta.main) {
  const out = process.argv[2] ?? 'dist/.seed/pgdata.tgz';
  console.log(`${out}: ${await makePgSeed(out)} bytes`);
}
