// Minimal, fast PNG encoder: 8-bit RGB (opaque images) or RGBA, one IDAT chunk.
// Filtering: "Paeth" on every row (cheap integer loop, good for gradients/noise).
// Compression: Bun's built-in libdeflate (raw DEFLATE) wrapped in a zlib header + Adler-32.

import type { RGBAImage } from '../../media/types';

/** CRC-32 of buf[start, end) (PNG chunk checksums), by the runtime's native implementation. */
const crc32 = (buf: Uint8Array, start = 0, end = buf.length): number => Bun.hash.crc32(buf.subarray(start, end));

function adler32(buf: Uint8Array): number {
  let a = 1;
  let b = 0;
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const end = Math.min(i + 5552, n);
    for (; i < end; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function isOpaque(data: Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/**
 * The filtered scanline stream (filter byte 4 + Paeth residuals per row), read straight from the RGBA source
 * (bpp 3 drops alpha). Paeth in the form |b − c|, |a − c|, |a + b − 2c| (= |p − a|, |p − b|, |p − c|).
 */
function filterPaeth(src: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array((stride + 1) * height);
  const sw = width * 4;
  for (let y = 0; y < height; y++) {
    let o = y * (stride + 1);
    out[o++] = 4; // Paeth
    const s0 = y * sw;
    if (y === 0) {
      // Paeth with a zero "up" row is Sub
      for (let ch = 0; ch < bpp; ch++, o++) out[o] = src[s0 + ch]!;
      for (let s = s0 + 4, e = s0 + sw; s < e; s += 4) for (let ch = 0; ch < bpp; ch++, o++) out[o] = src[s + ch]! - src[s + ch - 4]!;
      continue;
    }
    for (let ch = 0; ch < bpp; ch++, o++) out[o] = src[s0 + ch]! - src[s0 + ch - sw]!;
    for (let s = s0 + 4, e = s0 + sw; s < e; s += 4) {
      for (let i = s, ie = s + bpp; i < ie; i++, o++) {
        const a = src[i - 4]!;
        const b = src[i - sw]!;
        const c = src[i - sw - 4]!;
        let pa = b - c;
        let pb = a - c;
        let pc = pa + pb;
        if (pa < 0) pa = -pa;
        if (pb < 0) pb = -pb;
        if (pc < 0) pc = -pc;
        out[o] = src[i]! - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c); // stored mod 256
      }
    }
  }
  return out;
}

export function encodePngSync(img: RGBAImage, level = 3): Uint8Array {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodePng: invalid dimensions ${width}x${height}`);
  }
  if (data.length < width * height * 4) throw new Error('encodePng: data too short for dimensions');
  const opaque = isOpaque(data);
  const filtered = filterPaeth(data, width, height, opaque ? 3 : 4);
  const deflated = Bun.deflateSync(filtered as Uint8Array<ArrayBuffer>, { level: level as 1, library: 'libdeflate' });
  // signature, IHDR, IDAT (zlib header + raw DEFLATE + Adler-32), IEND written into one buffer
  const idatLen = deflated.length + 6;
  const out = new Uint8Array(8 + 25 + 12 + idatLen + 12);
  const dv = new DataView(out.buffer);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  let o = 8;
  const chunkStart = (type: string, len: number) => {
    dv.setUint32(o, len);
    for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
    o += 8;
  };
  const chunkEnd = (len: number) => {
    dv.setUint32(o + len, crc32(out, o - 4, o + len));
    o += len + 4;
  };
  chunkStart('IHDR', 13);
  dv.setUint32(o, width);
  dv.setUint32(o + 4, height);
  out[o + 8] = 8; // bit depth
  out[o + 9] = opaque ? 2 : 6; // colour type: RGB / RGBA
  // compression, filter and interlace methods: 0
  chunkEnd(13);
  chunkStart('IDAT', idatLen);
  out[o] = 0x78;
  out[o + 1] = 0x01;
  out.set(deflated, o + 2);
  dv.setUint32(o + idatLen - 4, adler32(filtered));
  chunkEnd(idatLen);
  chunkStart('IEND', 0);
  chunkEnd(0);
  return out;
}
