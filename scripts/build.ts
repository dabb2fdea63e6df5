// Builds the single executable: dist/aigc-server. Everything it needs (migrations, PGlite's wasm and data
// files, the Swagger UI assets, the generation worker) is bundled in; it starts from an empty folder.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const outfile = process.argv[2] ?? join(root, 'dist', 'aigc-server');
mkdirSync(join(outfile, '..'), { recursive: true });
const entrypoints = ['src/index.ts', 'src/engine/worker.ts'].filter((e) => existsSync(join(root, e)));
const proc = Bun.spawnSync(
  [process.execPath, 'build', '--compile', '--minify', '--sourcemap', ...entrypoints, '--outfile', outfile],
  { cwd: root, stdout: 'inherit', stderr: 'inherit' },
);
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
console.log(`built ${outfile} (${(statSync(outfile).size / 1024 / 1024).toFixed(1)} MB)`);
