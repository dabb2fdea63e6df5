// Where the code runs from: the compiled binary (`bun build --compile`) keeps its modules in Bun's embedded file
// system, `$bunfs`, and addresses a worker's entry point from the bundle root (scripts/build.ts lists every worker
// as an extra entrypoint); from source, the same file is found under the project's root.

/** true inside the compiled binary */
export const COMPILED = import.meta.url.includes('$bunfs');

/** The URL to start a worker with, for its source path from the project's root (e.g. `src/db/pglite-worker.ts`). */
export function workerEntry(path: string): string {
  return COMPILED ? `./${path}` : new URL(`../${path}`, import.meta.url).href;
}
