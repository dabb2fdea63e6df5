// `bun test/support/drop-database.ts PID ADMIN_URL NAME`: waits until process PID has ended, then drops database NAME
// (a parallel test worker's own, see test/support/preload.ts). Bun ends its test workers without running exit
// handlers, so the worker cannot drop it itself; started detached, this also cleans up after a killed run.
import postgres from 'postgres';

const [pid, adminUrl, name] = process.argv.slice(2);
if (!/^\d+$/.test(pid ?? '') || !adminUrl || !/^aigc_\w+$/.test(name ?? '')) {
  console.error('usage: drop-database.ts PID ADMIN_URL aigc_NAME');
  process.exit(2);
}
const alive = () => {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
};
while (alive()) await Bun.sleep(250);
const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
try {
  await sql.unsafe(`drop database if exists ${name} with (force)`);
} finally {
  await sql.end({ timeout: 1 }).catch(() => {});
}
