import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { resultLocation } from '../modules/generation/service';
import { PROVIDERS } from '../providers/registry';
import type { Storage } from '../storage/local';
import { createRunner, type Runner } from './runner';
import { createLabeller } from '../labels';
import type { Moderator } from '../moderation/types';

export type { Runner } from './runner';

/** The runner of this instance, with the providers that GENERATION_ROUTES names (config already checked them). */
export function runnerFromConfig(config: Config, deps: { database: Database; storage: Storage; clock: Clock; log: Logger; moderator: Moderator }): Runner {
  const rt = {
    log: deps.log,
    workers: config.workers,
    workerPriority: config.workerPriority,
    maxOutputBytes: config.providerMaxOutputBytes,
    downloadTimeoutMs: config.providerDownloadTimeoutMs,
  };
  const names = [...new Set(Object.values(config.generationRoutes))];
  return createRunner({
    db: deps.database.db,
    database: deps.database,
    storage: deps.storage,
    clock: deps.clock,
    log: deps.log,
    providers: names.map((name) => PROVIDERS[name].create(config.providerSettings[name], rt)),
    routes: config.generationRoutes,
    leaseMs: config.taskLeaseMs,
    maxAttempts: config.taskMaxAttempts,
    taskTimeoutMs: config.taskTimeoutMs,
    pollMs: config.taskPollMs,
    maxOutputBytes: config.providerMaxOutputBytes,
    resultLocation,
    labeller: createLabeller(config.labels),
    moderator: deps.moderator,
  });
}
