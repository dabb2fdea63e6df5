// One garbage-collection marker thread (issue 15): the server re-executes itself once at start-up, before anything
// else runs, with `BUN_JSC_numberOfGCMarkers=1` in its environment (JavaScriptCore reads its options only when the
// process starts). The heap of this server is small (tens of MB), so parallel marking saves little; but its helper
// threads wake on every collection (about ten a second under load) and take a core from the HTTP thread or from its
// clients for a millisecond or more at a time. Measured on 2 cores (compiled binary, wrk, 16 connections, poll of a
// completed task, one server, 7 interleaved 5 s runs): p99 1.31 ms against 2.09 ms, p98 0.73 against 1.11 ms (and
// 1.71 against 2.39 ms in 5 runs); with four servers at once on the same cores, as bench/run.ts runs them, the
// difference was within the noise. Start-up: ~5 ms more.
//
// execve keeps the process id, its open standard streams and its arguments: a supervisor sees one process. A value
// already set (any, e.g. `BUN_JSC_numberOfGCMarkers=2` to go back to parallel marking) is left alone, which also
// ends the re-execution after one round.
export const GC_MARKERS_VAR = 'BUN_JSC_numberOfGCMarkers';

export interface ExecPlan {
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
}

/**
 * The execve that restarts this process with one GC marker, or null when nothing is to be done (the variable is
 * set, or the platform has no execve). `compiled`: a `bun build --compile` binary, whose argv[1] is its own bundled
 * entry point, not an argument.
 */
export function gcMarkersExec(p: {
  env: Record<string, string | undefined>;
  execPath: string;
  argv: readonly string[];
  execArgv: readonly string[];
  compiled: boolean;
  platform: string;
  canExec: boolean;
}): ExecPlan | null {
  if (p.env[GC_MARKERS_VAR] !== undefined || !p.canExec || (p.platform !== 'linux' && p.platform !== 'darwin')) return null;
  const rest = p.compiled ? p.argv.slice(2) : [...p.execArgv, ...p.argv.slice(1)];
  return { file: p.execPath, args: [p.execPath, ...rest], env: { ...p.env, [GC_MARKERS_VAR]: '1' } };
}
