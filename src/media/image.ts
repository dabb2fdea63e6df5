// Image sniffing, header probing and full decoding for PNG / JPEG / WebP / GIF.
//   PNG  → fast-png (pure JS, unfilter + Adam7), sample conversion done here
//   JPEG → jpeg-js (pure JS, baseline + progressive)
//   GIF  → omggif (pure JS, first frame)
//   WebP → @jsquash/webp (libwebp compiled to WASM; the .wasm is imported as a file asset
//          so `bun build --compile` embeds it, and compiled once per JS realm/Worker)
// All decoders are wrapped so that corrupt/truncated input always surfaces as an Error.

import { decode as pngDecode } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { GifReader } from 'omggif';
import { init as webpInit, default as webpDecodeRaw } from '@jsquash/webp/decode.js';
import webpWasmPath from '@jsquash/webp/codec/dec/webp_dec.wasm' with { type: 'file' };
import type { ImageKind, RGBAImage } from './types';

/** Hard ceiling for anything we are asked to decode (pixels). Callers enforce their own lower limit via probeImageSize. */
const MAX_DECODE_PIXELS = 100_000_000;

export function sniffImage(bytes: Uint8Array): ImageKind | null {
  if (!bytes || bytes.length < 4) return null;
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a)
    return 'png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61)
    return 'gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50)
    return 'webp';
  return null;
}

const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const le16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const le24 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

function need(bytes: Uint8Array, n: number, what: string) {
  if (bytes.length < n) throw new Error(`${what}: truncated header`);
}

function checkDims(kind: string, w: number, h: number) {
  if (!(w > 0 && h > 0)) throw new Error(`${kind}: invalid dimensions ${w}x${h}`);
}

function probePng(b: Uint8Array) {
  need(b, 33, 'png');
  if (be32(b, 8) !== 13 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) throw new Error('png: first chunk is not IHDR');
  const w = be32(b, 16);
  const h = be32(b, 20);
  if (w > 0x7fffffff || h > 0x7fffffff) throw new Error('png: dimensions out of range');
  return { w, h };
}

function probeJpeg(b: Uint8Array) {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) throw new Error('jpeg: invalid marker structure');
    let m = b[o + 1]!;
    // fill bytes
    while (m === 0xff && o + 2 < b.length) {
      o++;
      m = b[o + 1]!;
    }
    o += 2;
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) continue; // standalone markers
    if (m === 0xd9 || m === 0xda) break; // EOI / SOS before any SOF
    if (o + 2 > b.length) break;
    const len = be16(b, o);
    if (len < 2) throw new Error('jpeg: invalid segment length');
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (o + 7 > b.length) break;
      return { w: be16(b, o + 5), h: be16(b, o + 3) };
    }
    o += len;
  }
  throw new Error('jpeg: no SOF marker found (truncated or corrupt)');
}

function probeGif(b: Uint8Array) {
  need(b, 10, 'gif');
  return { w: le16(b, 6), h: le16(b, 8) };
}

function probeWebp(b: Uint8Array) {
  need(b, 30, 'webp');
  const fourcc = String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!);
  if (fourcc === 'VP8 ') {
    // frame tag (3 bytes) + start code 9d 01 2a + 14-bit width/height
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw new Error('webp: bad VP8 start code');
    return { w: le16(b, 26) & 0x3fff, h: le16(b, 28) & 0x3fff };
  }
  if (fourcc === 'VP8L') {
    if (b[20] !== 0x2f) throw new Error('webp: bad VP8L signature');
    const bits = le32(b, 21);
    return { w: (bits & 0x3fff) + 1, h: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (fourcc === 'VP8X') {
    return { w: le24(b, 24) + 1, h: le24(b, 27) + 1 };
  }
  throw new Error(`webp: unknown chunk '${fourcc}'`);
}

export function probeImageSize(bytes: Uint8Array): { kind: ImageKind; width: number; height: number } {
  const kind = sniffImage(bytes);
  if (!kind) throw new Error('unrecognised image format');
  const { w, h } =
    kind === 'png' ? probePng(bytes) : kind === 'jpeg' ? probeJpeg(bytes) : kind === 'gif' ? probeGif(bytes) : probeWebp(bytes);
  checkDims(kind, w, h);
  return { kind, width: w, height: h };
}

// ---------------------------------------------------------------- PNG

/** Walk the chunk list: every chunk must fit in the buffer and IEND must be present. */
function validatePngStructure(b: Uint8Array) {
  let o = 8;
  let sawIdat = false;
  while (true) {
    if (o + 12 > b.length) throw new Error('png: truncated (missing IEND)');
    const len = be32(b, o);
    const type = String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);
    if (len > 0x7fffffff || o + 12 + len > b.length) throw new Error(`png: truncated chunk ${type}`);
    if (type === 'IDAT') sawIdat = true;
    if (type === 'IEND') break;
    o += 12 + len;
  }
  if (!sawIdat) throw new Error('png: no IDAT chunk');
}

/**
 * Fast path for the most common upload (and what this engine writes): 8-bit RGB / RGBA, not interlaced,
 * no tRNS. Inflate is native (Bun's zlib) and the unfiltering goes straight into RGBA, instead of
 * fast-png's JS inflate. Returns null for anything else (fast-png handles it).
 */
function decodePngFast(b: Uint8Array): RGBAImage | null {
  if (be32(b, 8) !== 13 || String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') return null;
  const width = be32(b, 16),
    height = be32(b, 20);
  const depth = b[24]!,
    colorType = b[25]!;
  if (depth !== 8 || (colorType !== 2 && colorType !== 6) || b[26] !== 0 || b[27] !== 0 || b[28] !== 0) return null;
  if (width < 1 || height < 1 || width * height > MAX_DECODE_PIXELS) return null;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let o = 8; o + 12 <= b.length; ) {
    const len = be32(b, o);
    const type = String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);
    if (type === 'tRNS') return null;
    if (type === 'IDAT') {
      parts.push(b.subarray(o + 8, o + 8 + len));
      total += len;
    }
    if (type === 'IEND') break;
    o += 12 + len;
  }
  let z: Uint8Array;
  if (parts.length === 1) z = parts[0]!;
  else {
    z = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      z.set(p, o);
      o += p.length;
    }
  }
  if (z.length < 2 || (z[0]! & 0x0f) !== 8 || ((z[0]! << 8) | z[1]!) % 31 !== 0) throw new Error('png: bad zlib header');
  let raw: Uint8Array;
  try {
    raw = Bun.inflateSync(z.subarray(2) as Uint8Array<ArrayBuffer>); // raw DEFLATE after the 2-byte zlib header
  } catch (e) {
    throw new Error(`png: corrupt image data (${(e as Error).message})`);
  }
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  if (raw.length < (stride + 1) * height) throw new Error('png: decoded data too short');
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const ro = y * (stride + 1);
    const ft = raw[ro]!;
    const r = ro + 1;
    switch (ft) {
      case 0:
        for (let i = 0; i < stride; i++) cur[i] = raw[r + i]!;
        break;
      case 1:
        for (let i = 0; i < bpp; i++) cur[i] = raw[r + i]!;
        for (let i = bpp; i < stride; i++) cur[i] = raw[r + i]! + cur[i - bpp]!;
        break;
      case 2:
        for (let i = 0; i < stride; i++) cur[i] = raw[r + i]! + prev[i]!;
        break;
      case 3:
        for (let i = 0; i < bpp; i++) cur[i] = raw[r + i]! + (prev[i]! >> 1);
        for (let i = bpp; i < stride; i++) cur[i] = raw[r + i]! + ((cur[i - bpp]! + prev[i]!) >> 1);
        break;
      case 4:
        for (let i = 0; i < bpp; i++) cur[i] = raw[r + i]! + prev[i]!;
        for (let i = bpp; i < stride; i++) {
          const a = cur[i - bpp]!,
            bb = prev[i]!,
            c = prev[i - bpp]!;
          const p = a + bb - c;
          const pa = p > a ? p - a : a - p;
          const pb = p > bb ? p - bb : bb - p;
          const pc = p > c ? p - c : c - p;
          cur[i] = raw[r + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? bb : c);
        }
        break;
      default:
        throw new Error(`png: bad filter type ${ft}`);
    }
    const oo = y * width * 4;
    if (bpp === 4) out.set(cur, oo);
    else
      for (let x = 0, s = 0, d = oo; x < width; x++, s += 3, d += 4) {
        out[d] = cur[s]!;
        out[d + 1] = cur[s + 1]!;
        out[d + 2] = cur[s + 2]!;
        out[d + 3] = 255;
      }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return { width, height, data: out };
}

function decodePng(bytes: Uint8Array): RGBAImage {
  validatePngStructure(bytes);
  const fast = decodePngFast(bytes);
  if (fast) return fast;
  const png = pngDecode(bytes);
  const { width, height, depth, channels } = png;
  const n = width * height;
  const out = new Uint8Array(n * 4);
  const src = png.data;
  if (png.palette) {
    // indexed: unpack indices (depth 1/2/4/8), map through palette + tRNS alpha
    const pal = png.palette;
    const trns = png.transparency;
    const lut = new Uint8Array(256 * 4);
    for (let i = 0; i < 256; i++) {
      const c = pal[i];
      lut[i * 4] = c ? c[0]! : 0;
      lut[i * 4 + 1] = c ? c[1]! : 0;
      lut[i * 4 + 2] = c ? c[2]! : 0;
      lut[i * 4 + 3] = c && c.length > 3 ? c[3]! : trns && i < trns.length ? trns[i]! : 255;
    }
    const rowBytes = Math.ceil((width * depth) / 8);
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * depth;
        const byte = src[y * rowBytes + (bit >> 3)]!;
        const idx = (byte >> (8 - depth - (bit & 7))) & mask;
        const o = (y * width + x) * 4;
        out[o] = lut[idx * 4]!;
        out[o + 1] = lut[idx * 4 + 1]!;
        out[o + 2] = lut[idx * 4 + 2]!;
        out[o + 3] = lut[idx * 4 + 3]!;
      }
    }
    return { width, height, data: out };
  }
  const trns = png.transparency; // colour key for gray / RGB images (in sample units)
  if (depth < 8) {
    // grayscale with sub-byte samples (channels must be 1)
    const rowBytes = Math.ceil((width * depth) / 8);
    const mask = (1 << depth) - 1;
    const scale = 255 / mask;
    const key = trns && trns.length >= 1 ? trns[0]! : -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * depth;
        const v = (src[y * rowBytes + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
        const g = Math.round(v * scale);
        const o = (y * width + x) * 4;
        out[o] = out[o + 1] = out[o + 2] = g;
        out[o + 3] = v === key ? 0 : 255;
      }
    }
    return { width, height, data: out };
  }
  const shift = depth === 16 ? 8 : 0;
  if (src.length < n * channels) throw new Error('png: decoded data too short');
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 4) {
    let r: number, g: number, b: number, a: number;
    if (channels === 1) {
      r = g = b = src[s]! >> shift;
      a = 255;
      if (trns && trns.length >= 1 && src[s] === trns[0]) a = 0;
    } else if (channels === 2) {
      r = g = b = src[s]! >> shift;
      a = src[s + 1]! >> shift;
    } else if (channels === 3) {
      r = src[s]! >> shift;
      g = src[s + 1]! >> shift;
      b = src[s + 2]! >> shift;
      a = 255;
      if (trns && trns.length >= 3 && src[s] === trns[0] && src[s + 1] === trns[1] && src[s + 2] === trns[2]) a = 0;
    } else {
      r = src[s]! >> shift;
      g = src[s + 1]! >> shift;
      b = src[s + 2]! >> shift;
      a = src[s + 3]! >> shift;
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
    out[o + 3] = a;
  }
  return { width, height, data: out };
}

// ---------------------------------------------------------------- JPEG

function decodeJpeg(bytes: Uint8Array): RGBAImage {
  // jpeg-js silently tolerates missing data; insist on an EOI marker after the first SOS.
  let sos = -1;
  for (let i = 2; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xda) {
      sos = i;
      break;
    }
  }
  if (sos < 0) throw new Error('jpeg: no scan data (truncated or corrupt)');
  let eoi = false;
  for (let i = bytes.length - 2; i > sos; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) {
      eoi = true;
      break;
    }
  }
  if (!eoi) throw new Error('jpeg: truncated (missing EOI marker)');
  const r = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    tolerantDecoding: false,
    maxResolutionInMP: MAX_DECODE_PIXELS / 1e6,
    maxMemoryUsageInMB: 2048,
  });
  if (!r || !r.width || !r.height || r.data.length < r.width * r.height * 4) throw new Error('jpeg: decode failed');
  return { width: r.width, height: r.height, data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.width * r.height * 4) };
}

// ---------------------------------------------------------------- GIF

function decodeGif(bytes: Uint8Array): RGBAImage {
  const reader = new GifReader(bytes);
  if (reader.numFrames() < 1) throw new Error('gif: no frames');
  const { width, height } = reader;
  const info = reader.frameInfo(0);
  if (info.data_offset + info.data_length > bytes.length) throw new Error('gif: truncated frame data');
  const data = new Uint8Array(width * height * 4); // transparent black background
  reader.decodeAndBlitFrameRGBA(0, data);
  return { width, height, data };
}

// ---------------------------------------------------------------- WebP

let webpReady: Promise<void> | null = null;
function ensureWebp(): Promise<void> {
  if (!webpReady) {
    webpReady = (async () => {
      const buf = await Bun.file(webpWasmPath).arrayBuffer();
      const mod = await WebAssembly.compile(buf);
      await webpInit(mod as unknown as Parameters<typeof webpInit>[0]);
    })();
    webpReady.catch(() => {
      webpReady = null;
    });
  }
  return webpReady;
}

async function decodeWebp(bytes: Uint8Array): Promise<RGBAImage> {
  need(bytes, 20, 'webp');
  const riffSize = le32(bytes, 4);
  if (riffSize + 8 > bytes.length) throw new Error('webp: truncated (RIFF size exceeds data)');
  await ensureWebp();
  const copy = bytes.slice().buffer; // decoder wants an ArrayBuffer it may read freely
  let r: { width: number; height: number; data: Uint8ClampedArray | Uint8Array };
  try {
    r = (await webpDecodeRaw(copy)) as unknown as typeof r;
  } catch (e) {
    throw new Error(`webp: decode failed (${(e as Error)?.message ?? e})`);
  }
  if (!r || !r.width || !r.height) throw new Error('webp: decode failed');
  return { width: r.width, height: r.height, data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.width * r.height * 4).slice() };
}

// ---------------------------------------------------------------- public

export async function decodeImage(bytes: Uint8Array): Promise<RGBAImage> {
  const { kind, width, height } = probeImageSize(bytes);
  if (width * height > MAX_DECODE_PIXELS) throw new Error(`${kind}: image too large (${width}x${height})`);
  let img: RGBAImage;
  try {
    if (kind === 'webp') img = await decodeWebp(bytes);
    else if (kind === 'png') img = decodePng(bytes);
    else if (kind === 'jpeg') img = decodeJpeg(bytes);
    else img = decodeGif(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(msg.startsWith(kind) ? msg : `${kind}: ${msg}`);
  }
  if (img.width <= 0 || img.height <= 0 || img.data.length !== img.width * img.height * 4) throw new Error(`${kind}: decode produced invalid image`);
  return img;
}
