import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

/** A start-up problem that stops the process with one line (like a configuration error). */
export class StartupError extends Error {}

const MB = 1024 * 1024;
/** A new embedded database (about 40 MB unpacked) plus room to work. */
export const NEED_FRESH_PGLITE = 96 * MB;
/** An existing embedded database, or files and mail only (external PostgreSQL). */
export const NEED_RUNNING = 16 * MB;

/** Free bytes for this process under `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** How much room DATA_DIR needs to start: more for a first embedded start, which unpacks the database. */
export function spaceNeeded(dataDir: string, embedded: boolean): number {
  return embedded && !existsSync(join(dataDir, 'pg', 'PG_VERSION')) ? NEED_FRESH_PGLITE : NEED_RUNNING;
}

/** Refuses to start on a (nearly) full DATA_DIR, with a line that says how much room is needed. */
export function checkDataDirSpace(dataDir: string, embedded: boolean, free = freeBytes(dataDir)) {
  const need = spaceNeeded(dataDir, embedded);
  if (free < need) {
    throw new StartupError(
      `not enough space in DATA_DIR=${dataDir} (needs about ${Math.ceil(need / MB)} MB, ${Math.floor(free / MB)} MB free)`,
    );
  }
}

/** True for "no space left on device" in its Node (ENOSPC) and its WASM-filesystem (errno 51) spellings. */
export function isNoSpace(e: unknown): boolean {
  const err = e as { code?: string; errno?: number; cause?: unknown } | null;
  if (!err) return false;
  return err.code === 'ENOSPC' || err.code === 'EDQUOT' || err.errno === 51 || /ENOSPC|no space left/i.test(String((e as Error)?.message ?? '')) || (err.cause !== undefined && err.cause !== e && isNoSpace(err.cause));
}
