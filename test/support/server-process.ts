// The real server as a child process, for the tests whose subject is the process itself: start-up, signals, kill -9,
// several instances, the CLI. It is the compiled binary built from the current source (test/support/binary.ts), what
// teams deploy; `fromSource` runs `bun src/index.ts` instead. It listens on PORT=0 — a port the kernel picks at bind
// time — and the address is read from its "listening on http://…" line: choosing a free port beforehand (bind, close,
// hand the number over) lost races to the other test processes running in parallel (EADDRINUSE at start-up).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { testBinary } from './binary';

export const ROOT = join(import.meta.dir, '../..');
const LISTENING = /listening on (http:\/\/[^\s"]+)/;

export interface ServerProcess {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  /** http://127.0.0.1:PORT */
  base: string;
  /** everything it printed so far (stdout and stderr, in arrival order) */
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after 30 s) */
  stop(): Promise<number>;
  /** SIGKILL, then the exit code */
  kill9(): Promise<number>;
}

export interface SpawnServerOptions {
  /** the environment of the process, except PORT and HOST: always 0 and 127.0.0.1 */
  env: Record<string, string | undefined>;
  /** a file that gets a copy of the output as it comes (kept for a failed run) */
  logFile?: string;
  /** the path that must answer HTTP 200 before the server counts as started (default /healthz) */
  ready?: string;
  timeoutMs?: number;
  /** `bun src/index.ts` instead of the compiled binary */
  fromSource?: boolean;
}

/** The command that runs the server: the compiled binary, or the source. */
const serverCommand = async (fromSource = false) => (fromSource ? [process.execPath, 'src/index.ts'] : [await testBinary()]);

/**
 * argon2id at the test cost (1.7 ms a hash instead of 206 ms at the default cost, on a 2-core AMD EPYC VM), for the
 * in-process app (test/support/env.ts) and every server and CLI run started here: registrations and logins hash for
 * real, only cheaper. A test that sets either variable keeps its own; test/auth.test.ts checks the default cost. Measured on the
 * eight files that start servers, interleaved: 34.4 / 35.4 s of user CPU against 40.1 / 38.2 s.
 */
export const TEST_PASSWORD_COST = { PASSWORD_HASH_MEMORY: '1024', PASSWORD_HASH_TIME: '1' };

/**
 * The environment of a child server or CLI: the test's own, plus argon2's test cost and the test runner's JIT
 * settings (BUN_JSC_*: scripts/test.ts turns the top tiers off) when the test built a minimal environment without
 * them, so that every process started from source runs alike (the compiled binary ignores them).
 */
function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { ...TEST_PASSWORD_COST };
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BUN_JSC_') && v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Starts the server and resolves once `ready` answers 200; throws (with its output) when it exits or times out. */
export async function spawnServer(o: SpawnServerOptions): Promise<ServerProcess> {
  const env = childEnv({ ...o.env, PORT: '0', HOST: '127.0.0.1' });
  const proc = Bun.spawn(await serverCommand(o.fromSource), { cwd: ROOT, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  let text = '';
  let onText = () => {};
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      if (o.logFile) appendFileSync(o.logFile, s);
      onText();
    }
  };
  const drained = Promise.all([pump(proc.stdout), pump(proc.stderr)]).catch(() => {});
  const failed = (why: string) => {
    proc.kill('SIGKILL');
    return new Error(`the server ${why} (exit ${proc.exitCode}):\n${text.split('\n').slice(-40).join('\n')}`);
  };
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  // the address, from the log line that announces it
  let base: string | undefined;
  while (!(base = LISTENING.exec(text)?.[1])) {
    if (proc.exitCode !== null) {
      await drained;
      throw failed('exited before listening');
    }
    if (Date.now() > deadline) throw failed('did not start in time');
    await Promise.race([new Promise<void>((resolve) => (onText = resolve)), proc.exited, Bun.sleep(100)]);
  }
  const ready = o.ready ?? '/healthz';
  while (!(await fetch(`${base}${ready}`).then((r) => r.status === 200, () => false))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw failed(`did not answer ${ready}`);
    await Bun.sleep(50);
  }
  const exit = async (signal: 'SIGTERM' | 'SIGKILL') => {
    proc.kill(signal);
    const timer = signal === 'SIGTERM' ? setTimeout(() => proc.kill('SIGKILL'), 30_000) : undefined;
    const code = await proc.exited;
    clearTimeout(timer);
    await drained;
    return code;
  };
  return { proc, base, output: () => text, stop: () => exit('SIGTERM'), kill9: () => exit('SIGKILL') };
}

/** Runs the server's command line with `args` to its exit: a CLI subcommand, or a start-up that must fail. */
export async function runCli(args: string[], env: Record<string, string | undefined>, o: { fromSource?: boolean } = {}) {
  const proc = Bun.spawn([...(await serverCommand(o.fromSource)), ...args], { cwd: ROOT, env: childEnv(env), stdout: 'pipe', stderr: 'pipe' });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, out, err };
}
