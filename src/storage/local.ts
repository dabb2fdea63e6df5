// STORAGE=disk: files under one root directory (DATA_DIR/files).
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { checkKey, type Storage, StorageFullError, StorageNotFoundError, type StoredObject } from './types';

// The contract's names, for the modules that import them from here
export { StorageFullError, type Storage, type StoredObject } from './types';

const isFull = (e: unknown) => ['ENOSPC', 'EDQUOT'].includes((e as { code?: string })?.code ?? '');
const isMissing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as { code?: string })?.code ?? '');

export function createLocalStorage(rootDir: string): Storage {
  const root = resolve(rootDir);
  const pathOf = (key: string) => {
    const p = resolve(root, checkKey(key));
    if (!p.startsWith(root + sep)) throw new Error(`invalid storage key: ${key}`);
    return p;
  };
  let seq = 0;
  return {
    kind: 'disk',
    /** writes under a temporary name in the same directory, then renames: the key never names half a file */
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
      let size: number;
      try {
        const s = await stat(path);
        if (!s.isFile()) return null;
        size = s.size;
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
      const part = (range?: { start: number; end: number }) => (range ? Bun.file(path).slice(range.start, range.end + 1) : Bun.file(path));
      const object: StoredObject = {
        local: true,
        size: async () => size,
        stream: (range) => part(range).stream(),
        async bytes(range) {
          try {
            return await part(range).bytes();
          } catch (e) {
            if (isMissing(e)) throw new StorageNotFoundError(key);
            throw e;
          }
        },
        redirectUrl: () => null,
      };
      return object;
    },
    async read(key) {
      try {
        return await Bun.file(pathOf(key)).bytes();
      } catch (e) {
        if (isMissing(e)) throw new StorageNotFoundError(key);
        throw e;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
  };
}
