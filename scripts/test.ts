// `npm test`: `bun test --no-isolate --timings=test/timings.json` with one worker process more than the machine
// has cores, and whatever arguments were given (a file, `-t`, `--update-timings`) passed on.
//
// One more than the cores because several files spend seconds waiting — for a child process they started, a
// provider fake's delays, a retry — and with one worker per core that core sits idle meanwhile. Measured on
// 2 cores, interleaved: 3 workers 72–76 s against 78–83 s for 2 on PGlite; 62–63 s against 75 s on PostgreSQL.
//
// JavaScriptCore's top tier (FTL) is left off in the test processes (BUN_JSC_useFTLJIT=0, unless already set): a test
// run executes most code briefly, and FTL's compiles cost more CPU than they save there. Same code, same results —
// the tiers are semantically equivalent; only the JIT's effort changes (the benchmark and the soak run the binary with
// every tier). Measured on 2 cores, interleaved, PGlite: 55 / 62 s and 100 / 115 s of CPU without FTL against
// 64–69 s and 119–129 s with it.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const workers = availableParallelism() + 1;
const proc = Bun.spawn([process.execPath, 'test', `--parallel=${workers}`, '--no-isolate', '--timings=test/timings.json', ...process.argv.slice(2)], {
  cwd: join(import.meta.dir, '..'),
  stdio: ['inherit', 'inherit', 'inherit'],
  env: { BUN_JSC_useFTLJIT: '0', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => proc.kill(signal));
process.exit(await proc.exited);
