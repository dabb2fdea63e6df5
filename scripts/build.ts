// Builds the single executable: dist/aigc-server. Everything it needs (migrations, PGlite's wasm and data
// files, a pre-initialised PGlite data dir, the Swagger UI assets, the worker threads) is bundled in;
// it starts from an empty folder.
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makePgSeed } from './make-pgseed';

const root = join(import.meta.dir, '..');
const outfile = resolve(process.argv[2] ?? join(root, 'dist', 'aigc-server'));
mkdirSync(join(outfile, '..'), { recursive: true });
const seed = join(root, 'dist', '.seed', 'pgdata.tgz');
console.log(`pre-initialised PGlite data dir: ${await makePgSeed(seed)} bytes`);
// --root . fixes the paths inside the binary: the workers are ./src/engine/worker.ts (see src/engine/pool.ts),
// ./src/engine/local/encode-worker.ts (the video encoder thread, src/engine/local/video.ts) and
// ./src/ops/watchdog-worker.ts (src/ops/watchdog.ts) and ./src/db/pglite-worker.ts (the embedded database's thread,
// src/db/pglite-remote.ts)
const entrypoints = ['src/index.ts', 'src/engine/worker.ts', 'src/engine/local/encode-worker.ts', 'src/ops/watchdog-worker.ts', 'src/db/pglite-worker.ts', seed];
const proc = Bun.spawnSync(
  [process.execPath, 'build', '--compile', '--minify', '--sourcemap', '--root', '.', ...entrypoints, '--outfile', outfile],
  { cwd: root, stdout: 'inherit', stderr: 'inherit' },
);
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
console.log(`built ${outfile} (${(statSync(outfile).size / 1024 / 1024).toFixed(1)} MB)`);
