// The soak (issue 15 §4): `bun bench/soak.ts [--minutes 10] [--db embedded|pg|embedded,pg] [--rate 120] [--conc 16]
// [--users 4] [--no-build] [--keep] [--out bench/SOAK.md]` (defaults shown).
//
// Builds the binary (unless --no-build and it exists), copies it into the scratch dir (so that a rebuild by someone
// else cannot touch the running file), starts it on its embedded default (and/or a scratch PostgreSQL database),
// seeds a few users, then drives a steady mixed load for N minutes: polls of running and completed tasks, the
// history, the favorites list, small favorites batches (each deleted again, so the tree keeps its size), uploads
// of small PNG/JPEG images and reading them back, downloads of results, and one generation every few seconds
// (a small t2i; every tenth a short t2v). Every answer is checked (HTTP status, envelope code, body); errors are
// counted and the first few printed. Every 5 s: the server's RSS, its open file descriptors, requests done.
// After one minute and at the end the load pauses until every task is done and a few seconds more, so that the
// descriptors compare at rest (no requests or encodes in flight). Writes bench/SOAK.md and prints one JSON line.
//
// Load model: `conc` client loops share the rate; each loop issues one operation every conc/rate seconds (an
// operation with two requests counts two), never bursting to catch up. Not a closed loop: the rate stays the
// same however fast the server answers, as from many clients polling at a steady pace. 120 req/s because on the
// 2-core machine the benchmarks run on (client and server share it) 200 req/s kept embedded PGlite's one thread
// ~85% busy and the loops fell behind to ~150 req/s: that is flat-out, not a steady load.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import {
  cleanup,
  BIN,
  ROOT,
  SECRET,
  WORK,
  
  batchItems,
  build,
  fmt,
  log,
  median,
  newUser,
  
  rssMB,
  scratch,
  scratchDb,
  seedFavorites,
  seedHistory,
  sleep,
  start,
  type Server,
} from './lib';

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const MINUTES = Number(opt('--minutes', '10'));
const RATE = Number(opt('--rate', '120'));
const CONC = Number(opt('--conc', '16'));
const USERS = Number(opt('--users', '4'));
const DBS = opt('--db', 'embedded').split(',') as ('embedded' | 'pg')[];
const OUT = opt('--out', join(ROOT, 'bench', 'SOAK.md'));
const NO_BUILD = argv.includes('--no-build');
const GEN_EVERY_MS = 3000;
const T2V_EVERY = 10;
const SAMPLE_MS = 5000;
/**
 * the load pauses this long after the last task is done before descriptors are counted "at rest": longer than
 * Bun.serve's idle timeout (10 s, the server does not change it), so the server has closed the keep-alive connections
 */
const REST_MS = 12_000;
const SHOW_ERRORS = 10;

// ------------------------------------------------------------------ the operations mix (weights per operation)

const MIX = {
  pollDone: 40, // GET /api/v1/generation/{id}, a completed task
  pollRecent: 10, // the same, one of the last tasks created (often still running)
  history: 12, // GET /api/v1/user/generation_list
  favorites: 8, // GET /api/v1/user/favorite_list (about 1,000 nodes)
  batch: 5, // POST …/favorite_list/batch (50 items), then DELETE the folder: 2 requests
  upload: 8, // POST /api/v1/upload (PNG or JPEG, 64–96 px)
  uploadGet: 7, // GET /uploads/{name}, an earlier upload
  result: 10, // GET the result file of a completed task
} as const;
type Op = keyof typeof MIX | 'generate' | 'pollAll';
const opNames = Object.keys(MIX) as (keyof typeof MIX)[];
const totalWeight = opNames.reduce((s, k) => s + MIX[k], 0);
const pickOp = (): keyof typeof MIX => {
  let r = Math.random() * totalWeight;
  for (const k of opNames) if ((r -= MIX[k]) < 0) return k;
  return opNames[0];
};

// ------------------------------------------------------------------ images made here

function pixels(w: number, h: number, seed: number) {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = (i / w) | 0;
    data.set([(x * 4 + seed * 31) & 255, (y * 4 + seed * 17) & 255, ((x ^ y) + seed) & 255, 255], i * 4);
  }
  return data;
}
const IMAGES: { bytes: Uint8Array; type: string }[] = [];
for (let s = 0; s < 4; s++) {
  const w = 64 + s * 8;
  const h = 96 - s * 8;
  IMAGES.push({ bytes: encodePng({ width: w, height: h, data: pixels(w, h, s), channels: 4, depth: 8 }), type: 'image/png' });
  const j = jpeg.encode({ width: w, height: h, data: Buffer.from(pixels(w, h, s + 7)) }, 80);
  IMAGES.push({ bytes: new Uint8Array(j.data), type: 'image/jpeg' });
}

// ------------------------------------------------------------------ checked requests

interface Stats {
  requests: number;
  errors: number;
  shown: string[];
  byOp: Map<Op, number[]>;
}
const newStats = (): Stats => ({ requests: 0, errors: 0, shown: [], byOp: new Map() });

class Client {
  constructor(
    readonly base: string,
    readonly stats: Stats,
  ) {}

  private fail(op: Op, what: string) {
    this.stats.errors++;
    if (this.stats.shown.length < SHOW_ERRORS) {
      this.stats.shown.push(`${op}: ${what}`);
      log(`ERROR ${op}: ${what}`);
    }
    return null;
  }

  /** one request; returns the envelope's data (JSON) or the body's size (files), or null after a counted error */
  async call(op: Op, method: string, path: string, o: { token: string; json?: unknown; raw?: { bytes: Uint8Array; type: string }; file?: boolean }): Promise<any> {
    const headers: Record<string, string> = { authorization: `Bearer ${o.token}` };
    let body: string | Uint8Array | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.raw) {
      headers['content-type'] = o.raw.type;
      body = o.raw.bytes;
    }
    const t0 = performance.now();
    this.stats.requests++;
    try {
      const res = await fetch(this.base + path, { method, headers, body });
      const buf = new Uint8Array(await res.arrayBuffer());
      const ms = performance.now() - t0;
      const list = this.stats.byOp.get(op) ?? [];
      list.push(ms);
      this.stats.byOp.set(op, list);
      const text = () => new TextDecoder().decode(buf.subarray(0, 300));
      if (res.status !== 200) return this.fail(op, `${method} ${path}: HTTP ${res.status} ${text()}`);
      if (o.file) return buf.length > 0 ? buf.length : this.fail(op, `${method} ${path}: empty body`);
      let env: { code: number; data?: unknown };
      try {
        env = JSON.parse(new TextDecoder().decode(buf));
      } catch {
        return this.fail(op, `${method} ${path}: not JSON: ${text()}`);
      }
      if (env.code !== 200) return this.fail(op, `${method} ${path}: code ${env.code} ${text()}`);
      return env.data ?? {};
    } catch (e) {
      return this.fail(op, `${method} ${path}: network error ${(e as Error).message}`);
    }
  }
}

// ------------------------------------------------------------------ the state the load works on

interface SoakUser {
  token: string;
  root: number;
  done: string[]; // completed task ids (poll targets)
  results: string[]; // result urls of completed, approved tasks
  uploads: string[]; // file urls
}

interface TaskRef {
  user: SoakUser;
  id: string;
  type: 't2i' | 't2v';
}

async function seedUser(c: Client, tag: string): Promise<SoakUser> {
  const u = await newUser(c.base, tag);
  await seedFavorites(c.base, u.token, u.root, 1); // 1,000 nodes
  const done = await seedHistory(c.base, u.token, 20);
  const user: SoakUser = { token: u.token, root: u.root, done, results: [], uploads: [] };
  for (const id of done) {
    const t = await c.call('pollDone', 'GET', `/api/v1/generation/${id}`, { token: u.token });
    if (t?.result_url) user.results.push(t.result_url);
  }
  return user;
}

const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

let batchSeq = 0;
async function runOp(c: Client, users: SoakUser[], recent: TaskRef[], op: keyof typeof MIX): Promise<number> {
  const u = pick(users)!;
  switch (op) {
    case 'pollDone':
      await c.call(op, 'GET', `/api/v1/generation/${pick(u.done)}`, { token: u.token });
      return 1;
    case 'pollRecent': {
      const t = pick(recent.slice(-8));
      if (!t) return runOp(c, users, recent, 'pollDone');
      await c.call(op, 'GET', `/api/v1/generation/${t.id}`, { token: t.user.token });
      return 1;
    }
    case 'history':
      await c.call(op, 'GET', '/api/v1/user/generation_list', { token: u.token });
      return 1;
    case 'favorites':
      await c.call(op, 'GET', '/api/v1/user/favorite_list', { token: u.token });
      return 1;
    case 'batch': {
      const items = batchItems(u.root).items.slice(0, 50) as { name: string }[];
      items[0].name = `soak ${batchSeq++}`;
      const r = await c.call(op, 'POST', '/api/v1/user/favorite_list/batch', { token: u.token, json: { items } });
      if (!r) return 1;
      // temp id 1 is the folder; deleting it removes the 49 files too
      const removed = await c.call(op, 'DELETE', `/api/v1/user/favorite_list/${r.mapping['1']}`, { token: u.token });
      if (removed && removed.length !== 50) c.stats.errors++, log(`ERROR batch: deleted ${removed.length} nodes, expected 50`);
      return 2;
    }
    case 'upload': {
      const r = await c.call(op, 'POST', '/api/v1/upload', { token: u.token, raw: pick(IMAGES)! });
      if (r?.file_url && u.uploads.length < 50) u.uploads.push(r.file_url);
      else if (r?.file_url) u.uploads[Math.floor(Math.random() * 50)] = r.file_url;
      return 1;
    }
    case 'uploadGet': {
      const url = pick(u.uploads);
      if (!url) return runOp(c, users, recent, 'upload');
      await c.call(op, 'GET', url, { token: u.token, file: true });
      return 1;
    }
    case 'result': {
      const url = pick(u.results);
      if (!url) return runOp(c, users, recent, 'pollDone');
      await c.call(op, 'GET', url, { token: u.token, file: true });
      return 1;
    }
  }
}

/** one generation; its result joins the poll and download targets once it is done */
let genSeq = 0;
async function generate(c: Client, users: SoakUser[], recent: TaskRef[]) {
  const n = genSeq++;
  const user = users[n % users.length];
  const type = n % T2V_EVERY === T2V_EVERY - 1 ? 't2v' : 't2i';
  const parameters = type === 't2i' ? { width: 128, height: 128, seed: n } : { width: 128, height: 128, duration: 1, fps: 8, seed: n };
  const r = await c.call('generate', 'POST', '/api/v1/generation', { token: user.token, json: { type, prompt: `soak ${type} ${n}: a lighthouse by the sea`, parameters } });
  if (r?.task_id) recent.push({ user, id: r.task_id, type });
}

/** Follows the recent tasks: completed ones move to the users' poll and download targets; a failure is an error. */
async function settle(c: Client, recent: TaskRef[]) {
  for (const t of [...recent]) {
    const r = await c.call('pollAll', 'GET', `/api/v1/generation/${t.id}`, { token: t.user.token });
    if (!r || r.status === 'processing') continue;
    recent.splice(recent.indexOf(t), 1);
    if (r.status === 'completed') {
      t.user.done.push(t.id);
      if (r.result_url) t.user.results.push(r.result_url);
      else c.stats.errors++, log(`ERROR ${t.type} ${t.id}: completed without result_url (review ${r.review_status})`);
    } else {
      c.stats.errors++;
      log(`ERROR ${t.type} ${t.id}: ${r.status} ${r.error ?? ''}`);
    }
  }
}

// ------------------------------------------------------------------ samples

interface Sample {
  t: number; // s since the load started
  lt: number; // s of load (t without the rest pauses)
  rss: number;
  fds: number;
  conns: number; // of fds, connections from the client
  cpu: number; // server CPU seconds so far
  requests: number;
  errors: number;
  phase: 'load' | 'rest';
}
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
/**
 * Of those, the connections from clients: sockets of the process whose local port is the server's and that are
 * not the listening one (/proc/<pid>/net/tcp{,6} maps socket inodes to addresses; state 0A is LISTEN).
 */
function clientConnections(pid: number, port: number) {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {} // closed meanwhile
  }
  let n = 0;
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && parseInt(f[1].split(':')[1], 16) === port && f[3] !== '0A' && inodes.has(f[9])) n++;
    }
  }
  return n;
}
/** CPU seconds (user + system) the process has used: /proc/<pid>/stat fields 14 and 15, in clock ticks (100/s) */
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

interface SoakResult {
  db: 'embedded' | 'pg';
  samples: Sample[];
  rssMinute1: number;
  rssEnd: number;
  rest1: Sample;
  restEnd: Sample;
  fdsMinute1: number;
  fdsEnd: number;
  requests: number;
  errors: number;
  shown: string[];
  generations: number;
  rps: number;
  seedS: number;
  latency: { op: Op; n: number; p50: number; p99: number }[];
}

async function soak(db: 'embedded' | 'pg', bin: string): Promise<SoakResult> {
  const dataDir = join(WORK, `data-${db}`);
  mkdirSync(dataDir, { recursive: true });
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    USER_MAX_ACTIVE_TASKS: '0',
    DATABASE_URL: db === 'pg' ? await scratchDb('soak') : '',
  };
  const server: Server = await start(`soak-${db}`, [bin], env, '/readyz');
  const pid = server.proc.pid;
  const port = Number(new URL(server.base).port);
  const stats = newStats();
  const c = new Client(server.base, stats);
  const genStart = genSeq;
  try {
    const t0s = performance.now();
    const users: SoakUser[] = [];
    for (let i = 0; i < USERS; i++) users.push(await seedUser(c, `soak${db[0]}${i}`));
    const seedS = (performance.now() - t0s) / 1000;
    log(`${db}: ${USERS} users seeded in ${fmt(seedS)} s (1,000 favorites and 20 completed tasks each); RSS ${fmt(rssMB(pid))} MB, fds ${fdCount(pid)}`);
    stats.requests = 0;
    stats.byOp.clear();
    const recent: TaskRef[] = [];
    const samples: Sample[] = [];
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    let pausedMs = 0;
    const sample = (phase: Sample['phase']) => {
      const s = { t: elapsed(), lt: elapsed() - pausedMs / 1000, rss: rssMB(pid), fds: fdCount(pid), conns: clientConnections(pid, port), cpu: cpuSeconds(pid), requests: stats.requests, errors: stats.errors, phase };
      samples.push(s);
      return s;
    };

    let paused = false;
    let stopped = false;
    const loadMs = MINUTES * 60_000;
    const interval = (CONC / RATE) * 1000;
    const loop = async () => {
      let next = performance.now() + Math.random() * interval;
      while (!stopped) {
        if (paused) {
          await sleep(50);
          next = performance.now();
          continue;
        }
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        if (stopped || paused) continue;
        const n = await runOp(c, users, recent, pickOp());
        // the next slot; late loops do not burst to catch up
        next = Math.max(next + n * interval, performance.now());
      }
    };
    const generator = async () => {
      let next = performance.now();
      while (!stopped) {
        if (!paused && performance.now() >= next) {
          next = Math.max(next + GEN_EVERY_MS, performance.now()); // no catch-up after the rest pause
          generate(c, users, recent); // not awaited: creation runs alongside the rest
        }
        await sleep(100);
      }
    };
    const follower = async () => {
      while (!stopped) {
        await settle(c, recent);
        await sleep(1000);
      }
    };
    /** pauses the load until no task is in flight, then REST_MS more; returns the sample taken then */
    const rest = async () => {
      paused = true;
      const until = performance.now() + 60_000;
      while (performance.now() < until) {
        await settle(c, recent);
        if (!recent.length) break;
        await sleep(200);
      }
      await sleep(REST_MS);
      return sample('rest');
    };

    const loops = Array.from({ length: CONC }, loop);
    const side = [generator(), follower()];
    sample('load');
    let nextSample = performance.now() + SAMPLE_MS;
    let minute1: Sample | null = null;
    let rest1: Sample | null = null;
    let lastMinute = 0;
    while (performance.now() - t0 - pausedMs < loadMs) {
      await sleep(Math.max(0, nextSample - performance.now()));
      nextSample += SAMPLE_MS;
      const s = sample('load');
      const min = Math.floor((s.lt + 0.5) / 60);
      if (min > lastMinute) {
        lastMinute = min;
        log(`${db} minute ${min}: RSS ${fmt(s.rss)} MB, fds ${s.fds} (client connections ${s.conns}), requests ${s.requests}, errors ${s.errors}`);
      }
      if (!minute1 && s.lt >= 60 - 0.5 && MINUTES > 1) {
        minute1 = s;
        const p0 = performance.now();
        rest1 = await rest();
        log(`${db} at rest after minute 1: RSS ${fmt(rest1.rss)} MB, fds ${rest1.fds} (client connections ${rest1.conns})`);
        paused = false;
        pausedMs += performance.now() - p0;
        nextSample = performance.now() + SAMPLE_MS;
      }
    }
    const end = sample('load');
    const loadS = end.lt;
    const restEnd = await rest();
    stopped = true;
    await Promise.all([...loops, ...side]);
    log(`${db} at rest at the end: RSS ${fmt(restEnd.rss)} MB, fds ${restEnd.fds} (client connections ${restEnd.conns})`);
    minute1 ??= end;
    rest1 ??= restEnd;
    const latency = [...stats.byOp].map(([op, ms]) => {
      const s = [...ms].sort((a, b) => a - b);
      return { op, n: s.length, p50: median(s), p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
    });
    return {
      db,
      samples,
      rssMinute1: minute1.rss,
      rssEnd: end.rss,
      fdsMinute1: minute1.fds,
      fdsEnd: end.fds,
      rest1,
      restEnd,
      requests: end.requests,
      errors: stats.errors,
      shown: stats.shown,
      generations: genSeq - genStart,
      rps: end.requests / loadS,
      seedS,
      latency,
    };
  } finally {
    await server.stop();
  }
}

// ------------------------------------------------------------------ report

/**
 * descriptors other than client connections may differ at rest by this many: a file or pipe opened once, lazily,
 * after minute 1 is not a leak; a leak grows with the traffic and soon passes this
 */
const FD_ALLOWANCE = 2;

const targetsOf = (r: SoakResult) => [
  { name: 'RSS at the end ≤ 1.2 × RSS after the first minute', measured: `${fmt(r.rssEnd)} MB vs ${fmt(r.rssMinute1)} MB (×${fmt(r.rssEnd / r.rssMinute1, 2)})`, met: r.rssEnd <= 1.2 * r.rssMinute1 },
  { name: 'no error responses', measured: `${r.errors} of ${r.requests.toLocaleString('en')}`, met: r.errors === 0 },
  {
    name: `no growth in open descriptors (at rest, client connections not counted: end ≤ after minute 1 + ${FD_ALLOWANCE})`,
    measured:
      `${r.restEnd.fds - r.restEnd.conns} vs ${r.rest1.fds - r.rest1.conns} (with client connections ${r.restEnd.fds} vs ${r.rest1.fds}; ` +
      `under load ${r.fdsEnd} vs ${r.fdsMinute1})`,
    met: r.restEnd.fds - r.restEnd.conns <= r.rest1.fds - r.rest1.conns + FD_ALLOWANCE,
  },
];

function report(results: SoakResult[], started: Date) {
  const md: string[] = ['# Soak results', ''];
  md.push(`Written by \`bun bench/soak.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (bench/soak.ts). Do not edit by hand.`, '');
  md.push('## Parameters', '');
  md.push(`- date: ${started.toISOString()}; CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, memory ${fmt(totalmem() / 2 ** 30, 0)} GiB; Bun ${Bun.version}`);
  md.push(`- the compiled binary (\`dist/aigc-server\`), USER_MAX_ACTIVE_TASKS=0, everything else default (content review and labels on)`);
  md.push(`- ${MINUTES} min of load per database, ${USERS} users, each seeded with 1,000 favorites and 20 completed t2i tasks`);
  md.push(
    `- steady load: ${CONC} client loops (fetch, keep-alive) share ${RATE} req/s; each loop issues one operation every ${fmt((CONC / RATE) * 1000, 0)} ms ` +
      '(two-request operations take two slots) and never bursts to catch up; the client runs on the same machine',
  );
  md.push(
    `- mix (weights): ${opNames.map((k) => `${k} ${MIX[k]}`).join(', ')}; plus one generation every ${GEN_EVERY_MS / 1000} s ` +
      `(t2i 128², every ${T2V_EVERY}th a t2v 128² 1 s 8 fps) and a poll of each running task every second`,
  );
  md.push(
    '- pollDone/pollRecent: `GET /api/v1/generation/{id}` of a completed / a just-created task; history: `GET /api/v1/user/generation_list` (all records); ' +
      'favorites: `GET /api/v1/user/favorite_list`; batch: a 50-item batch (a folder and 49 files) then `DELETE` of that folder; ' +
      'upload: `POST /api/v1/upload` of a 64–96 px PNG or JPEG made by the script; uploadGet: `GET /uploads/{name}`; result: the result file of a completed task',
  );
  md.push(
    `- checked: HTTP 200 and envelope code 200 on every JSON answer, a non-empty body on files, status completed with a result_url for every task; ` +
      `sampled every ${SAMPLE_MS / 1000} s: RSS (VmRSS), entries of /proc/<pid>/fd, requests`,
  );
  md.push(
    `- descriptors at rest: after minute 1 and at the end the load pauses until no task is running and ${REST_MS / 1000} s more, then they are counted ` +
      `(longer than Bun.serve's 10 s idle timeout, so the keep-alive connections of the ${CONC} client loops are closed); connections from the client ` +
      '(sockets on the server port, from /proc/<pid>/net/tcp) are counted apart and left out of the comparison; ' +
      `the allowance of ${FD_ALLOWANCE} is for a file or pipe opened once, lazily, after minute 1 (a leak grows with the traffic and passes it). ` +
      'Under load the count also moves with requests and encodes in flight',
    '',
  );
  for (const r of results) {
    const name = r.db === 'pg' ? 'PostgreSQL' : 'embedded (PGlite)';
    md.push(`## ${name}`, '');
    md.push(`${r.requests.toLocaleString('en')} requests in ${MINUTES} min (${fmt(r.rps, 0)} req/s), ${r.generations} generations, ${r.errors} errors; seeding took ${fmt(r.seedS)} s.`, '');
    md.push('| target | measured | |', '|---|---|---|');
    for (const t of targetsOf(r)) md.push(`| ${t.name} | ${t.measured} | ${t.met ? 'met' : '**not met**'} |`);
    md.push('', '| minute | RSS MB | open fds | of which client connections | requests | errors | server CPU in the minute |', '|---:|---:|---:|---:|---:|---:|---:|');
    let prev: Sample | null = null;
    const load = r.samples.filter((s) => s.phase === 'load');
    for (let m = 0; m <= Math.ceil(load.at(-1)!.lt / 60 - 0.1); m++) {
      // minute m: the load sample nearest m × 60 s of load (the rest pause after minute 1 not counted)
      const best = load.reduce((a, s) => (Math.abs(s.lt - m * 60) < Math.abs(a.lt - m * 60) ? s : a));
      const cpu = prev ? `${fmt((100 * (best.cpu - prev.cpu)) / (best.t - prev.t), 0)} %` : '';
      md.push(`| ${m} | ${fmt(best.rss)} | ${best.fds} | ${best.conns} | ${best.requests.toLocaleString('en')} | ${best.errors} | ${cpu} |`);
      prev = best;
    }
    const rests = r.samples.filter((s) => s.phase === 'rest');
    const restText = (s: Sample) => `${fmt(s.rss)} MB, ${s.fds} fds (${s.conns} client connections)`;
    md.push('', `At rest: ${rests.length > 1 ? `after minute 1 ${restText(rests[0])}; ` : ''}at the end ${restText(rests.at(-1)!)}.`, '');
    md.push('| operation | requests | p50 ms | p99 ms |', '|---|---:|---:|---:|');
    for (const l of r.latency) md.push(`| ${l.op} | ${l.n.toLocaleString('en')} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} |`);
    if (r.shown.length) md.push('', 'First errors:', '', ...r.shown.map((s) => `- \`${s.replace(/`/g, "'")}\``));
    md.push('');
  }
  writeFileSync(OUT, md.join('\n'));
  log(`wrote ${OUT}`);
}

async function main() {
  const started = new Date();
  build(NO_BUILD);
  // a private copy: a rebuild of dist/ while the soak runs must not replace the running file
  const bin = join(WORK, 'aigc-server');
  copyFileSync(BIN, bin);
  const results: SoakResult[] = [];
  for (const db of DBS) results.push(await soak(db, bin));
  report(results, started);
  const summary = results.map((r) => ({
    db: r.db,
    minutes: MINUTES,
    requests: r.requests,
    rps: Math.round(r.rps),
    errors: r.errors,
    rssMinute1: Number(fmt(r.rssMinute1)),
    rssEnd: Number(fmt(r.rssEnd)),
    rssRatio: Number(fmt(r.rssEnd / r.rssMinute1, 3)),
    fdsRest1: r.rest1.fds - r.rest1.conns,
    fdsRestEnd: r.restEnd.fds - r.restEnd.conns,
    met: targetsOf(r).every((t) => t.met),
  }));
  console.log(JSON.stringify(summary.length === 1 ? summary[0] : summary));
  if (summary.some((s) => !s.met)) process.exitCode = 1;
}

try {
  await main();
} finally {
  await cleanup();
  // --keep leaves the data dirs and the server logs for a look
  if (argv.includes('--keep')) log(`scratch dir kept: ${WORK}`);
  else rmSync(WORK, { recursive: true, force: true });
}
