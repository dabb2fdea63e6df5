import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { BunFile } from 'bun';

/** Files by key (e.g. `uploads/ref_x.png`), on local disk under one root. */
export interface Storage {
  /** writes under a temporary name, then renames: a crash never leaves half a file under a real key */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** the file, or null when it does not exist */
  get(key: string): Promise<BunFile | null>;
  read(key: string): Promise<Uint8Array>;
  delete(key: string): Promise<void>;
}

/** The disk (or quota) is full: nothing was written under the key. */
export class StorageFullError extends Error {
  constructor(cause: unknown) {
    super('no space left on the storage device', { cause });
  }
}

const isFull = (e: unknown) => ['ENOSPC', 'EDQUOT'].includes((e as { code?: string })?.code ?? '');

const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.[a-z0-9]+$/;

export function createLocalStorage(rootDir: string): Storage {
  const root = resolve(rootDir);
  const pathOf = (key: string) => {
    if (!KEY.test(key)) throw new Error(`invalid storage key: ${key}`);
    const p = resolve(root, key);
    if (!p.startsWith(root + sep)) throw new Error(`invalid storage key: ${key}`);
    return p;
  };
  let seq = 0;
  return {
    async put(key, bytes) {
      const path = pathOf(key);
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (e) {
        throw isFull(e) ? new StorageFullError(e) : e;
      }
      const tmp = join(dirname(path), `.tmp-${process.pid}-${Date.now()}-${++seq}`);
      try {
        await Bun.write(tmp, bytes);
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw isFull(e) ? new StorageFullError(e) : e;
      }
    },
    async get(key) {
      const path = pathOf(key);
      try {
        if (!(await stat(path)).isFile()) return null;
      } catch {
        return null;
      }
      return Bun.file(path);
    },
    async read(key) {
      return new Uint8Array(await Bun.file(pathOf(key)).arrayBuffer());
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
