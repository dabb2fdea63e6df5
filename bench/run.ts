// The benchmark: `bun run bench` (options: --quick, --no-build, --out <file>).
//
// Builds the compiled binary, starts it against PostgreSQL (DATABASE_URL) and on its embedded default (PGlite),
// starts the floor (bench/floor.ts: bare Bun.serve + postgres.js on the same database), seeds the same data
// through the HTTP API, drives each endpoint with wrk (project and floor interleaved, alternating order), and
// measures poll latency while every worker generates, engine speed, first start, idle memory and binary size.
// Writes bench/RESULTS.md. Needs wrk (installed with apt-get when missing and allowed) and PostgreSQL
// (BENCH_PG_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres; scratch databases are created and
// dropped).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  cleanup,
  BIN,
  type Load,
  type LoadResult,
  NO_RESULT,
  PASSWORD,
  ROOT,
  SECRET,
  WORK,
  admin,
  api,
  batchItems,
  build,
  ensureWrk,
  fmt,
  log,
  median,
  newUser,
  
  project,
  rssMB,
  run,
  scratch,
  scratchDb,
  seedFavorites,
  seedHistory,
  sleep,
  start,
  wrk,
} from './lib';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const NO_BUILD = argv.includes('--no-build');
/** --skip start,engine,load: leave parts out while working on the others (RESULTS.md then says so) */
const SKIP = new Set(argv.includes('--skip') ? argv[argv.indexOf('--skip') + 1].split(',') : []);
/** --only poll,history,favorites,batch,login: run only these HTTP comparisons */
const ONLY = argv.includes('--only') ? new Set(argv[argv.indexOf('--only') + 1].split(',')) : null;
const OUT = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : join(ROOT, 'bench', 'RESULTS.md');
const ROUNDS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 2 : 5;


interface Target {
  base: string;
  poll: { token: string; taskId: string };
  list: { token: string };
  fav: { token: string };
  login: { account: string };
  /** a fresh user per batch round (its root id) */
  batchUser(): Promise<{ token: string; root: number }>;
}

interface Scenario {
  key: string;
  label: string;
  conns: number;
  load(t: Target): Promise<Load>;
}

const scenarios: Scenario[] = [
  {
    key: 'poll',
    label: 'GET /api/v1/generation/{id} (poll)',
    conns: 32,
    load: async (t) => ({ path: `/api/v1/generation/${t.poll.taskId}`, token: t.poll.token, conns: 32, seconds: SECONDS }),
  },
  {
    key: 'history',
    label: 'GET /api/v1/user/generation_list (1,000 records)',
    conns: 1,
    load: async (t) => ({ path: '/api/v1/user/generation_list', token: t.list.token, conns: 1, seconds: SECONDS }),
  },
  {
    key: 'favorites',
    label: 'GET /api/v1/user/favorite_list (10,001 nodes)',
    conns: 1,
    load: async (t) => ({ path: '/api/v1/user/favorite_list', token: t.fav.token, conns: 1, seconds: SECONDS }),
  },
  {
    key: 'batch',
    label: 'POST /api/v1/user/favorite_list/batch (1,000 items)',
    conns: 1,
    load: async (t) => {
      const u = await t.batchUser();
      return { method: 'POST', path: '/api/v1/user/favorite_list/batch', body: batchItems(u.root), token: u.token, conns: 1, seconds: SECONDS };
    },
  },
  {
    key: 'login',
    label: 'POST /api/v1/auth/login (argon2id)',
    conns: 4,
    load: async (t) => ({ method: 'POST', path: '/api/v1/auth/login', body: { account: t.login.account, password: PASSWORD }, conns: 4, seconds: SECONDS }),
  },
];

async function prepareTarget(base: string, tag: string): Promise<Target> {
  const t0 = performance.now();
  const poll = await newUser(base, `${tag}p`);
  const [taskId] = await seedHistory(base, poll.token, 1);
  const list = await newUser(base, `${tag}l`);
  if (!ONLY || ONLY.has('history')) await seedHistory(base, list.token, 1000);
  const fav = await newUser(base, `${tag}f`);
  await seedFavorites(base, fav.token, fav.root);
  const nodes = (await api(base, 'GET', '/api/v1/user/favorite_list', undefined, fav.token)) as unknown[];
  if (nodes.length !== 10_001) throw new Error(`expected 10,001 favorite nodes, got ${nodes.length}`);
  const login = await newUser(base, `${tag}a`);
  log(`seeded ${tag} in ${fmt((performance.now() - t0) / 1000)} s`);
  return {
    base,
    poll: { token: poll.token, taskId },
    list,
    fav,
    login,
    batchUser: () => newUser(base, `${tag}b`),
  };
}

/** The floor answers with the same data as the project for the same user (it reads the same rows). */
async function checkFloorAgrees(project: Target, floorBase: string) {
  const same = async (path: string, token: string) => {
    const a = await api(project.base, 'GET', path, undefined, token);
    const b = await api(floorBase, 'GET', path, undefined, token);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`floor and project differ on ${path}: ${JSON.stringify(a).slice(0, 200)} vs ${JSON.stringify(b).slice(0, 200)}`);
  };
  await same(`/api/v1/generation/${project.poll.taskId}`, project.poll.token);
  if (!ONLY || ONLY.has('history')) await same('/api/v1/user/generation_list', project.list.token);
  await same('/api/v1/user/favorite_list', project.fav.token);
  const u = await project.batchUser();
  const floorMap = (await api(floorBase, 'POST', '/api/v1/user/favorite_list/batch', batchItems(u.root), u.token)).mapping;
  const projMap = (await api(project.base, 'POST', '/api/v1/user/favorite_list/batch', batchItems(u.root), u.token)).mapping;
  if (Object.keys(floorMap).length !== 1000 || Object.keys(projMap).length !== 1000) throw new Error('batch mapping size');
  await api(floorBase, 'POST', '/api/v1/auth/login', { account: project.login.account, password: PASSWORD });
}

interface Row {
  label: string;
  server: string;
  conns: number;
  r: LoadResult;
  floor?: LoadResult;
}

async function compare(targets: { name: string; target: Target }[], floor: { base: string; target: Target } | null) {
  const rows: Row[] = [];
  for (const sc of scenarios.filter((s) => !ONLY || ONLY.has(s.key))) {
    const runs = new Map<string, LoadResult[]>();
    const add = (k: string, r: LoadResult) => runs.set(k, [...(runs.get(k) ?? []), r]);
    for (let round = 0; round < ROUNDS; round++) {
      // alternate who goes first, so drift (caches, table growth) does not favour one side
      const order = round % 2 === 0 ? [...targets.map((t) => t.name), 'floor'] : ['floor', ...targets.map((t) => t.name)];
      for (const who of order) {
        if (who === 'floor') {
          if (!floor) continue;
          // the floor serves the PostgreSQL project's users (same database)
          add('floor', wrk(floor.base, await sc.load(floor.target)));
        } else {
          const t = targets.find((x) => x.name === who)!.target;
          add(who, wrk(t.base, await sc.load(t)));
        }
      }
    }
    const agg = (rs: LoadResult[]): LoadResult => ({
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      requests: rs.reduce((s, r) => s + r.requests, 0),
      errors: 0,
    });
    const f = runs.get('floor');
    for (const t of targets) {
      rows.push({ label: sc.label, server: t.name, conns: sc.conns, r: agg(runs.get(t.name)!), floor: f ? agg(f) : undefined });
    }
    if (f) rows.push({ label: sc.label, server: 'floor', conns: sc.conns, r: agg(f) });
    log(sc.key, rows.slice(-targets.length - (f ? 1 : 0)).map((x) => `${x.server} ${fmt(x.r.rps, 0)} rps p50 ${fmt(x.r.p50, 2)} p99 ${fmt(x.r.p99, 2)} ms`).join(' | '));
  }
  return rows;
}

/** Poll p99 at a client-like pace (16 connections, 20 ms pause each: at most 800 req/s, i.e. 1,600 clients polling every 2 s) while idle and while every worker generates. */
async function pollUnderLoad(t: Target, workers: number) {
  const paced = { path: `/api/v1/generation/${t.poll.taskId}`, token: t.poll.token, conns: 16, seconds: SECONDS * 2, delayMs: 20 };
  const idle = wrk(t.base, paced);
  const u = await newUser(t.base, 'load');
  // enough 4 s 512² videos to keep every worker busy for longer than the measurement
  const videos = workers * Math.ceil((SECONDS * 2 + 5) / 1.2);
  for (let i = 0; i < videos; i++) {
    await api(t.base, 'POST', '/api/v1/generation', { type: 't2v', prompt: `busy ${i}`, parameters: { width: 512, height: 512, duration: 4, fps: 24 } }, u.token);
  }
  await sleep(500);
  const busy = wrk(t.base, paced);
  const list = (await api(t.base, 'GET', '/api/v1/user/generation_list', undefined, u.token)) as { status: string }[];
  const stillQueued = list.filter((r) => r.status === 'processing').length;
  if (stillQueued < workers) throw new Error(`workers ran out of work during the measurement (${stillQueued} left)`);
  // let the queue drain so that later measurements are idle again
  for (;;) {
    const l = (await api(t.base, 'GET', '/api/v1/user/generation_list', undefined, u.token)) as { status: string }[];
    if (l.every((r) => r.status !== 'processing')) break;
    await sleep(500);
  }
  return { idle, busy };
}

async function deleteSubtree(t: Target, runs: number) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const u = await newUser(t.base, 'del');
    const { mapping } = await api(t.base, 'POST', '/api/v1/user/favorite_list/batch', { items: [{ temp_id: 1, parent_id: u.root, name: 'big', node_type: 'folder' }] }, u.token);
    const top = mapping['1'] as number;
    await seedFavorites(t.base, u.token, top);
    const t0 = performance.now();
    const removed = (await api(t.base, 'DELETE', `/api/v1/user/favorite_list/${top}`, undefined, u.token)) as unknown[];
    times.push(performance.now() - t0);
    if (removed.length !== 10_001) throw new Error(`delete removed ${removed.length} nodes`);
  }
  return median(times);
}

// ------------------------------------------------------------------ start-up and memory

async function startup(mode: 'embedded' | 'postgres', runs: number) {
  const first: number[] = [];
  const again: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(WORK, `start-${mode}-`));
    const url = mode === 'postgres' ? await scratchDb(`start${i}`) : undefined;
    const s1 = await project(`${mode}-first`, dir, url);
    first.push(s1.readyMs);
    await sleep(3000);
    rss.push(rssMB(s1.proc.pid));
    await s1.stop();
    const s2 = await project(`${mode}-again`, dir, url);
    again.push(s2.readyMs);
    await s2.stop();
  }
  return { first: median(first), again: median(again), rss: median(rss) };
}

function engine() {
  const r = run([process.execPath, 'bench/engine.ts', QUICK ? '2' : '5']);
  if (r.code !== 0) throw new Error(`engine bench failed: ${r.err}`);
  return JSON.parse(r.out.trim().split('\n').pop()!) as { name: string; runs: number; medianMs: number; minMs: number; maxMs: number; bytes: number }[];
}

// ------------------------------------------------------------------ main

async function main() {
  ensureWrk();
  build(NO_BUILD);
  const binMB = statSync(BIN).size / 1024 / 1024;
  const started = new Date();
  const pgVersion = (await admin`select version()`)[0].version as string;
  const workers = cpus().length;

  log('start-up and idle memory');
  const none = { first: NaN, again: NaN, rss: NaN };
  const startEmbedded = SKIP.has('start') ? none : await startup('embedded', QUICK ? 1 : 3);
  const startPg = SKIP.has('start') ? none : await startup('postgres', QUICK ? 1 : 3);
  log(`embedded first start ${fmt(startEmbedded.first, 0)} ms, idle RSS ${fmt(startEmbedded.rss)} MB; postgres ${fmt(startPg.first, 0)} ms, ${fmt(startPg.rss)} MB`);

  log('engine');
  const eng = SKIP.has('engine') ? [{ name: 't2i', runs: 0, medianMs: NaN, minMs: NaN, maxMs: NaN, bytes: 0 }, { name: 't2v', runs: 0, medianMs: NaN, minMs: NaN, maxMs: NaN, bytes: 0 }] : engine();

  // One server at a time besides the floor, so that an idle second server does not disturb the figures.
  log('HTTP: project on PostgreSQL vs the floor (same database)');
  const noLoad = { idle: NO_RESULT, busy: NO_RESULT };
  const pgUrl = await scratchDb('http');
  const pgProject = await project('project-postgres', mkdtempSync(join(WORK, 'pg-')), pgUrl);
  const floor = await start('floor', [process.execPath, 'bench/floor.ts'], { DATABASE_URL: pgUrl, JWT_SECRET: SECRET }, '/healthz');
  const pgTarget = await prepareTarget(pgProject.base, 'pg');
  await checkFloorAgrees(pgTarget, floor.base);
  const rowsPg = await compare([{ name: 'project (PostgreSQL)', target: pgTarget }], { base: floor.base, target: { ...pgTarget, base: floor.base } });
  await floor.stop();
  log('PostgreSQL: delete of a 10,000-node subtree; poll while every worker generates');
  const delPg = await deleteSubtree(pgTarget, QUICK ? 1 : 3);
  const loadPg = SKIP.has('load') ? noLoad : await pollUnderLoad(pgTarget, workers);
  const rssAfter = { pg: rssMB(pgProject.proc.pid), emb: NaN };
  await pgProject.stop();

  log('HTTP: project embedded (compared with the floor figures above)');
  const embProject = await project('project-embedded', mkdtempSync(join(WORK, 'emb-')));
  const embTarget = await prepareTarget(embProject.base, 'em');
  const rowsEmb = await compare([{ name: 'project (embedded)', target: embTarget }], null);
  log('embedded: delete of a 10,000-node subtree; poll while every worker generates');
  const delEmb = await deleteSubtree(embTarget, QUICK ? 1 : 3);
  const loadEmb = SKIP.has('load') ? noLoad : await pollUnderLoad(embTarget, workers);
  rssAfter.emb = rssMB(embProject.proc.pid);
  await embProject.stop();

  // table order: per endpoint, PostgreSQL, embedded, floor
  const rows: Row[] = [];
  for (const sc of scenarios) {
    const pg = rowsPg.find((r) => r.label === sc.label && r.server !== 'floor');
    const fl = rowsPg.find((r) => r.label === sc.label && r.server === 'floor');
    const em = rowsEmb.find((r) => r.label === sc.label);
    if (pg) rows.push(pg);
    if (em) rows.push({ ...em, floor: fl?.r });
    if (fl) rows.push(fl);
  }

  // ---------------------------------------------------------------- report
  const noRow: Row = { label: '', server: '', conns: 0, r: NO_RESULT, floor: NO_RESULT };
  const pick = (label: string, server: string) => rows.find((r) => r.label.startsWith(label) && r.server === server) ?? noRow;
  const pollPg = pick('GET /api/v1/generation/', 'project (PostgreSQL)');
  const favPg = pick('GET /api/v1/user/favorite_list', 'project (PostgreSQL)');
  const favEmb = pick('GET /api/v1/user/favorite_list', 'project (embedded)');
  const batchPg = pick('POST /api/v1/user/favorite_list/batch', 'project (PostgreSQL)');
  const batchEmb = pick('POST /api/v1/user/favorite_list/batch', 'project (embedded)');
  const t2i = eng.find((e) => e.name.startsWith('t2i'))!;
  const t2vs = eng.filter((e) => e.name.startsWith('t2v'));
  const t2v = t2vs.reduce((a, b) => (b.medianMs > a.medianMs ? b : a), t2vs[0]);
  const ok = (b: boolean) => (b ? 'met' : '**missed**');
  const targets: [string, string, boolean][] = [
    ['Poll throughput ≥ 0.75 × floor (PostgreSQL)', `${fmt(pollPg.r.rps / pollPg.floor!.rps, 2)} × (${fmt(pollPg.r.rps, 0)} vs ${fmt(pollPg.floor!.rps, 0)} req/s)`, pollPg.r.rps / pollPg.floor!.rps >= 0.75],
    ['Poll p99 ≤ 2 × floor p99 (PostgreSQL)', `${fmt(pollPg.r.p99 / pollPg.floor!.p99, 2)} × (${fmt(pollPg.r.p99, 2)} vs ${fmt(pollPg.floor!.p99, 2)} ms)`, pollPg.r.p99 / pollPg.floor!.p99 <= 2],
    ['Poll p99 while all workers generate ≤ 1.5 × idle (PostgreSQL)', `${fmt(loadPg.busy.p99 / loadPg.idle.p99, 2)} × (${fmt(loadPg.busy.p99, 2)} vs ${fmt(loadPg.idle.p99, 2)} ms)`, loadPg.busy.p99 / loadPg.idle.p99 <= 1.5],
    ['Poll p99 while all workers generate ≤ 1.5 × idle (embedded)', `${fmt(loadEmb.busy.p99 / loadEmb.idle.p99, 2)} × (${fmt(loadEmb.busy.p99, 2)} vs ${fmt(loadEmb.idle.p99, 2)} ms)`, loadEmb.busy.p99 / loadEmb.idle.p99 <= 1.5],
    ['Embedded first start (empty data dir) to ready ≤ 1.5 s', `${fmt(startEmbedded.first, 0)} ms`, startEmbedded.first <= 1500],
    ['Embedded idle RSS ≤ 250 MB', `${fmt(startEmbedded.rss)} MB`, startEmbedded.rss <= 250],
    ['PostgreSQL mode idle RSS ≤ 120 MB', `${fmt(startPg.rss)} MB`, startPg.rss <= 120],
    ['Favorites GET 10,000 nodes ≤ 50 ms (p50, PostgreSQL / embedded)', `${fmt(favPg.r.p50, 1)} / ${fmt(favEmb.r.p50, 1)} ms`, Math.max(favPg.r.p50, favEmb.r.p50) <= 50],
    ['Favorites batch of 1,000 ≤ 300 ms (p50, PostgreSQL / embedded)', `${fmt(batchPg.r.p50, 1)} / ${fmt(batchEmb.r.p50, 1)} ms`, Math.max(batchPg.r.p50, batchEmb.r.p50) <= 300],
    ['Favorites delete of a 10,000-node subtree ≤ 200 ms (PostgreSQL / embedded)', `${fmt(delPg, 1)} / ${fmt(delEmb, 1)} ms`, Math.max(delPg, delEmb) <= 200],
    ['Engine t2i 1024² ≤ 0.5 s (median)', `${fmt(t2i.medianMs, 0)} ms`, t2i.medianMs <= 500],
    ['Engine t2v 4 s 24 fps 512² ≤ 2 s (median; ocean / forest fire)', t2vs.map((e) => `${fmt(e.medianMs, 0)} ms`).join(' / '), t2v.medianMs <= 2000],
  ];

  const md: string[] = [];
  md.push('# Benchmark results', '');
  md.push(`Written by \`bun run bench\`${QUICK ? ' --quick (short runs: figures are indicative only)' : ''} (bench/run.ts). Do not edit by hand.`, '');
  if (SKIP.size || ONLY) md.push(`**Partial run${SKIP.size ? `: ${[...SKIP].join(', ')} skipped` : ''}${ONLY ? `; HTTP comparisons: ${[...ONLY].join(', ')} only` : ''}.**`, '');
  md.push('## Machine and versions', '');
  md.push(`- date: ${started.toISOString()}`);
  md.push(`- CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, memory ${fmt(totalmem() / 2 ** 30, 0)} GiB, Linux ${run(['uname', '-r']).out.trim()}`);
  md.push(`- Bun ${Bun.version} (the binary is built with it); PostgreSQL: ${pgVersion.split(' on ')[0]}; PGlite ${pkgVersion('@electric-sql/pglite')}; Elysia ${pkgVersion('elysia')}; postgres.js ${pkgVersion('postgres')}`);
  md.push(`- load generator: ${(run(['wrk', '-v']).out + run(['wrk', '-v']).err).split('\n')[0].trim()} (one thread), running on the same machine; generation workers: ${workers}`);
  md.push(`- each HTTP figure is the median of ${ROUNDS} interleaved ${SECONDS} s runs (project and floor alternate, order flipped every round)`, '');
  md.push('## Targets', '', '| target | measured | |', '|---|---|---|');
  for (const [t, m, b] of targets) md.push(`| ${t} | ${m} | ${ok(b)} |`);
  md.push('', '## HTTP: project vs floor', '');
  md.push(
    'The floor (bench/floor.ts) is a bare `Bun.serve` that verifies the HS256 token and runs one postgres.js prepared query per ' +
      'request (the batch: a parent check, an id reservation and one multi-row insert), against the same PostgreSQL database as ' +
      '"project (PostgreSQL)"; the two run interleaved with nothing else started. The embedded rows are the project on its own ' +
      'PGlite, measured afterwards alone and divided by the same floor figures.',
    '',
  );
  md.push('| endpoint | server | connections | req/s | p50 ms | p99 ms | req/s ÷ floor | p99 ÷ floor |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ratio = r.floor ? `${fmt(r.r.rps / r.floor.rps, 2)}` : '';
    const pr = r.floor ? `${fmt(r.r.p99 / r.floor.p99, 2)}` : '';
    md.push(`| ${r.label} | ${r.server} | ${r.conns} | ${fmt(r.r.rps, 0)} | ${fmt(r.r.p50, 2)} | ${fmt(r.r.p99, 2)} | ${ratio} | ${pr} |`);
  }
  md.push('', '## Poll latency while every worker generates', '');
  md.push(
    `A client-like paced load (16 connections, 20 ms pause between requests on each: at most 800 req/s, as from 1,600 clients polling every 2 s) on \`GET /api/v1/generation/{id}\`, ${SECONDS * 2} s idle, ` +
      `then ${SECONDS * 2} s while ${workers} workers each encode 4 s 512² videos (the queue still held work when the measurement ended).`,
    '',
  );
  md.push('| mode | idle req/s | idle p50 / p99 ms | busy req/s | busy p50 / p99 ms | busy p99 ÷ idle p99 |', '|---|---:|---:|---:|---:|---:|');
  for (const [name, l] of [['PostgreSQL', loadPg], ['embedded', loadEmb]] as const) {
    md.push(`| ${name} | ${fmt(l.idle.rps, 0)} | ${fmt(l.idle.p50, 2)} / ${fmt(l.idle.p99, 2)} | ${fmt(l.busy.rps, 0)} | ${fmt(l.busy.p50, 2)} / ${fmt(l.busy.p99, 2)} | ${fmt(l.busy.p99 / l.idle.p99, 2)} |`);
  }
  md.push('', '## Favorites: delete of a 10,000-node subtree', '');
  md.push(`\`DELETE /api/v1/user/favorite_list/{id}\` of a folder holding 10,000 nodes, round trip, median of ${QUICK ? 1 : 3}: PostgreSQL ${fmt(delPg, 1)} ms, embedded ${fmt(delEmb, 1)} ms.`);
  md.push('', '## Engine (in process, no HTTP or queue)', '', '| task | runs | median ms | min ms | max ms | output bytes |', '|---|---:|---:|---:|---:|---:|');
  for (const e of eng) md.push(`| ${e.name} | ${e.runs} | ${fmt(e.medianMs, 0)} | ${fmt(e.minMs, 0)} | ${fmt(e.maxMs, 0)} | ${e.bytes.toLocaleString('en')} |`);
  md.push('', '## Start-up, memory, binary', '', '| | embedded (PGlite) | PostgreSQL |', '|---|---:|---:|');
  md.push(`| first start, empty data dir / new database, to \`/readyz\` 200 (median) | ${fmt(startEmbedded.first, 0)} ms | ${fmt(startPg.first, 0)} ms |`);
  md.push(`| later start, same data dir / database | ${fmt(startEmbedded.again, 0)} ms | ${fmt(startPg.again, 0)} ms |`);
  md.push(`| idle RSS 3 s after the first start (median) | ${fmt(startEmbedded.rss)} MB | ${fmt(startPg.rss)} MB |`);
  md.push(`| RSS after the HTTP benchmark and the generations | ${fmt(rssAfter.emb)} MB | ${fmt(rssAfter.pg)} MB |`);
  md.push('', `Compiled binary \`dist/aigc-server\`: ${fmt(binMB)} MB (the time to ready is measured from spawning the process).`, '');
  writeFileSync(OUT, md.join('\n'));
  log(`wrote ${OUT}`);
  console.log(md.join('\n'));
}

function pkgVersion(name: string) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
  } catch {
    return '?';
  }
}

try {
  await main();
} finally {
  await cleanup();
  rmSync(WORK, { recursive: true, force: true });
}
