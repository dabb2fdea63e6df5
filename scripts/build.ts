// Builds the single executable: dist/aigc-server. Everything it needs (migrations, PGlite's wasm and data
// files, a pre-initialised PGlite data dir, the Swagger UI assets, the worker threads) is bundled in;
// it starts from an empty folder.
//
//   bun scripts/build.ts [OUTFILE] [--seed FILE]
//
// --seed: embed FILE (a data dir made by scripts/make-pgseed.ts from the same migrations) instead of making one;
// the test suite passes the one it made for itself (test/support/binary.ts).
//
// The code is embedded as JavaScriptCore bytecode (--bytecode), so that a start does not parse the 3.4 MB bundle
// and the workers' code again: measured on 2 cores, interleaved, an embedded start to ready 378–458 ms and 0.76–0.93 s
// of CPU against 500–640 ms and 0.89–1.17 s without (the binary grows from 134 to 145 MB).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makePgSeed } from './make-pgseed';

const root = join(import.meta.dir, '..');
const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const givenSeed = seedAt >= 0 ? args.splice(seedAt, 2)[1] : undefined;
if (seedAt >= 0 && !givenSeed) throw new Error('--seed needs a file');
const outfile = resolve(args[0] ?? join(root, 'dist', 'aigc-server'));
mkdirSync(join(outfile, '..'), { recursive: true });
mkdirSync(join(root, 'dist'), { recursive: true });
// the binary finds its seed by name (src/db/seed.ts, resolveSeed: pgdata.tgz)
const seedDir = mkdtempSync(join(root, 'dist', '.seed-'));
let code = 0;
try {
  const seed = join(seedDir, 'pgdata.tgz');
  if (givenSeed) copyFileSync(givenSeed, seed);
  else console.log(`pre-initialised PGlite data dir: ${await makePgSeed(seed)} bytes`);
  // --root . fixes the paths inside the binary: the workers are ./src/engine/worker.ts (see src/engine/pool.ts),
  // ./src/engine/local/encode-worker.ts (the video encoder thread, src/engine/local/video.ts) and
  // ./src/ops/watchdog-worker.ts (src/ops/watchdog.ts) and ./src/db/pglite-worker.ts (the embedded database's thread,
  // src/db/pglite-remote.ts)
  const entrypoints = ['src/index.ts', 'src/engine/worker.ts', 'src/engine/local/encode-worker.ts', 'src/ops/watchdog-worker.ts', 'src/db/pglite-worker.ts', seed];
  const proc = Bun.spawnSync(
    [process.execPath, 'build', '--compile', '--bytecode', '--format=esm', '--minify', '--sourcemap', '--root', '.', ...entrypoints, '--outfile', outfile],
    { cwd: root, stdout: 'inherit', stderr: 'inherit' },
  );
  code = proc.exitCode ?? 1;
} finally {
  rmSync(seedDir, { recursive: true, force: true });
}
if (code !== 0) process.exit(code);
console.log(`built ${outfile} (${(statSync(outfile).size / 1024 / 1024).toFixed(1)} MB)`);
