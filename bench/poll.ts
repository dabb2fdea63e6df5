// The poll and the history, with and without the read cache (issue 15 §1–2: the options measured before choosing):
// the runtime's limit (bench/bare.ts) and the project on PostgreSQL and on the embedded default, each with
// READ_CACHE=off (every poll and history read asks the database, as before issue 15) and on (the default), all
// running at once and driven with wrk (1 thread), interleaved, the order turned every round. Writes bench/POLL.md.
//
//   bun bench/poll.ts [rounds] [--source] [--no-build] [--out <file>]   (--source: src/index.ts instead of the binary)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, BIN, build, cleanup, ensureWrk, fmt, log, median, newUser, ROOT, scratchDb, SECRET, seedHistory, start, WORK, wrk, type Server } from './lib';

const args = process.argv.slice(2);
const SOURCE = args.includes('--source');
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(ROOT, 'bench', 'POLL.md');
const SECONDS = 5;

interface Target {
  name: string;
  server: Server;
  poll: { path: string; token?: string };
  history?: { path: string; token: string };
}

async function projectTarget(name: string, databaseUrl: string, readCache: boolean): Promise<Target> {
  const cmd = SOURCE ? [process.execPath, 'src/index.ts'] : [BIN];
  const env = { DATA_DIR: mkdtempSync(join(WORK, `${name.replace(/\W+/g, '_')}-`)), JWT_SECRET: SECRET, DATABASE_URL: databaseUrl, USER_MAX_ACTIVE_TASKS: '0', READ_CACHE: String(readCache) };
  const server = await start(name, cmd, env, '/readyz');
  const u = await newUser(server.base, 'p');
  const [taskId] = await seedHistory(server.base, u.token, 1);
  const h = await newUser(server.base, 'h');
  await seedHistory(server.base, h.token, 1000);
  return { name, server, poll: { path: `/api/v1/generation/${taskId}`, token: u.token }, history: { path: '/api/v1/user/generation_list', token: h.token } };
}

try {
  ensureWrk();
  if (!SOURCE) build(args.includes('--no-build'));
  const bare = await start('limit', [process.execPath, 'bench/bare.ts'], {}, '/');
  const targets: Target[] = [{ name: 'runtime limit', server: bare, poll: { path: '/' } }];
  for (const [mode, url] of [['PostgreSQL', await scratchDb('pollon')], ['embedded', '']] as const) {
    targets.push(await projectTarget(`${mode}, READ_CACHE=off`, mode === 'embedded' ? '' : await scratchDb('polloff'), false));
    targets.push(await projectTarget(`${mode}, READ_CACHE=on`, url, true));
  }
  const results = new Map<string, { poll: { rps: number; p99: number }[]; history: { rps: number; p99: number }[] }>(targets.map((t) => [t.name, { poll: [], history: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) results.get(t.name)!.poll.push(wrk(t.server.base, { ...t.poll, conns: 16, seconds: SECONDS }));
    for (const t of order) {
      const h = t.history ?? t.poll; // the limit answers any path alike
      results.get(t.name)!.history.push(wrk(t.server.base, { path: h.path, token: h.token, conns: 1, seconds: SECONDS }));
    }
  }
  const sum = (xs: { rps: number; p99: number }[]) => ({ rps: median(xs.map((x) => x.rps)), p99: median(xs.map((x) => x.p99)), all: xs.map((x) => fmt(x.rps, 0)).join(', ') });
  const lim = sum(results.get('runtime limit')!.poll);
  const limH = sum(results.get('runtime limit')!.history);
  const md = [
    '# Poll and history: the read cache measured',
    '',
    'Written by `bun bench/poll.ts` (do not edit by hand). ' +
      `${SOURCE ? 'From source' : 'The compiled binary'}; wrk 1 thread; poll: 16 connections on one completed task; history: 1 connection, 1,000 records; ` +
      `median of ${ROUNDS} interleaved ${SECONDS} s runs (every server in every round, the order turned each round), all servers running at once. ` +
      '`READ_CACHE=off` is the project as it was before issue 15 (every poll a database query; on the embedded default a query on the HTTP thread).',
    '',
    `- date: ${new Date().toISOString()}`,
    '',
    '| server | poll req/s (runs) | poll p99 ms | poll ÷ limit | p99 ÷ limit | history req/s (runs) | history p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of targets) {
    const p = sum(results.get(t.name)!.poll);
    const h = sum(results.get(t.name)!.history);
    md.push(`| ${t.name} | ${fmt(p.rps, 0)} (${p.all}) | ${fmt(p.p99, 2)} | ${fmt(p.rps / lim.rps, 2)} | ${fmt(p.p99 / lim.p99, 2)} | ${t.history ? `${fmt(h.rps, 0)} (${h.all})` : `${fmt(limH.rps, 0)}`} | ${fmt(h.p99, 2)} |`);
    log(`${t.name.padEnd(28)} poll ${fmt(p.rps, 0).padStart(7)} req/s (${p.all}) p99 ${fmt(p.p99, 2)} ms ÷ limit ${fmt(p.rps / lim.rps, 2)} | history ${fmt(h.rps, 0)} req/s p99 ${fmt(h.p99, 2)} ms`);
  }
  md.push('');
  writeFileSync(OUT, md.join('\n'));
  log(`wrote ${OUT}`);
} finally {
  await cleanup();
}
