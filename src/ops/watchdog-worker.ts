// The event-loop watchdog's thread (see ./watchdog.ts). It runs beside the HTTP thread and ends the process when that
// thread has not sent a heartbeat for `timeoutMs`: a call that never returns on the HTTP thread (a runaway loop, say)
// would otherwise leave a process that answers nothing and ignores SIGTERM. (A stuck embedded database is another
// thread's: the database probe reports it, createDbProbe in src/ops/watchdog.ts.)
declare const self: Worker;

let timeoutMs = 30_000;
let last = Date.now();

self.onmessage = (ev: MessageEvent<{ timeoutMs?: number }>) => {
  if (ev.data?.timeoutMs) timeoutMs = ev.data.timeoutMs;
  last = Date.now();
};

setInterval(() => {
  const blocked = Date.now() - last;
  if (blocked <= timeoutMs) return;
  console.error(
    `${new Date().toISOString()} ERROR watchdog: the event loop has not answered for ${Math.round(blocked / 1000)} s ` +
      `(limit WATCHDOG_TIMEOUT=${Math.round(timeoutMs / 1000)} s; a call on the main thread never returned); ` +
      'ending the process so that its supervisor restarts it',
  );
  // process.exit() in a Worker ends only the worker; the whole process has to be killed from here
  process.kill(process.pid, 'SIGKILL');
}, 250);
