// Poll throughput of two builds in one run (issue 10: per-session tokens must not slow the poll by more than 5%):
// `bun bench/compare-poll.ts <old binary> <new binary> [rounds]`. Both run on PostgreSQL (scratch databases) and
// on the embedded default, are seeded alike through the API, and are driven by wrk in alternating order.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, api, ensureWrk, fmt, log, median, newUser, scratch, scratchDb, SECRET, sleep, start, WORK, wrk } from './lib';

const [oldBin, newBin, roundsArg] = process.argv.slice(2);
if (!oldBin || !newBin) {
  console.error('usage: bun bench/compare-poll.ts <old binary> <new binary> [rounds]');
  process.exit(2);
}
const ROUNDS = Number(roundsArg ?? 5);

async function target(name: string, bin: string, databaseUrl: string) {
  const server = await start(name, [bin], { DATA_DIR: mkdtempSync(join(WORK, `${name}-`)), JWT_SECRET: SECRET, DATABASE_URL: databaseUrl, USER_MAX_ACTIVE_TASKS: '0' }, '/readyz');
  const u = await newUser(server.base, name.replace(/\W/g, '').slice(0, 6));
  const { task_id } = await api(server.base, 'POST', '/api/v1/generation', { type: 't2i', prompt: 'poll', parameters: { width: 64, height: 64 } }, u.token);
  for (;;) {
    if ((await api(server.base, 'GET', `/api/v1/generation/${task_id}`, undefined, u.token)).status !== 'processing') break;
    await sleep(50);
  }
  return { name, server, load: { path: `/api/v1/generation/${task_id}`, token: u.token, conns: 32, seconds: 5 } };
}

try {
  ensureWrk();
  for (const mode of ['postgres', 'embedded'] as const) {
    const a = await target(`old-${mode}`, oldBin, mode === 'postgres' ? await scratchDb('cmpold') : '');
    const b = await target(`new-${mode}`, newBin, mode === 'postgres' ? await scratchDb('cmpnew') : '');
    const runs = new Map<string, { rps: number; p99: number }[]>([[a.name, []], [b.name, []]]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of r % 2 ? [b, a] : [a, b]) runs.get(t.name)!.push(wrk(t.server.base, t.load));
    }
    const sum = (name: string) => ({ rps: median(runs.get(name)!.map((x) => x.rps)), p99: median(runs.get(name)!.map((x) => x.p99)) });
    const o = sum(a.name);
    const n = sum(b.name);
    log(`${mode}: old ${fmt(o.rps, 0)} req/s p99 ${fmt(o.p99, 2)} ms | new ${fmt(n.rps, 0)} req/s p99 ${fmt(n.p99, 2)} ms | new/old ${fmt(n.rps / o.rps, 3)}× (${ROUNDS} rounds each, median)`);
    log(`${mode} rounds: old ${runs.get(a.name)!.map((x) => fmt(x.rps, 0)).join(', ')} | new ${runs.get(b.name)!.map((x) => fmt(x.rps, 0)).join(', ')}`);
    await a.server.stop();
    await b.server.stop();
  }
} finally {
  await cleanup();
}
