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

/** Build the filtered scanline stream (filter byte + Paeth residuals per row). */
function filterPaeth(src: Uint8Array, width: number, height: number, bpp: number, rgbaSrc: boolean): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array((stride + 1) * height);
  // Pack source rows into compact rows (drop alpha if bpp==3) in a rolling pair of buffers.
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const so = y * width * 4;
    if (rgbaSrc && bpp === 3) {
      for (let x = 0, s = so, d = 0; x < width; x++, s += 4, d += 3) {
        cur[d] = src[s]!;
        cur[d + 1] = src[s + 1]!;
        cur[d + 2] = src[s + 2]!;
      }
    } else {
      cur.set(src.subarray(so, so + stride));
    }
    let o = y * (stride + 1);
    out[o++] = 4; // Paeth
    if (y === 0) {
      // Paeth with zero "up" row degenerates to Sub.
      for (let i = 0; i < bpp; i++) out[o + i] = cur[i]!;
      for (let i = bpp; i < stride; i++) out[o + i] = (cur[i]! - cur[i - bpp]!) & 255;
    } else {
      for (let i = 0; i < bpp; i++) out[o + i] = (cur[i]! - prev[i]!) & 255;
      for (let i = bpp; i < stride; i++) {
        const a = cur[i - bpp]!;
        const b = prev[i]!;
        const c = prev[i - bpp]!;
        const p = a + b - c;
        let pa = p - a;
        if (pa < 0) pa = -pa;
        let pb = p - b;
        if (pb < 0) pb = -pb;
        let pc = p - c;
        if (pc < 0) pc = -pc;
        const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        out[o + i] = (cur[i]! - pred) & 255;
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return out;
}

function zlibCompress(raw: Uint8Array, level: number): Uint8Array {
  const deflated = Bun.deflateSync(raw as Uint8Array<ArrayBuffer>, { level: level as 1, library: 'libdeflate' });
  const out = new Uint8Array(deflated.length + 6);
  out[0] = 0x78;
  out[1] = 0x01;
  out.set(deflated, 2);
  const ad = adler32(raw);
  const e = out.length - 4;
  out[e] = ad >>> 24;
  out[e + 1] = (ad >>> 16) & 255;
  out[e + 2] = (ad >>> 8) & 255;
  out[e + 3] = ad & 255;
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

export function encodePngSync(img: RGBAImage, level = 3): Uint8Array {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodePng: invalid dimensions ${width}x${height}`);
  }
  if (data.length < width * height * 4) throw new Error('encodePng: data too short for dimensions');
  const opaque = isOpaque(data);
  const bpp = opaque ? 3 : 4;
  const filtered = filterPaeth(data, width, height, bpp, true);
  const idat = zlibCompress(filtered, level);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = opaque ? 2 : 6; // colour type: RGB / RGBA
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ];
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
