// Runs once before the test files (bunfig.toml [test] preload). Servers the tests start from source would otherwise
// run initdb on every fresh data dir (seconds each, far more on a busy 2-core CI machine): a pre-initialised, migrated
// PGlite data dir is made once per migration set and handed to them as PGLITE_SEED (the compiled binary embeds the
// same thing). Cached in the temp dir under a name that changes with the migrations.
import { existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrations } from '../../src/db/migrations.gen';
import { makePgSeed } from '../../scripts/make-pgseed';

const pglite = (await Bun.file(join(import.meta.dir, '../../node_modules/@electric-sql/pglite/package.json')).json()) as { version: string };
const key = new Bun.CryptoHasher('sha256').update(`${pglite.version}\n${migrations.map((m) => `${m.tag}\n${m.sql}`).join('\n')}`).digest('hex').slice(0, 16);
const seed = join(tmpdir(), `aigc-test-pgseed-${key}.tgz`);
if (!existsSync(seed)) {
  const partial = `${seed}.${process.pid}.partial`;
  await makePgSeed(partial);
  renameSync(partial, seed); // another run making the same file at once is harmless: the same bytes, renamed whole
}
process.env.PGLITE_SEED = seed;
