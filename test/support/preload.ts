// Runs once in each test process before its files (bunfig.toml [test] preload). The test env's in-memory database
// and the servers the tests start from source would otherwise run initdb (seconds each, far more on a busy 2-core CI
// machine): a pre-initialised, migrated PGlite data dir is made once per migration set and handed to them as
// PGLITE_SEED (the compiled binary embeds the same thing). Cached in the temp dir under a name that changes with the
// migrations.
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

// Parallel workers (`bun test --parallel`, see package.json) each open their own test env (test/support/env.ts), which
// wipes the schema of TEST_DATABASE_URL's database: each worker gets a scratch database of its own on that server
// instead, and TEST_DATABASE_URL names it for the whole process (servers the tests spawn on "the test database" use
// it too). It is dropped when the worker has ended (test/support/drop-database.ts). Once per process: with --isolate
// this file runs again for every test file, and the environment persists.
if (process.env.TEST_DATABASE_URL && process.env.BUN_TEST_WORKER_ID && !process.env.AIGC_TEST_WORKER_DATABASE) {
  const { scratchDatabase } = await import('./pg');
  // the `postgres` database of TEST_DATABASE_URL's server, as its user
  const admin = Object.assign(new URL(process.env.TEST_DATABASE_URL), { pathname: '/postgres' }).toString();
  const db = await scratchDatabase(`w${process.env.BUN_TEST_WORKER_ID}`, admin);
  const name = new URL(db.url).pathname.slice(1);
  const { spawn } = await import('node:child_process');
  const dropper = join(import.meta.dir, 'drop-database.ts');
  spawn(process.execPath, [dropper, String(process.pid), admin, name], { detached: true, stdio: 'ignore' }).unref();
  process.env.AIGC_TEST_WORKER_DATABASE = name;
  process.env.TEST_DATABASE_URL = db.url;
}
