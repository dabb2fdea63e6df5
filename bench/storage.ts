// Result download throughput, S3 vs disk (issue 12): `bun run bench/storage.ts [--quick] [--no-build] [--out <file>]`.
//
// Runs the compiled binary twice on PostgreSQL, once with STORAGE=disk and once with STORAGE=s3 against an S3-compatible
// server in a process of its own (s3rver, as in the tests; real object stores differ), creates the same 4 s 512² video on
// each, and downloads it with wrk (whole file, 8 connections), interleaved rounds. Writes bench/STORAGE.md.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, api, BIN, build, ensureWrk, fmt, log, median, newUser, processes, ROOT, scratchDb, SECRET, sleep, start, WORK, wrk } from './lib';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const OUT = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : join(ROOT, 'bench', 'STORAGE.md');
const ROUNDS = QUICK ? 2 : 5;
const SECONDS = QUICK ? 3 : 5;

async function target(name: string, env: Record<string, string>) {
  const server = await start(name, [BIN], { DATA_DIR: mkdtempSync(join(WORK, `${name}-`)), JWT_SECRET: SECRET, DATABASE_URL: await scratchDb(name), USER_MAX_ACTIVE_TASKS: '0', ...env }, '/readyz');
  const u = await newUser(server.base, name.slice(0, 4));
  const { task_id } = await api(server.base, 'POST', '/api/v1/generation', { type: 't2v', prompt: 'ocean waves', parameters: { width: 512, height: 512, duration: 4, seed: 7 } }, u.token);
  let url = '';
  for (;;) {
    const d = await api(server.base, 'GET', `/api/v1/generation/${task_id}`, undefined, u.token);
    if (d.status === 'completed') {
      url = d.result_url;
      break;
    }
    if (d.status === 'failed') throw new Error(d.error);
    await sleep(100);
  }
  const size = (await (await fetch(server.base + url, { headers: { authorization: `Bearer ${u.token}` } })).arrayBuffer()).byteLength;
  return { name, server, size, load: { path: url, token: u.token, conns: 8, seconds: SECONDS } };
}

try {
  ensureWrk();
  build(argv.includes('--no-build'));
  // s3rver in a process of its own: wrk runs through spawnSync, which blocks this process's event loop
  const s3proc = Bun.spawn(
    [process.execPath, '-e', `import { startS3 } from ${JSON.stringify(join(ROOT, 'test/support/s3.ts'))}; const s = await startS3('aigc-bench'); console.log(JSON.stringify(s.env));`],
    { cwd: ROOT, stdout: 'pipe', stderr: 'inherit' },
  );
  processes.push(s3proc);
  const reader = s3proc.stdout.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the S3 server did not start');
    text += new TextDecoder().decode(value);
  }
  const s3 = { env: JSON.parse(text.split('\n')[0]) as Record<string, string> };
  try {
    const disk = await target('disk', { STORAGE: 'disk' });
    const obj = await target('s3', s3.env);
    const runs = new Map<string, { rps: number; p99: number }[]>([['disk', []], ['s3', []]]);
    for (let r = 0; r < ROUNDS; r++) for (const t of r % 2 ? [obj, disk] : [disk, obj]) runs.get(t.name)!.push(wrk(t.server.base, t.load));
    const sum = (n: string) => ({ rps: median(runs.get(n)!.map((x) => x.rps)), p99: median(runs.get(n)!.map((x) => x.p99)) });
    const d = sum('disk');
    const o = sum('s3');
    const mbps = (rps: number, size: number) => (rps * size) / 1024 / 1024;
    log(`disk ${fmt(d.rps, 0)} downloads/s (${fmt(mbps(d.rps, disk.size))} MB/s) p99 ${fmt(d.p99, 1)} ms | s3 ${fmt(o.rps, 0)} downloads/s (${fmt(mbps(o.rps, obj.size))} MB/s) p99 ${fmt(o.p99, 1)} ms`);
    const md = [
      '# Storage benchmark: result downloads, S3 vs disk',
      '',
      `Written by \`bun run bench/storage.ts\`${QUICK ? ' --quick (short runs: indicative only)' : ''} on ${new Date().toISOString().slice(0, 10)}. Do not edit by hand.`,
      '',
      `The compiled binary on PostgreSQL, \`STORAGE=disk\` and \`STORAGE=s3\` (s3rver 3.7.1 in a process of its own, on this`,
      `machine; a real object store differs), the same 4 s 512² video (${fmt(disk.size / 1024)} KB), whole-file downloads with wrk`,
      `(8 connections, ${SECONDS} s, ${ROUNDS} interleaved rounds, medians).`,
      '',
      '| storage | downloads/s | MB/s | p99 |',
      '|---|---|---|---|',
      `| disk | ${fmt(d.rps, 0)} | ${fmt(mbps(d.rps, disk.size))} | ${fmt(d.p99, 1)} ms |`,
      `| s3 | ${fmt(o.rps, 0)} | ${fmt(mbps(o.rps, obj.size))} | ${fmt(o.p99, 1)} ms |`,
      '',
      `S3 / disk throughput: **${fmt(o.rps / d.rps, 2)}×**. With S3 every download is a ranged GET to the store, read into`,
      'memory up to 64 MB so that Content-Length is sent (src/http/files.ts); `S3_REDIRECT=1` sends clients to the store instead.',
      '',
    ];
    writeFileSync(OUT, md.join('\n'));
    log(`wrote ${OUT}`);
    console.log(md.join('\n'));
    await disk.server.stop();
    await obj.server.stop();
  } finally {
    s3proc.kill('SIGKILL');
  }
} finally {
  await cleanup();
}
