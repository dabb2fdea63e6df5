// One database, SMTP server and app per test process: `npm test` runs the files in several worker processes, each
// keeping one global across the files it runs (scripts/test.ts: --parallel --no-isolate), so a worker's files share them.
// PGlite in memory by default; a real PostgreSQL when TEST_DATABASE_URL is set (its public schema is wiped; under
// parallel workers that is each worker's own scratch database, see test/support/preload.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { createApp, type App } from '../../src/app';
import type { Clock } from '../../src/clock';
import { type Config, loadConfig } from '../../src/config';
import { type Database, openDatabase } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { migrations } from '../../src/db/migrations.gen';
import { createTokens, type Tokens } from '../../src/http/tokens';
import { silentLogger } from '../../src/logger';
import { createMailer, type Mailer } from '../../src/mail/mailer';
import { createRunner, type Runner, type RunnerOptions } from '../../src/generation/runner';
import { resultLocation } from '../../src/modules/generation/service';
import { createLocalProvider } from '../../src/providers/local';
import type { WorkerPriority } from '../../src/config';
import { createLocalStorage, type Storage } from '../../src/storage/local';
import { createLabeller } from '../../src/labels';
import { createModerator } from '../../src/moderation';
import type { Moderator } from '../../src/moderation/types';
import { ffmpegPath } from './ffprobe';
import { TEST_PASSWORD_COST } from './server-process';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** A clock that tests can move forward; `reset()` returns to real time. */
export class TestClock implements Clock {
  offsetMs = 0;
  now = () => new Date(Date.now() + this.offsetMs);
  nowMs = () => Date.now() + this.offsetMs;
  advance(ms: number) {
    this.offsetMs += ms;
  }
  reset() {
    this.offsetMs = 0;
  }
}

/** The test runner: RunnerOptions, plus the local provider's size, worker and priority. */
export type PoolOptions = Partial<RunnerOptions> & { size?: number; workerUrl?: string; priority?: WorkerPriority };

export interface TestEnv {
  config: Config;
  database: Database;
  clock: TestClock;
  tokens: Tokens;
  mailer: Mailer;
  app: App;
  mails: ReceivedMail[];
  smtpPort: number;
  storage: Storage;
  dataDir: string;
  /** the running runner (the app wakes whichever is current) */
  pool: Runner;
  /**
   * stops the current runner and starts another, e.g. with a different local worker, or other providers and
   * routes; no arguments = the default (the local engine, 2 workers, for every type)
   */
  replacePool(over?: PoolOptions, graceMs?: number): Promise<Runner>;
  /** the moderation client the app and the default runner use (MODERATION=keywords, the shipped list) */
  moderator: Moderator;
  /** builds another app on the same database with other dependencies */
  makeApp(over: Partial<Parameters<typeof createApp>[0]>): App;
}

let envPromise: Promise<TestEnv> | undefined;

/** AIGC_LABEL_KEY of the test environment */
export const TEST_LABEL_KEY = 'test-label-key-0123456789-0123456789-abcdef';

/** A real SMTP peer on a free port that keeps every message it receives in `mails`. */
export async function startSmtp(mails: ReceivedMail[]): Promise<{ server: SMTPServer; port: number }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { server, port };
}

/** The migrated PGlite seed of test/support/preload.ts (null when the preload did not run): no initdb. */
export const pgliteSeed = () => (process.env.PGLITE_SEED ? { file: process.env.PGLITE_SEED } : null);

async function openTestDatabase(): Promise<Database> {
  const url = process.env.TEST_DATABASE_URL;
  // in memory, from the migrated seed of test/support/preload.ts: initdb costs seconds of CPU per test process
  if (!url) return openDatabase({ kind: 'pglite', seed: pgliteSeed() });
  const database = await openDatabase({ kind: 'postgres', url, max: 10 });
  await database.db.execute(sql.raw('drop schema if exists drizzle cascade'));
  await database.db.execute(sql.raw('drop schema if exists public cascade'));
  await database.db.execute(sql.raw('create schema public'));
  return database;
}

/** This process's test env if a file has opened it, without opening one. */
export function openedTestEnv(): Promise<TestEnv> | undefined {
  return envPromise;
}

export function testEnv(): Promise<TestEnv> {
  envPromise ??= (async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aigc-test-'));
    // Every in-process request comes from the same "unknown" client IP: its login throttle and forgot-password limit
    // (both counted in the database, so shared by every app built here) are set out of reach, and the throttling
    // tests build their own app with low limits and their own X-Forwarded-For addresses.
    const config = loadConfig({
      DATA_DIR: dataDir,
      JWT_SECRET: 'test-secret-0123456789-0123456789-abcdef',
      WORKERS: '2',
      LOGIN_IP_MAX_FAILURES: '1000000',
      FORGOT_PER_IP_PER_MINUTE: '100000',
      // many tests queue more than 4 tasks per user at once; test/fair-use.test.ts builds apps with the real limits
      USER_MAX_ACTIVE_TASKS: '1000',
      // remote providers' videos get the visible mark through ffmpeg (the devDependency's static build)
      FFMPEG_PATH: ffmpegPath,
      // servers the tests spawn sign with the same key, so that their labels verify here too
      AIGC_LABEL_KEY: TEST_LABEL_KEY,
      // argon2id at the test cost, as the servers the tests start get it; test/auth.test.ts checks the default cost
      ...TEST_PASSWORD_COST,
    });
    const database = await openTestDatabase();
    await migrate(database.db, migrations);
    const mails: ReceivedMail[] = [];
    const smtp = await startSmtp(mails);
    const clock = new TestClock();
    const tokens = createTokens(config.jwtSecret, config.jwtTtl, clock);
    const mailer = createMailer({
      from: config.mailFrom,
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      outboxDir: join(dataDir, 'outbox'),
      log: silentLogger,
    });
    const storage = createLocalStorage(join(dataDir, 'files'));
    const moderator = createModerator(config.moderation, { log: silentLogger });
    const labeller = createLabeller(config.labels);
    const createPool = ({ size = 2, workerUrl, priority = config.workerPriority, ...over }: PoolOptions = {}) =>
      createRunner({
        db: database.db,
        database,
        storage,
        clock,
        log: silentLogger,
        providers: [createLocalProvider({ size, workerUrl, priority })],
        routes: { t2i: 'local', i2i: 'local', t2v: 'local', i2v: 'local' },
        leaseMs: 5000,
        maxAttempts: 3,
        taskTimeoutMs: 120_000,
        // the app and NOTIFY wake the runner when a task is queued; the poll is the fallback (TASK_POLL, 5 s by default)
        pollMs: 5000,
        resultLocation,
        labeller,
        moderator,
        ...over,
      });
    const base = {
      config,
      database,
      tokens,
      mailer,
      clock,
      log: silentLogger,
      storage,
      moderator,
      wake: () => env.pool.wake(),
    };
    const env: TestEnv = {
      ...base,
      app: createApp(base),
      mails,
      smtpPort: smtp.port,
      dataDir,
      pool: createPool(),
      makeApp: (over) => createApp({ ...base, ...over }),
      async replacePool(over, graceMs = 0) {
        await env.pool.stop(graceMs);
        env.pool = createPool(over);
        await env.pool.start();
        return env.pool;
      },
    };
    await env.pool.start();
    return env;
  })();
  return envPromise;
}
