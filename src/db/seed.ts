import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SeedSource } from './pglite-protocol';

/** The Blob a SeedSource names, or null: call it on the thread that unpacks the seed (see SeedSource). */
export function resolveSeed(source: SeedSource | null | undefined): Blob | null {
  if (!source) return null;
  const embedded = source.embedded && Bun.embeddedFiles.find((f) => /^pgdata(-[a-z0-9]+)?\.tgz$/.test((f as Blob & { name: string }).name));
  if (embedded) return embedded;
  return source.file && existsSync(source.file) ? Bun.file(source.file) : null;
}

/**
 * Unpacks a pre-initialised PGlite data dir (a gzipped ustar archive of files and directories, as PGlite's
 * `dumpDataDir` writes it) into `dir`, natively: 40 MB in about 0.1 s, where handing the archive to PGlite
 * (`loadDataDir`, through its in-wasm file system) took about 0.4 s of the first start. The files go to a
 * temporary sibling first and are renamed into place, so a crash never leaves half a database behind.
 * Returns false (and writes nothing) when `dir` holds files already; the caller then lets PGlite load the seed.
 */
export async function unpackDataDir(seed: Blob, dir: string): Promise<boolean> {
  if (existsSync(dir) && readdirSync(dir).length > 0) return false;
  const tar = Bun.gunzipSync(new Uint8Array(await seed.arrayBuffer()));
  const text = new TextDecoder();
  const field = (at: number, length: number) => {
    let end = at;
    while (end < at + length && tar[end] !== 0) end++;
    return text.decode(tar.subarray(at, end));
  };
  const octal = (at: number, length: number) => Number.parseInt(field(at, length).trim() || '0', 8);
  const tmp = `${dir}.unpacking-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    for (let at = 0; at + 512 <= tar.length; ) {
      if (tar[at] === 0) break; // the archive's closing zero blocks
      const prefix = field(at + 257, 6).startsWith('ustar') ? field(at + 345, 155) : '';
      const name = `${prefix ? `${prefix}/` : ''}${field(at, 100)}`.replace(/^\/+/, '');
      const size = octal(at + 124, 12);
      const mode = octal(at + 100, 8) & 0o777;
      const type = tar[at + 156] === 0 ? '0' : String.fromCharCode(tar[at + 156]);
      if (!name || name.split('/').includes('..')) throw new Error(`seed: unsafe path "${name}"`);
      const path = join(tmp, name);
      at += 512;
      if (type === '5') mkdirSync(path, { recursive: true, mode: mode || 0o700 });
      else if (type === '0') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, tar.subarray(at, at + size), { mode: mode || 0o600 });
      } else throw new Error(`seed: unsupported tar entry type "${type}" (${name})`);
      at += Math.ceil(size / 512) * 512;
    }
    if (!existsSync(join(tmp, 'PG_VERSION'))) throw new Error('seed: no PG_VERSION in the archive');
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // empty, checked above
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
    return true;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
