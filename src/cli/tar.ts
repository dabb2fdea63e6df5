// A minimal ustar writer and reader for the backup archive (src/cli/backup.ts): regular files and nothing else.
// The writer streams (a file's bytes are read in chunks, never held whole); the reader walks a tar file on disk
// with positional reads, so that archives of many gigabytes restore in constant memory.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Splits a path into ustar's name (≤ 100 bytes) and prefix (≤ 155 bytes) fields; throws when it cannot fit. */
function splitName(path: string): { name: string; prefix: string } {
  if (encoder.encode(path).length <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

/** The 512-byte ustar header of a regular file of `size` bytes. */
export function tarHeader(path: string, size: number, mtime = Date.now(), mode = 0o600): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (at: number, length: number, text: string) => h.set(encoder.encode(text).subarray(0, length), at);
  const octal = (at: number, length: number, value: number) => put(at, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  const { name, prefix } = splitName(path);
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(mtime / 1000));
  put(148, 8, '        '); // checksum field counts as spaces while summing
  h[156] = 0x30; // '0': regular file
  put(257, 8, 'ustar\x0000');
  put(345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Zero bytes that pad `size` up to a whole block. */
export const tarPadding = (size: number) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
/** The two zero blocks that end an archive. */
export const tarEnd = () => new Uint8Array(2 * BLOCK);

export interface TarEntry {
  path: string;
  size: number;
  mode: number;
  /** byte offset of the entry's data in the archive */
  offset: number;
}

/** Reads a tar file's entries, in order. Regular files only; anything else (links, devices) is refused. */
export function listTar(file: string): TarEntry[] {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const entries: TarEntry[] = [];
    const h = new Uint8Array(BLOCK);
    const field = (at: number, length: number) => {
      let end = at;
      while (end < at + length && h[end] !== 0) end++;
      return decoder.decode(h.subarray(at, end));
    };
    const octal = (at: number, length: number) => Number.parseInt(field(at, length).trim() || '0', 8);
    for (let at = 0; ; ) {
      if (at + BLOCK > total || readSync(fd, h, 0, BLOCK, at) !== BLOCK) throw new Error('tar: the archive is truncated');
      if (h.every((b) => b === 0)) break; // the closing zero blocks
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (sum !== octal(148, 8)) throw new Error('tar: bad header checksum (not a backup archive, or damaged)');
      const prefix = field(345, 155);
      const path = `${prefix ? `${prefix}/` : ''}${field(0, 100)}`;
      const size = octal(124, 12);
      const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]);
      if (type !== '0') throw new Error(`tar: unsupported entry type "${type}" (${path})`);
      if (!path || path.startsWith('/') || path.split('/').includes('..')) throw new Error(`tar: unsafe path "${path}"`);
      entries.push({ path, size, mode: octal(100, 8) & 0o777, offset: at + BLOCK });
      at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      if (at > total) throw new Error('tar: the archive is truncated');
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** An entry's bytes, whole (for the small ones: the manifest, the secret, the database tarball). */
export function readEntry(file: string, entry: TarEntry): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const out = new Uint8Array(entry.size);
    for (let done = 0; done < entry.size; ) {
      const n = readSync(fd, out, done, entry.size - done, entry.offset + done);
      if (n <= 0) throw new Error('tar: the archive is truncated');
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Copies an entry's bytes to the open file `outFd` in 1 MB chunks. */
export function copyEntry(file: string, entry: TarEntry, outFd: number): void {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(Math.min(entry.size, 1 << 20) || 1);
    for (let done = 0; done < entry.size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, entry.size - done), entry.offset + done);
      if (n <= 0) throw new Error('tar: the archive is truncated');
      for (let w = 0; w < n; ) w += writeSync(outFd, buf, w, n - w);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
