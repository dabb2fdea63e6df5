// `bun test/support/after-worker.ts PID [--rm DIR] [--drop ADMIN_URL NAME]`: waits until process PID (a parallel test
// worker, see test/support/preload.ts) has ended, then removes its temp dir and drops its PostgreSQL database. Bun
// ends its test workers without running exit handlers, so a worker cannot clean up after itself; started detached,
// this also cleans up after a killed run.
import { rmSync } from 'node:fs';
import postgres from 'postgres';
import { processAlive } from './pid';

const [pid, ...rest] = process.argv.slice(2);
const opt = (name: string, n: number) => {
  const i = rest.indexOf(name);
  return i === -1 ? undefined : rest.slice(i + 1, i + 1 + n);
};
const dir = opt('--rm', 1)?.[0];
const [adminUrl, name] = opt('--drop', 2) ?? [];
if (!/^\d+$/.test(pid ?? '') || (dir !== undefined && !/aigc-test-w/.test(dir)) || (name !== undefined && !/^aigc_\w+$/.test(name))) {
  console.error('usage: after-worker.ts PID [--rm DIR] [--drop ADMIN_URL aigc_NAME]');
  process.exit(2);
}
while (processAlive(Number(pid))) await Bun.sleep(250);
if (dir) rmSync(dir, { recursive: true, force: true });
if (adminUrl && name) {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}
