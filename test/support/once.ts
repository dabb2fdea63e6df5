// Something the test processes of a run share and make only once (the PGlite seed, preload.ts; the compiled server,
// binary.ts): the first process that needs it makes it under a lock directory holding its pid, the others wait for it.
// A lock whose holder has ended (killed while making it), or older than `staleMs`, is taken over.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './pid';

function stale(lock: string, staleMs: number): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > staleMs) return true;
  } catch {
    return false; // removed meanwhile: the next attempt creates it
  }
  try {
    return !processAlive(Number(readFileSync(join(lock, 'pid'), 'utf8')));
  } catch {
    return false; // the pid is being written
  }
}

/**
 * Returns once `ready()` is true: if it is not, takes `lock` (a directory, created atomically) and runs `make`, or
 * waits (100 ms steps) while another live process holds it. `make` must leave `ready()` true or throw.
 */
export async function makeOnce(lock: string, ready: () => boolean, make: () => Promise<void>, staleMs: number): Promise<void> {
  for (;;) {
    if (ready()) return;
    try {
      mkdirSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (stale(lock, staleMs)) rmSync(lock, { recursive: true, force: true });
      else await Bun.sleep(100);
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      if (ready()) return; // made by another process meanwhile
      await make();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
