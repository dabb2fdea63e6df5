// The event-loop watchdog's thread (see ./watchdog.ts). It runs beside the HTTP thread and ends the process when that
// thread has not moved the heartbeat counter for `timeoutMs`: a call that never returns on the HTTP thread (a runaway
// loop, say) would otherwise leave a process that answers nothing and ignores SIGTERM. (A stuck embedded database is
// another thread's: the database probe reports it, createDbProbe in src/ops/watchdog.ts.)
//
// After the first message the thread never returns to its event loop: it sleeps in Atomics.wait on the stop slot and
// looks at the counter when it wakes (as often as the HTTP thread moves it, see ./watchdog.ts). So it costs nothing
// between checks.
import { BEAT, STOP, type WatchdogStart } from './watchdog';

declare const self: Worker;

self.onmessage = (ev: MessageEvent<WatchdogStart>) => {
  const { timeoutMs, checkMs, shared } = ev.data;
  let seen = Atomics.load(shared, BEAT);
  let movedAt = Date.now();
  while (Atomics.load(shared, STOP) === 0) {
    Atomics.wait(shared, STOP, 0, checkMs);
    const now = Date.now();
    const beat = Atomics.load(shared, BEAT);
    if (beat !== seen) {
      seen = beat;
      movedAt = now;
      continue;
    }
    const blocked = now - movedAt;
    if (blocked <= timeoutMs) continue;
    console.error(
      `${new Date().toISOString()} ERROR watchdog: the event loop has not answered for ${Math.round(blocked / 1000)} s ` +
        `(limit WATCHDOG_TIMEOUT=${Math.round(timeoutMs / 1000)} s; a call on the main thread never returned); ` +
        'ending the process so that its supervisor restarts it',
    );
    // process.exit() in a Worker ends only the worker; the whole process has to be killed from here
    process.kill(process.pid, 'SIGKILL');
    return;
  }
};
