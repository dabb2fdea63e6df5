// Every provider the deployment can route task types to, by name (GENERATION_ROUTES), with the reader of its
// settings from the environment and its factory. A remote provider's settings are read only when a route names
// it; a missing one stops start-up with one line naming the variable (ConfigError).
import type { WorkerPriority } from '../config';
import type { Logger } from '../logger';
import { comfyuiProvider } from './comfyui';
import { dashscopeProvider } from './dashscope';
import { falProvider } from './fal';
import { jimengProvider } from './jimeng';
import { createLocalProvider } from './local';
import { openaiProvider } from './openai';
import { replicateProvider } from './replicate';
import type { GenerationProvider } from './types';

export type Env = Record<string, string | undefined>;

/** What every provider factory may use besides its own settings. */
export interface ProviderRuntime {
  log: Logger;
  /** local provider: worker threads and their priority */
  workers: number;
  workerPriority: WorkerPriority;
  /** largest output a provider may return, and the longest its download may take */
  maxOutputBytes: number;
  downloadTimeoutMs: number;
}

export interface ProviderEntry<S = unknown> {
  /** reads and checks the provider's settings; throws ConfigError naming the variable that is missing or wrong */
  settings(env: Env): S;
  create(settings: S, rt: ProviderRuntime): GenerationProvider;
}

const entry = <S>(e: ProviderEntry<S>) => e as ProviderEntry<unknown>;

export const PROVIDERS: Record<string, ProviderEntry> = {
  local: entry({
    settings: () => ({}),
    create: (_s, rt) => createLocalProvider({ size: rt.workers, priority: rt.workerPriority }),
  }),
  comfyui: entry(comfyuiProvider),
  dashscope: entry(dashscopeProvider),
  fal: entry(falProvider),
  jimeng: entry(jimengProvider),
  openai: entry(openaiProvider),
  replicate: entry(replicateProvider),
};
