// WebP carrier of the XMP label: an `XMP ` chunk at the end of the RIFF, with the XMP flag (0x04) set in
// VP8X. A simple lossy (`VP8 `) or lossless (`VP8L`) file gets a VP8X chunk first, its canvas size taken
// from the bitstream header (and the alpha flag from VP8L's alpha bit or an ALPH chunk). Writing drops
// every existing `XMP ` chunk, pads chunks to even size and fixes the RIFF size; bytes after the RIFF are
// kept as they were. Reading bounds-checks every chunk against the RIFF size.

import { ascii, decodeXmpText, encodeUtf8, spliceBytes, type Edit } from './xmp';

const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const FLAG_XMP = 0x04;
const FLAG_ALPHA = 0x10;

interface Chunk {
  type: string;
  start: number; // offset of the FourCC
  data: number;
  len: number; // payload length (without padding)
  end: number; // after the padding byte (clamped to the RIFF end when a writer left the last pad out)
}

interface Riff {
  end: number; // 8 + RIFF size
  chunks: Chunk[];
}

function walkRiff(b: Uint8Array): Riff {
  if (b.length < 12 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') throw new Error('webp: not a WebP file (bad RIFF header)');
  const size = le32(b, 4);
  if (size < 4 || size > b.length - 8) throw new Error('webp: truncated (RIFF size exceeds the data)');
  const end = 8 + size;
  const chunks: Chunk[] = [];
  let o = 12;
  while (o < end) {
    if (o + 8 > end) throw new Error(`webp: truncated chunk header at offset ${o}`);
    const type = ascii(b, o, 4);
    const len = le32(b, o + 4);
    if (len > end - o - 8) throw new Error(`webp: chunk '${type}' at offset ${o} runs past the end of the RIFF`);
    const next = Math.min(o + 8 + len + (len & 1), end);
    chunks.push({ type, start: o, data: o + 8, len, end: next });
    o = next;
  }
  if (!chunks.length) throw new Error('webp: no chunks');
  return { end, chunks };
}

/** Every `XMP ` chunk payload in file order. */
export function readWebpXmp(bytes: Uint8Array): string[] {
  return walkRiff(bytes)
    .chunks.filter((c) => c.type === 'XMP ')
    .map((c) => decodeXmpText(bytes.subarray(c.data, c.data + c.len)));
}

function chunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length + (payload.length & 1));
  for (let i = 0; i < 4; i++) out[i] = type.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/** Canvas size and alpha of a simple-format file, read from its first (image) chunk. */
function simpleCanvas(b: Uint8Array, riff: Riff): { w: number; h: number; alpha: boolean } {
  const c = riff.chunks[0]!;
  if (c.type === 'VP8 ') {
    // frame tag (3 bytes, bit 0 clear = key frame), start code 9d 01 2a, 14-bit width and height
    if (c.len < 10) throw new Error('webp: VP8 chunk too short');
    const d = c.data;
    if (b[d]! & 1) throw new Error('webp: VP8 bitstream does not start with a key frame');
    if (b[d + 3] !== 0x9d || b[d + 4] !== 0x01 || b[d + 5] !== 0x2a) throw new Error('webp: bad VP8 start code');
    const w = (b[d + 6]! | (b[d + 7]! << 8)) & 0x3fff;
    const h = (b[d + 8]! | (b[d + 9]! << 8)) & 0x3fff;
    if (!w || !h) throw new Error('webp: VP8 frame has zero size');
    return { w, h, alpha: riff.chunks.some((x) => x.type === 'ALPH') };
  }
  if (c.type === 'VP8L') {
    if (c.len < 5 || b[c.data] !== 0x2f) throw new Error('webp: bad VP8L signature');
    const bits = le32(b, c.data + 1);
    if (bits >>> 29 !== 0) throw new Error('webp: unknown VP8L version');
    return { w: (bits & 0x3fff) + 1, h: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 };
  }
  throw new Error(`webp: unexpected first chunk '${c.type}'`);
}

function vp8x(w: number, h: number, flags: number): Uint8Array {
  const p = new Uint8Array(10);
  p[0] = flags;
  p[4] = (w - 1) & 0xff;
  p[5] = ((w - 1) >> 8) & 0xff;
  p[6] = ((w - 1) >> 16) & 0xff;
  p[7] = (h - 1) & 0xff;
  p[8] = ((h - 1) >> 8) & 0xff;
  p[9] = ((h - 1) >> 16) & 0xff;
  return chunk('VP8X', p);
}

/** `bytes` with exactly one `XMP ` chunk holding `xmp` (last in the RIFF) and the VP8X XMP flag set. */
export function writeWebpXmp(bytes: Uint8Array, xmp: string): Uint8Array {
  const riff = walkRiff(bytes);
  const first = riff.chunks[0]!;
  const edits: Edit[] = [];
  let flagAt = -1; // offset of the VP8X flags byte in the output
  if (first.type === 'VP8X') {
    if (first.len < 10) throw new Error('webp: VP8X chunk too short');
    flagAt = first.data;
  } else {
    const { w, h, alpha } = simpleCanvas(bytes, riff);
    edits.push({ start: 12, end: 12, insert: vp8x(w, h, FLAG_XMP | (alpha ? FLAG_ALPHA : 0)) });
  }
  for (const c of riff.chunks) if (c.type === 'XMP ') edits.push({ start: c.start, end: c.end });
  const last = riff.chunks[riff.chunks.length - 1]!;
  // a last chunk whose pad byte was left out gets one, so the new chunk starts on an even offset
  const pad = (last.end - last.start) & 1 && last.type !== 'XMP ' ? new Uint8Array(1) : null;
  const xmpChunk = chunk('XMP ', encodeUtf8(xmp));
  edits.push({ start: riff.end, end: riff.end, insert: pad ? concat(pad, xmpChunk) : xmpChunk });
  const out = spliceBytes(bytes, edits);
  if (flagAt >= 0) out[flagAt] = out[flagAt]! | FLAG_XMP;
  const riffEnd = out.length - (bytes.length - riff.end);
  new DataView(out.buffer).setUint32(4, riffEnd - 8, true);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
