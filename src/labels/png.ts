// PNG carrier of the XMP label: an uncompressed iTXt chunk with keyword `XML:com.adobe.xmp` right after
// IHDR (so before the first IDAT). Writing drops every existing XMP iTXt and splices the new one in: one
// copy of the file, no re-encode. Reading walks the chunk list with every length bounds-checked and
// insists on IEND, so truncated or lying files are rejected instead of half-read.

import { inflateSync } from 'node:zlib';
import { ascii, decodeXmpText, encodeUtf8, spliceBytes, type Edit } from './xmp';

const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const XMP_KEYWORD = 'XML:com.adobe.xmp';
/** Ceiling for a compressed iTXt's inflated size (a zip bomb must not allocate gigabytes). */
const MAX_INFLATED = 16 << 20;

/** CRC-32 of buf[start, end) (PNG chunk checksums), by the runtime's native implementation. */
export const crc32 = (buf: Uint8Array, start = 0, end = buf.length): number => Bun.hash.crc32(buf.subarray(start, end));

const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

interface Chunk {
  type: string;
  start: number; // offset of the length field
  data: number; // offset of the payload
  len: number; // payload length
  end: number; // offset after the CRC
}

/** Every chunk up to and including IEND; throws on a bad signature, a chunk past the end, or no IEND. */
function walkChunks(b: Uint8Array): Chunk[] {
  if (b.length < 8 || SIG.some((v, i) => b[i] !== v)) throw new Error('png: not a PNG file (bad signature)');
  const out: Chunk[] = [];
  let o = 8;
  for (;;) {
    if (o + 12 > b.length) throw new Error('png: truncated (no IEND chunk)');
    const len = be32(b, o);
    const type = ascii(b, o + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`png: invalid chunk type at offset ${o}`);
    if (len > 0x7fffffff || len > b.length - o - 12) throw new Error(`png: chunk ${type} at offset ${o} runs past the end of the file`);
    out.push({ type, start: o, data: o + 8, len, end: o + 12 + len });
    o += 12 + len;
    if (type === 'IEND') return out;
  }
}

/** First 0 byte in [from, end), or -1 (never scans past the chunk). */
function indexOfZero(b: Uint8Array, from: number, end: number): number {
  const i = b.subarray(from, end).indexOf(0);
  return i < 0 ? -1 : from + i;
}

/** Parse an iTXt payload; returns null when its keyword is not the XMP one. */
function xmpFromItxt(b: Uint8Array, c: Chunk): string | null {
  const end = c.data + c.len;
  const kwEnd = indexOfZero(b, c.data, end);
  if (kwEnd < 0) throw new Error('png: malformed iTXt chunk (no keyword terminator)');
  if (ascii(b, c.data, kwEnd - c.data) !== XMP_KEYWORD) return null;
  if (crc32(b, c.start + 4, end) !== be32(b, end)) throw new Error('png: XMP iTXt chunk has a bad CRC');
  let p = kwEnd + 1;
  if (p + 2 > end) throw new Error('png: malformed iTXt chunk');
  const compressed = b[p]!;
  const method = b[p + 1]!;
  p += 2;
  for (let k = 0; k < 2; k++) {
    // language tag, translated keyword
    const z = indexOfZero(b, p, end);
    if (z < 0) throw new Error('png: malformed iTXt chunk (unterminated field)');
    p = z + 1;
  }
  let text = b.subarray(p, end);
  if (compressed === 1) {
    if (method !== 0) throw new Error('png: iTXt uses an unknown compression method');
    try {
      text = inflateSync(text, { maxOutputLength: MAX_INFLATED });
    } catch (e) {
      throw new Error(`png: cannot inflate XMP iTXt (${(e as Error).message})`);
    }
  } else if (compressed !== 0) throw new Error('png: iTXt has an invalid compression flag');
  return decodeXmpText(text);
}

/** Every XMP packet stored in `XML:com.adobe.xmp` iTXt chunks, in file order. */
export function readPngXmp(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const c of walkChunks(bytes)) {
    if (c.type !== 'iTXt') continue;
    const x = xmpFromItxt(bytes, c);
    if (x !== null) out.push(x);
  }
  return out;
}

function itxtChunk(xmp: string): Uint8Array {
  const text = encodeUtf8(xmp);
  const head = XMP_KEYWORD.length + 1 + 2 + 1 + 1; // keyword\0, flag, method, lang\0, translated\0
  const len = head + text.length;
  const out = new Uint8Array(12 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  out.set([0x69, 0x54, 0x58, 0x74], 4); // iTXt
  for (let i = 0; i < XMP_KEYWORD.length; i++) out[8 + i] = XMP_KEYWORD.charCodeAt(i);
  // the five bytes after the keyword stay 0: terminator, uncompressed, method 0, empty language, empty translation
  out.set(text, 8 + head);
  dv.setUint32(8 + len, crc32(out, 4, 8 + len));
  return out;
}

/** `bytes` with exactly one XMP iTXt chunk holding `xmp`, placed right after IHDR. */
export function writePngXmp(bytes: Uint8Array, xmp: string): Uint8Array {
  const chunks = walkChunks(bytes);
  const ihdr = chunks[0];
  if (!ihdr || ihdr.type !== 'IHDR' || ihdr.len !== 13) throw new Error('png: first chunk is not a valid IHDR');
  if (!chunks.some((c) => c.type === 'IDAT')) throw new Error('png: no IDAT chunk');
  const edits: Edit[] = [{ start: ihdr.end, end: ihdr.end, insert: itxtChunk(xmp) }];
  for (const c of chunks) {
    if (c.type === 'iTXt' && xmpFromItxtKeywordOnly(bytes, c)) edits.push({ start: c.start, end: c.end });
  }
  return spliceBytes(bytes, edits);
}

/** Whether an iTXt chunk carries the XMP keyword (no CRC or body checks: it is being dropped anyway). */
function xmpFromItxtKeywordOnly(b: Uint8Array, c: Chunk): boolean {
  const n = XMP_KEYWORD.length;
  if (c.len < n + 1 || b[c.data + n] !== 0) return false;
  return ascii(b, c.data, n) === XMP_KEYWORD;
}
