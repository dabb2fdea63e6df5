// Runs once in each test process before its files (bunfig.toml [test] preload). The test env's in-memory database
// and the servers the tests start from source would otherwise run initdb (seconds each, far more on a busy 2-core CI
// machine): a pre-initialised, migrated PGlite data dir is made once per migration set and handed to them as
// PGLITE_SEED (the compiled binary embeds the same thing). Cached in the temp dir under a name that changes with the
// migrations.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrations } from '../../src/db/migrations.gen';
import { makePgSeed } from '../../scripts/make-pgseed';
import { makeOnce } from './once';

/** a seed lock older than this was left by a killed run (making the seeds takes seconds) */
const SEED_STALE_MS = 5 * 60_000;

const pglite = (await Bun.file(join(import.meta.dir, '../../node_modules/@electric-sql/pglite/package.json')).json()) as { version: string };
const key = new Bun.CryptoHasher('sha256').update(`${pglite.version}\n${migrations.map((m) => `${m.tag}\n${m.sql}`).join('\n')}`).digest('hex').slice(0, 16);
const seed = join(tmpdir(), `aigc-test-pgseed-${key}.tgz`);
// the same data dir before any migration: the test of `migrate` on a fresh data dir starts from it (initdb is
// seconds of CPU, and PGlite's own business), so that every migration is applied there
const bare = join(tmpdir(), `aigc-test-pgseed-bare-${key}.tgz`);
// One process makes them, the run's other workers wait (once.ts): four initdb at once on 2 cores took 7 s before
// any test could start, one alone takes about 2 s
await makeOnce(
  `${seed}.lock`,
  () => existsSync(seed) && existsSync(bare),
  async () => {
    // what a run killed while making them left (the lock is ours: nobody else is making them)
    for (const name of readdirSync(tmpdir())) if (name.startsWith('aigc-test-pgseed-') && name.endsWith('.partial')) rmSync(join(tmpdir(), name), { force: true });
    const partial = `${seed}.${process.pid}.partial`;
    const partialBare = `${bare}.${process.pid}.partial`;
    await makePgSeed(partial, partialBare);
    renameSync(partialBare, bare);
    renameSync(partial, seed);
  },
  SEED_STALE_MS,
);
process.env.PGLITE_SEED = seed;
process.env.AIGC_TEST_BARE_PGSEED = bare;
// where the compiled server the process tests start is kept (test/support/binary.ts): shared by the run's workers
process.env.AIGC_TEST_SHARED_TMP ??= tmpdir();

// Parallel workers (`bun test --parallel`, see scripts/test.ts) run at the same time on one machine. Each gets:
// - a temp dir of its own (TMPDIR), so that a test counting what it leaves in the temp dir does not see another
//   worker's files (a single `bun test FILE` process gets one too, `aigc-test-wsolo-*`, so that what its tests leave
//   there is removed with it);
// - under TEST_DATABASE_URL, a scratch database of its own on that server: each worker opens its own test env
//   (test/support/env.ts), which wipes the schema of its database. TEST_DATABASE_URL names it for the whole process
//   (servers the tests spawn on "the test database" use it too).
// Both are removed once the worker has ended (test/support/after-worker.ts). Once per process: with --isolate this
// file runs again for every test file, and the environment persists.
if (!process.env.AIGC_TEST_WORKER_TMP) {
  const { mkdtempSync } = await import('node:fs');
  const tmp = mkdtempSync(join(tmpdir(), `aigc-test-w${process.env.BUN_TEST_WORKER_ID ?? 'solo'}-`));
  const cleanup = ['--rm', tmp];
  // (a single process keeps TEST_DATABASE_URL's own database, as the README says: its public schema is wiped)
  if (process.env.BUN_TEST_WORKER_ID && process.env.TEST_DATABASE_URL) {
    const { scratchDatabase } = await import('./pg');
    // the `postgres` database of TEST_DATABASE_URL's server, as its user
    const admin = Object.assign(new URL(process.env.TEST_DATABASE_URL), { pathname: '/postgres' }).toString();
    const db = await scratchDatabase(`w${process.env.BUN_TEST_WORKER_ID}`, admin);
    cleanup.push('--drop', admin, new URL(db.url).pathname.slice(1));
    process.env.TEST_DATABASE_URL = db.url;
  }
  const { spawn } = await import('node:child_process');
  spawn(process.execPath, [join(import.meta.dir, 'after-worker.ts'), String(process.pid), ...cleanup], { detached: true, stdio: 'ignore' }).unref();
  process.env.AIGC_TEST_WORKER_TMP = tmp;
  process.env.TMPDIR = tmp;
}
