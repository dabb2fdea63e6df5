// `npm test`: `bun test --no-isolate --timings=test/timings.json` with two worker processes more than the machine
// has cores, and whatever arguments were given (a file, `-t`, `--update-timings`) passed on.
//
// More workers than cores because several files spend seconds waiting — for a child process they started, a
// provider fake's delays (Retry-After, poll back-off), a lease to expire — and meanwhile their core would sit idle.
// Measured on 2 cores, interleaved: 3 workers 72–76 s against 78–83 s for 2 on PGlite (62–63 s against 75 s on
// PostgreSQL); later, with less CPU per file, 4 workers 45.5 / 45.7 / 44.0 s against 47.0 / 47.0 / 45.7 s for 3 on
// PGlite and 39.9 s against 42.7 s on PostgreSQL (each worker holds its own database and app: ≈ 0.3–0.5 GB).
//
// JavaScriptCore's top tiers are left off in the test processes, unless already set: FTL, the optimising JIT of
// JavaScript (BUN_JSC_useFTLJIT=0), and OMG, the optimising compiler of WebAssembly (BUN_JSC_useOMGJIT=0; PGlite, the
// embedded PostgreSQL, is 9 MB of it, then runs on the baseline tier BBQ). A test run executes most code briefly, and
// these compiles cost more CPU than they save there. Same code, same results — the tiers are semantically
// equivalent; only the JIT's effort changes (the servers the process tests start inherit the variables: a compiled
// binary reads BUN_JSC_* too; `bench/` and the soak do not set them and run with every tier). Measured on 2 cores, interleaved, PGlite:
// without FTL 55 / 62 s and 100 / 115 s of CPU against 64–69 s and 119–129 s with it; then without OMG as well
// 51.0–53.9 s and 92–97 s of CPU against 56.3–56.5 s and 101.5–104 s (the baseline tiers alone, without DFG or BBQ
// as well, were far slower: 84 s and 183 s).
//
// The middle JIT tier for JavaScript, DFG, is kept but starts later: a function is optimised after 20,000 warm-up
// units instead of 1,000 (BUN_JSC_thresholdForOptimizeAfterWarmUp), so that code a test runs a few thousand times
// (a handler, a fixture) is no longer compiled for nothing. Measured on a 2-core Intel Xeon machine, interleaved,
// PGlite: 45.5 / 45.5 / 45.8 / 47.3 s and 86–89 s of CPU against 47.1 / 48.3 / 49.9 / 49.8 s and 88–95 s; 5,000:
// 46.0 / 47.5 s; DFG off entirely: 62.5 s and 119 s of CPU; the baseline tier later as well (2,000): no further gain.
//
// The allocator (mimalloc) keeps the memory it frees instead of returning it to the system 100 ms later
// (MIMALLOC_PURGE_DELAY=-1): the suite's short-lived processes would otherwise give pages back and fault them in again.
// Same code; only RSS stays at its peak. Interleaved, same machine: 47.3 / 46.3 s with 11.6 / 10.4 s of system CPU
// against 48.5 / 48.0 s with 13.5 / 13.2 s.
import { lstatSync, mkdirSync, statfsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const TMPFS_MAGIC = 0x01021994;
const TMPFS_FREE_NEEDED = 4 * 1024 ** 3;
/**
 * The temp dir for the run: unless TMPDIR is set, a directory of this user's on /dev/shm when that is a tmpfs with
 * 4 GiB free. Every server the suite starts unpacks a 1,065-file database there, and the tests write results, uploads
 * and mails: on the ext4 /tmp of this machine kind, creating a file costs 0.1–0.6 ms of kernel CPU once the directory's
 * inode group holds many recently deleted inodes (ext4 without a journal skips them one by one). Measured (2 cores,
 * interleaved): an embedded server's start 0.93 s of CPU on /dev/shm against 1.65 s on /tmp.
 */
function tempDir(): string | undefined {
  if (process.env.TMPDIR || process.platform !== 'linux') return undefined;
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.type !== TMPFS_MAGIC || fs.bavail * fs.bsize < TMPFS_FREE_NEEDED) return undefined;
    const uid = process.getuid!(); // Linux, checked above
    const dir = `/dev/shm/aigc-test-${uid}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    // a directory of this user's only (not a link another user left there)
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

const workers = availableParallelism() + 2;
const tmp = tempDir();
const proc = Bun.spawn([process.execPath, 'test', `--parallel=${workers}`, '--no-isolate', '--timings=test/timings.json', ...process.argv.slice(2)], {
  cwd: join(import.meta.dir, '..'),
  stdio: ['inherit', 'inherit', 'inherit'],
  env: { BUN_JSC_useFTLJIT: '0', BUN_JSC_useOMGJIT: '0', BUN_JSC_thresholdForOptimizeAfterWarmUp: '20000', MIMALLOC_PURGE_DELAY: '-1', ...(tmp ? { TMPDIR: tmp } : {}), ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => proc.kill(signal));
process.exit(await proc.exited);
