// The storage factory: STORAGE=disk (files under DATA_DIR/files) or STORAGE=s3 (one bucket), behind one interface.
import { join } from 'node:path';
import type { StorageConfig } from '../config';
import { createLocalStorage } from './local';
import { createS3Storage } from './s3';
import type { Storage } from './types';

export * from './types';
export { createLocalStorage } from './local';
export { createS3Storage, type S3Settings } from './s3';

/** How long the presigned URL of an `S3_REDIRECT=1` download stays valid (seconds). */
export const REDIRECT_SECONDS = 300;

/** The storage that the configuration names; `dataDir` is used by the disk driver only. */
export function createStorage(config: StorageConfig, dataDir: string): Storage {
  if (config.kind === 'disk') return createLocalStorage(join(dataDir, 'files'));
  const { kind: _kind, redirect, ...settings } = config;
  return createS3Storage({ ...settings, redirectSeconds: redirect ? REDIRECT_SECONDS : 0 });
}
