// The compiled server (scripts/build.ts) for the tests that start the server as a process (server-process.ts): what
// teams deploy, built from the current source once per source state and kept in the run's shared temp dir.
//
// Why not `bun src/index.ts`: a start from source transpiles and parses the whole app again in every thread (main,
// database, engine, encoder), the binary loads bytecode. Measured on 2 cores, interleaved: an embedded server to
// ready and stopped 1.72 s of CPU from source against 1.03 s, on PostgreSQL 0.55 s against 0.17 s; a CLI run 0.33 s
// against 0.19 s. The suite starts about 20 servers and 25 CLI runs; the build (about 2 s of CPU, the test seed given)
// is paid once per change of the source.
//
// The key is a hash of everything the binary is made from (src/, the build scripts, package.json, bun.lock, Bun's
// version). The first process of a run to need it builds it, the others wait for it (once.ts). Binaries of other keys not used for 10 minutes are removed when a
// new one is built.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOnce } from './once';

const ROOT = join(import.meta.dir, '../..');
const INPUTS = ['src', 'scripts/build.ts', 'scripts/make-pgseed.ts', 'package.json', 'bun.lock'];
const PREFIX = 'aigc-test-bin-';
/** a lock older than this was left by a killed run */
const STALE_LOCK_MS = 5 * 60_000;
/** another key's binary unused this long is removed */
const UNUSED_MS = 10 * 60_000;

function filesUnder(path: string, out: string[] = []): string[] {
  if (!statSync(path).isDirectory()) {
    out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) filesUnder(join(path, name), out);
  return out;
}

/** The hash of what the binary is built from. */
export function binaryKey(): string {
  const h = new Bun.CryptoHasher('sha256');
  h.update(`${Bun.version}\n`);
  for (const input of INPUTS)
    for (const file of filesUnder(join(ROOT, input))) {
      h.update(`${file.slice(ROOT.length)}\0`);
      h.update(readFileSync(file));
      h.update('\0');
    }
  return h.digest('hex').slice(0, 16);
}

const ageMs = (path: string) => {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
};

async function build(base: string): Promise<string> {
  const key = binaryKey();
  const dir = join(base, `${PREFIX}${key}`);
  const bin = join(dir, 'aigc-server');
  await makeOnce(
    `${dir}.lock`,
    () => existsSync(bin),
    async () => {
      // what a build killed before its end left (the lock is ours: no build of this key runs)
      for (const name of readdirSync(base)) if (name.startsWith(`${PREFIX}${key}.`) && name.endsWith('.partial')) rmSync(join(base, name), { recursive: true, force: true });
      const partial = `${dir}.${process.pid}.partial`;
      const seed = process.env.PGLITE_SEED;
      const proc = Bun.spawn([process.execPath, 'scripts/build.ts', join(partial, 'aigc-server'), ...(seed ? ['--seed', seed] : [])], {
        cwd: ROOT,
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      if (code !== 0) {
        rmSync(partial, { recursive: true, force: true });
        throw new Error(`building the server binary failed (exit ${code}):\n${out}${err}`);
      }
      renameSync(partial, dir);
      for (const name of readdirSync(base))
        if (name.startsWith(PREFIX) && !name.startsWith(`${PREFIX}${key}`) && ageMs(join(base, name)) > UNUSED_MS)
          rmSync(join(base, name), { recursive: true, force: true });
    },
    STALE_LOCK_MS,
  );
  const now = new Date();
  utimesSync(dir, now, now); // in use: not removed by another run
  return bin;
}

let built: Promise<string> | undefined;

/**
 * The path of the compiled server built from the current source (built on first use). The shared temp dir is the
 * one test/support/preload.ts saw before it gave each worker its own (AIGC_TEST_SHARED_TMP).
 */
export function testBinary(): Promise<string> {
  if (!built) {
    built = build(process.env.AIGC_TEST_SHARED_TMP ?? tmpdir());
    built.catch(() => {}); // reported to every caller that awaits it
  }
  return built;
}
