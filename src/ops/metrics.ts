// Prometheus metrics of one process (issue 14), served at /metrics by src/http/metrics.ts when METRICS_TOKEN is set.
//
// One registry per database handle (metricsFor(db)), never prom-client's global default registry: a process has one
// database, so in production this is one registry per process; in tests, every app and runner built on the same
// database share it (a task a test's runner finishes shows in any of its apps' /metrics), and a test that opens
// another database gets a registry of its own, with no duplicate-name errors.
//
// Counters and histograms are updated where things happen (the access log, the runner, the mailer wrapper);
// gauges that describe state (queue, busy workers, database pool) are read when scraped, by collect() callbacks.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import { type Db, isPglite, rowsOf } from '../db/client';
import { tasks } from '../db/schema';
import type { Mailer } from '../mail/mailer';
import { TASK_TYPES } from '../tasks';
import { RequestHistogram } from './request-histogram';

/** How a task that this process ran ended. `rejected`: its output was refused by the review; `held`: kept for a person's review. */
export const TASK_OUTCOMES = ['completed', 'failed', 'canceled', 'rejected', 'held'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

/** What the runner reports. */
export interface TaskMetrics {
  taskFinished(type: string, provider: string, outcome: TaskOutcome, seconds: number): void;
  /** counts the runner's busy workers in `aigc_workers_busy` while registered; returns the unregister */
  addRunner(runner: { readonly running: number }): () => void;
}

export interface Metrics extends TaskMetrics {
  readonly registry: Registry;
  /** one answered request: `route` is the route's pattern (never the raw path), `unmatched` when none matched */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  mailSent(): void;
  mailFailed(): void;
  /** the exposition text, and its Content-Type */
  text(): Promise<string>;
  readonly contentType: string;
}

/** A scrape must not hang on a stuck database: the queue gauges keep their last values after this long. */
const COLLECT_TIMEOUT_MS = 2000;
/** how often the event-loop lag (nodejs_eventloop_lag_*) is sampled */
export const EVENT_LOOP_SAMPLE_MS = 100;

export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const TASK_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | null> =>
  Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms).unref?.())]);

/** Queued tasks by type: how many, and the creation time (epoch seconds) of the oldest. One query on the queue index. */
async function queueState(db: Db): Promise<Map<string, { depth: number; oldest: number }>> {
  const rows = rowsOf<{ type: string; depth: number | string; oldest: number | string | null }>(
    await db.execute(sql`
      select ${tasks.type} as type, count(*)::int as depth, extract(epoch from min(${tasks.createdAt}))::float8 as oldest
      from ${tasks} where ${tasks.status} = 'processing' and ${tasks.leaseUntil} is null group by ${tasks.type}`),
  );
  return new Map(rows.map((r) => [r.type, { depth: Number(r.depth), oldest: Number(r.oldest) }]));
}

/** The most connections the database driver opens: postgres.js's `max`, 1 for the embedded PGlite (one session). */
function poolMax(db: Db): { driver: string; max: number } {
  if (isPglite(db)) return { driver: 'pglite', max: 1 };
  const client = (db as unknown as { $client?: { options?: { max?: number } } }).$client;
  return { driver: 'postgres', max: Number(client?.options?.max ?? NaN) };
}

/** A fresh registry with every metric of the service; `db` feeds the queue and pool gauges (null: none). */
export function createMetrics(db: Db | null): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // the event-loop lag is sampled every 100 ms: prom-client's 10 ms default keeps an idle process awake 100 times a
  // second (an idle server used 19 ms of CPU per second with it, 13 without)
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const runners = new Set<{ readonly running: number }>();

  const http = new RequestHistogram(
    'http_request_duration_seconds',
    'HTTP requests by method, route pattern and status: time until the response (its headers) was ready',
    HTTP_BUCKETS,
  );
  registry.registerMetric(http as unknown as Parameters<Registry['registerMetric']>[0]);
  const tasksTotal = new Counter({
    name: 'aigc_tasks_total',
    help: 'Generation tasks run by this process, by type, provider and outcome',
    labelNames: ['type', 'provider', 'outcome'] as const,
    registers,
  });
  const taskSeconds = new Histogram({
    name: 'aigc_task_duration_seconds',
    help: 'Time from claiming a task to its outcome, by type, provider and outcome',
    labelNames: ['type', 'provider', 'outcome'] as const,
    buckets: TASK_BUCKETS,
    registers,
  });
  const mailSent = new Counter({ name: 'aigc_mail_sent_total', help: 'Mail messages accepted (SMTP server or outbox)', registers });
  const mailFailed = new Counter({ name: 'aigc_mail_failed_total', help: 'Mail messages that could not be sent', registers });
  new Gauge({
    name: 'aigc_workers_busy',
    help: 'Tasks being generated by this process right now',
    registers,
    collect() {
      let n = 0;
      for (const r of runners) n += r.running;
      this.set(n);
    },
  });
  new Gauge({
    name: 'aigc_db_pool_max_connections',
    help: 'Connections the database driver may open (postgres: the pool size; pglite: 1, one embedded session)',
    labelNames: ['driver'] as const,
    registers,
    collect() {
      if (!db) return;
      const { driver, max } = poolMax(db);
      this.reset();
      this.set({ driver }, max);
    },
  });
  // the two queue gauges share one query per scrape: prom-client starts every collect() of a scrape before any ends
  let queueRead: Promise<Map<string, { depth: number; oldest: number }> | null> | null = null;
  const readQueue = () => {
    if (!db) return Promise.resolve(null);
    queueRead ??= withTimeout(queueState(db), COLLECT_TIMEOUT_MS)
      .catch(() => null)
      .finally(() => (queueRead = null));
    return queueRead;
  };
  new Gauge({
    name: 'aigc_queue_depth',
    help: 'Tasks waiting for a worker (all instances on the database), by type',
    labelNames: ['type'] as const,
    registers,
    async collect() {
      const q = await readQueue();
      if (!q) return;
      for (const t of TASK_TYPES) this.set({ type: t }, q.get(t)?.depth ?? 0);
    },
  });
  new Gauge({
    name: 'aigc_queue_oldest_age_seconds',
    help: 'How long the oldest waiting task has waited, by type (0 when none waits)',
    labelNames: ['type'] as const,
    registers,
    async collect() {
      const q = await readQueue();
      if (!q) return;
      const now = Date.now() / 1000;
      for (const t of TASK_TYPES) {
        const oldest = q.get(t)?.oldest;
        this.set({ type: t }, oldest === undefined || !Number.isFinite(oldest) ? 0 : Math.max(0, now - oldest));
      }
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    httpRequest(method, route, status, seconds) {
      http.observe(method, route, status, seconds);
    },
    taskFinished(type, provider, outcome, seconds) {
      tasksTotal.inc({ type, provider, outcome });
      taskSeconds.observe({ type, provider, outcome }, seconds);
    },
    mailSent: () => mailSent.inc(),
    mailFailed: () => mailFailed.inc(),
    addRunner(runner) {
      runners.add(runner);
      return () => void runners.delete(runner);
    },
  };
}

const byDb = new WeakMap<Db, Metrics>();

/** The registry of the process that uses `db` (created on first use). */
export function metricsFor(db: Db): Metrics {
  let m = byDb.get(db);
  if (!m) byDb.set(db, (m = createMetrics(db)));
  return m;
}

/** `mailer`, counting what it sends and fails to send. */
export function countingMailer(mailer: Mailer, metrics: Pick<Metrics, 'mailSent' | 'mailFailed'>): Mailer {
  return {
    get kind() {
      return mailer.kind;
    },
    async send(msg) {
      try {
        await mailer.send(msg);
      } catch (e) {
        metrics.mailFailed();
        throw e;
      }
      metrics.mailSent();
    },
    close: () => mailer.close(),
  };
}
