// What the benchmarks share (bench/run.ts, bench/providers.ts): processes, scratch databases, the HTTP API, wrk.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

export const ROOT = join(import.meta.dir, '..');
export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BIN = join(ROOT, 'dist', 'aigc-server');
export const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz';
export const PASSWORD = 'Bench@1234';
export const WORK = mkdtempSync(join(tmpdir(), 'aigc-bench-'));

export const log = (...a: unknown[]) => console.log('[bench]', ...a);
export const sleep = (ms: number) => Bun.sleep(ms);
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const fmt = (n: number, d = 1) => n.toFixed(d);

export function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const p = Bun.spawnSync(cmd, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdout: 'pipe', stderr: 'pipe' });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

// ------------------------------------------------------------------ tools and build

export function ensureWrk() {
  if (Bun.which('wrk')) return;
  log('wrk not found; installing it with apt-get');
  if (process.getuid?.() === 0 && Bun.which('apt-get')) {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', 'wrk']);
  }
  if (!Bun.which('wrk')) throw new Error('bench needs wrk (Debian: apt-get install wrk)');
}

export function build(noBuild = false) {
  if (noBuild && existsSync(BIN)) return;
  log('building the binary (bun run build)');
  const r = run([process.execPath, 'run', 'scripts/build.ts']);
  if (r.code !== 0) throw new Error(`build failed:\n${r.out}\n${r.err}`);
}

// ------------------------------------------------------------------ processes

export interface Server {
  name: string;
  proc: Bun.Subprocess;
  base: string;
  readyMs: number;
  stop(): Promise<void>;
}

/** every process started, so that a failed run leaves none behind */
export const processes: Bun.Subprocess[] = [];

let nextPort = 4300 + (process.pid % 500);
/** the next port; 4369 is epmd's (RabbitMQ runs on these machines) */
export const port = () => (nextPort === 4369 ? ((nextPort += 2), 4370) : nextPort++);

export async function start(name: string, cmd: string[], env: Record<string, string>, readyPath: string): Promise<Server> {
  const p = port();
  const logFile = join(WORK, `${name.replace(/\W+/g, '_')}-${p}.log`);
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    env: { ...process.env, PORT: String(p), HOST: '127.0.0.1', ...env },
    stdout: Bun.file(logFile),
    stderr: Bun.file(`${logFile}.err`),
  });
  processes.push(proc);
  const base = `http://127.0.0.1:${p}`;
  for (;;) {
    try {
      const res = await fetch(base + readyPath);
      if (res.status === 200) break;
    } catch {}
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${readFileSync(`${logFile}.err`, "utf8")}`);
    if (performance.now() - t0 > 60_000) throw new Error(`${name} not ready in 60 s`);
    await sleep(5);
  }
  const readyMs = performance.now() - t0;
  return {
    name,
    proc,
    base,
    readyMs,
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([proc.exited, sleep(15_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

export const rssMB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

export const project = (name: string, dataDir: string, databaseUrl?: string, env: Record<string, string> = {}) =>
  start(
    name,
    [BIN],
    { DATA_DIR: dataDir, JWT_SECRET: SECRET, USER_MAX_ACTIVE_TASKS: '0', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: '' }), ...env },
    '/readyz',
  );

// ------------------------------------------------------------------ PostgreSQL scratch databases

export const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
export const scratch: string[] = [];
export async function scratchDb(tag: string): Promise<string> {
  const name = `aigc_bench_${tag}_${process.pid}`;
  await admin.unsafe(`drop database if exists ${name}`);
  await admin.unsafe(`create database ${name}`);
  scratch.push(name);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

// ------------------------------------------------------------------ HTTP helpers and seeding

export async function api(base: string, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as { code: number; message: string; data?: any };
  if (res.status !== 200 || json.code !== 200) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json.data;
}

let userSeq = 0;
export async function newUser(base: string, tag: string) {
  const account = `b${tag}${process.pid}x${userSeq++}`;
  await api(base, 'POST', '/api/v1/auth/register', { account, email: `${account}@bench.local`, password: PASSWORD });
  const { token } = await api(base, 'POST', '/api/v1/auth/login', { account, password: PASSWORD });
  const [root] = await api(base, 'GET', '/api/v1/user/favorite_list', undefined, token);
  return { account, token: token as string, root: root.id as number };
}

/** 1,000 batch items: 10 folders under `parentId`, 99 files in each. */
export function batchItems(parentId: number) {
  const items: object[] = [];
  let temp = 1;
  for (let f = 0; f < 10; f++) {
    const folder = temp++;
    items.push({ temp_id: folder, parent_id: parentId, name: `folder ${f}`, node_type: 'folder' });
    for (let i = 0; i < 99; i++) {
      items.push({ temp_id: temp++, parent_temp_id: folder, name: `image ${f}-${i}.png`, node_type: 'file', refer_url: `/generated_outputs/task_${String(f * 100 + i).padStart(20, '0')}.png` });
    }
  }
  return { items };
}

/** 10,000 nodes under `parentId` (a folder, then 10 batches). Returns the folder's id. */
export async function seedFavorites(base: string, token: string, parentId: number, tenBatches = 10) {
  for (let b = 0; b < tenBatches; b++) await api(base, 'POST', '/api/v1/user/favorite_list/batch', batchItems(parentId), token);
}

/** `n` real generations (tiny t2i) so that the history holds n completed records with result files. */
export async function seedHistory(base: string, token: string, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, k) =>
        api(base, 'POST', '/api/v1/generation', { type: 't2i', prompt: `history ${i + k}`, parameters: { width: 64, height: 64 } }, token),
      ),
    );
    ids.push(...chunk.map((c) => c.task_id));
  }
  for (;;) {
    const list = (await api(base, 'GET', '/api/v1/user/generation_list', undefined, token)) as { status: string }[];
    if (list.length === n && list.every((r) => r.status === 'completed')) return ids;
    if (list.some((r) => r.status === 'failed')) throw new Error('a seeded generation failed');
    await sleep(200);
  }
}

// ------------------------------------------------------------------ wrk

export interface Load {
  method?: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  token?: string;
  conns: number;
  seconds: number;
  /** pause per connection between requests (ms): a paced, client-like load instead of a closed loop */
  delayMs?: number;
}
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** what a part that was skipped (--skip, --only) reports */
export const NO_RESULT: LoadResult = { rps: NaN, p50: NaN, p99: NaN, requests: 0, errors: 0 };

let scriptSeq = 0;
export function wrk(base: string, l: Load): LoadResult {
  const dir = WORK;
  const n = scriptSeq++;
  const lines = [`wrk.method = "${l.method ?? 'GET'}"`];
  if (l.body !== undefined) {
    const bodyFile = join(dir, `body-${n}.json`);
    writeFileSync(bodyFile, JSON.stringify(l.body));
    lines.push(`local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*a"); f:close()`);
    lines.push('wrk.headers["Content-Type"] = "application/json"');
  }
  if (l.token) lines.push(`wrk.headers["Authorization"] = "Bearer ${l.token}"`);
  if (l.delayMs) lines.push(`function delay() return ${l.delayMs} end`);
  lines.push(
    'done = function(s, lat, req)',
    '  local e = s.errors',
    '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", s.requests, s.duration, lat:percentile(50), lat:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))',
    'end',
  );
  const script = join(dir, `script-${n}.lua`);
  writeFileSync(script, lines.join('\n'));
  const r = run(['wrk', '-t1', `-c${l.conns}`, `-d${l.seconds}s`, '--timeout', '10s', '-s', script, base + l.path]);
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(r.out);
  if (!m) throw new Error(`wrk failed: ${r.out}\n${r.err}`);
  const [requests, durationUs, p50, p99, errors, status] = m.slice(1).map(Number);
  if (errors + status > 0) throw new Error(`${l.method ?? 'GET'} ${l.path}: ${errors} socket errors, ${status} non-2xx/3xx answers`);
  return { rps: requests / (durationUs / 1e6), p50: p50 / 1000, p99: p99 / 1000, requests, errors };
}

// ------------------------------------------------------------------ scenarios


/** Ends what a benchmark started: its servers (SIGKILL), its scratch databases, the admin connection. */
export async function cleanup(): Promise<void> {
  for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
  for (const name of scratch) await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  await admin.end({ timeout: 2 });
}
