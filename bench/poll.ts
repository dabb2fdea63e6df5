// The poll against the runtime's limit (issue 15 §2), quickly: the bare server (bench/bare.ts), the project on
// PostgreSQL and on the embedded default, each polled with wrk (1 thread, 16 connections), interleaved.
//
//   bun bench/poll.ts [rounds] [--source]     (--source: run src/index.ts instead of the built binary)
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { api, BIN, build, cleanup, ensureWrk, fmt, log, median, newUser, scratchDb, SECRET, sleep, start, WORK, wrk, type Server } from './lib';

const args = process.argv.slice(2);
const SOURCE = args.includes('--source');
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const CONNS = 16;

async function projectTarget(name: string, databaseUrl: string) {
  const cmd = SOURCE ? [process.execPath, 'src/index.ts'] : [BIN];
  const server = await start(name, cmd, { DATA_DIR: mkdtempSync(join(WORK, `${name}-`)), JWT_SECRET: SECRET, DATABASE_URL: databaseUrl, USER_MAX_ACTIVE_TASKS: '0', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' }, '/readyz');
  const u = await newUser(server.base, name.replace(/\W/g, '').slice(0, 6));
  const { task_id } = await api(server.base, 'POST', '/api/v1/generation', { type: 't2i', prompt: 'poll', parameters: { width: 64, height: 64 } }, u.token);
  for (;;) {
    if ((await api(server.base, 'GET', `/api/v1/generation/${task_id}`, undefined, u.token)).status !== 'processing') break;
    await sleep(50);
  }
  return { name, server, path: `/api/v1/generation/${task_id}`, token: u.token as string | undefined };
}

try {
  ensureWrk();
  if (!SOURCE) build(true);
  const bare: Server = await start('bare', [process.execPath, 'bench/bare.ts'], {}, '/');
  const targets = [
    { name: 'bare', server: bare, path: '/', token: undefined as string | undefined },
    await projectTarget('project-pg', await scratchDb('poll')),
    await projectTarget('project-emb', ''),
  ];
  const runs = new Map(targets.map((t) => [t.name, [] as { rps: number; p99: number }[]]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) runs.get(t.name)!.push(wrk(t.server.base, { path: t.path, token: t.token, conns: CONNS, seconds: 5 }));
  }
  const lim = median(runs.get('bare')!.map((x) => x.rps));
  const limP99 = median(runs.get('bare')!.map((x) => x.p99));
  for (const t of targets) {
    const xs = runs.get(t.name)!;
    const rps = median(xs.map((x) => x.rps));
    const p99 = median(xs.map((x) => x.p99));
    log(`${t.name.padEnd(12)} ${fmt(rps, 0).padStart(7)} req/s (${xs.map((x) => fmt(x.rps, 0)).join(', ')}) p99 ${fmt(p99, 2)} ms | ÷ bare ${fmt(rps / lim, 2)}× p99 ${fmt(p99 / limP99, 2)}×`);
  }
} finally {
  await cleanup();
}
