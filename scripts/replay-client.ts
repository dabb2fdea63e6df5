// Replays the desktop client's real request sequences (build A = ea888a6, build L = e33ac15) against a running
// server, e.g. the compiled binary:
//
//   bun scripts/replay-client.ts http://127.0.0.1:3000 [A|L|both] [--poll-ms=2000] [--busy=3]
//
// One line per request, then `replay A: N steps ok` (or the failure); the exit code is non-zero on any failure.
// It registers new accounts on that server. See test/support/client-replay.ts for what is replayed and checked.
import { type Build, ReplayError, replayBuild, type StepLog } from '../test/support/client-replay';

const args = process.argv.slice(2);
const flags = Object.fromEntries(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=') as [string, string]));
const [baseUrl, which = 'both'] = args.filter((a) => !a.startsWith('--'));
if (!baseUrl || !['A', 'L', 'both'].includes(which) || !/^https?:\/\//.test(baseUrl)) {
  console.error('usage: bun scripts/replay-client.ts <baseUrl> [A|L|both] [--poll-ms=2000] [--busy=3]');
  process.exit(2);
}
const number = (name: string) => (flags[name] === undefined ? undefined : Number(flags[name]));

const line = (s: StepLog) => {
  const expected = s.expectStatus !== undefined ? ` (expected HTTP ${s.expectStatus})` : '';
  const code = s.code === null ? '' : ` code ${s.code}`;
  return `${s.build} ${s.extra ? '+' : ' '} ${s.method.padEnd(6)} ${s.path}  HTTP ${s.status}${code}${expected}  ${s.ms} ms  ${s.step}${s.note ? `  (${s.note})` : ''}`;
};

let failed = false;
for (const build of (which === 'both' ? ['A', 'L'] : [which]) as Build[]) {
  try {
    const log = await replayBuild(build, baseUrl, {
      pollIntervalMs: number('poll-ms'),
      busyTasks: number('busy'),
      onStep: (s) => console.log(line(s)),
    });
    const busy = log.busyAtProbe ? 'the probe POST /generation was answered while videos were processing' : 'the workers were already idle at the probe';
    console.log(`replay ${build}: ${log.steps.length} steps ok (account ${log.account}; ${busy}; + = a check the client itself never sends)`);
  } catch (e) {
    failed = true;
    const steps = e instanceof ReplayError ? e.steps.length : 0;
    console.log(`replay ${build}: FAILED after ${steps} steps: ${(e as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
