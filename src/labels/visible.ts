// The explicit (visible) AI-content label of GB 45438-2025: the text "AI生成" in white on a dark, semi-opaque
// plate in the bottom-right corner of an image or video frame. Glyphs come from the bitmap font embedded in
// src/labels/font.ts (no system font at run time), scaled with exact area coverage so edges are smooth.
//   stampAigcMark      draws the mark in place on an RGBA image (engine outputs, video frames, overlays)
//   markGeometry       where the mark goes and how tall its text is, for a given image size
//   labelImageVisible  decode → stamp → re-encode a provider's PNG / JPEG / WebP / GIF (GIF becomes PNG)
// The rendered mark (coverage masks) is cached per image size, so stamping a video frame or a 1024² image
// only blends a few thousand pixels in the corner.

import * as jpeg from 'jpeg-js';
import webpEncFactory from '@jsquash/webp/codec/enc/webp_enc.js';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import webpEncWasmPath from '@jsquash/webp/codec/enc/webp_enc.wasm' with { type: 'file' };
import { encodePngSync } from '../engine/local/png';
import { decodeImage, sniffImage } from '../media';
import type { RGBAImage } from '../media/types';
import { GLYPH_ROWS, setText } from './font';

/** The label's text. */
export const MARK_TEXT = 'AI生成';

/** Text height aimed at, as a share of the shorter side; the standard's minimum is 5%. */
const TEXT_SHARE = 0.06;
const MIN_SHARE = 0.05;
/** Smallest text height (px) used where the image has room for it. */
const MIN_TEXT_PX = 8;
/** Margin between the plate and the image edges, as a share of the shorter side. */
const MARGIN_SHARE = 0.02;
/** Plate opacity (0–255): ~65%, dark enough for white text on white content, light enough to see through. */
const PLATE_ALPHA = 172;

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface MarkGeometry extends Rect {
  /** the text's ink height in pixels (the CJK glyphs' full height; the Latin capitals are 20/22 of it) */
  textHeight: number;
  /** where the text is drawn, inside the plate (image coordinates) */
  textBox: Rect;
}

const setLine = setText(MARK_TEXT);

interface Layout {
  textHeight: number;
  textWidth: number;
  padX: number;
  padY: number;
  margin: number;
}

function layoutFor(textHeight: number, margin: number, tight: boolean): Layout {
  return {
    textHeight,
    textWidth: Math.ceil((setLine.width * textHeight) / GLYPH_ROWS),
    // padding around the text: ~0.4 / 0.25 of the text height, at least one pixel
    padX: tight ? 1 : Math.max(2, Math.round(textHeight * 0.4)),
    padY: tight ? 1 : Math.max(1, Math.round(textHeight * 0.25)),
    margin,
  };
}

const fits = (l: Layout, width: number, height: number) =>
  l.textWidth + 2 * l.padX + 2 * l.margin <= width && l.textHeight + 2 * l.padY + 2 * l.margin <= height;

/** The largest layout that fits: ~6% of the shorter side (≥ 8 px when possible), shrunk only when the image is too small. */
function chooseLayout(width: number, height: number): Layout {
  const short = Math.min(width, height);
  const margin = Math.round(short * MARGIN_SHARE);
  const want = Math.max(MIN_TEXT_PX, Math.ceil(short * MIN_SHARE), Math.round(short * TEXT_SHARE));
  const largest = (tight: boolean) => {
    for (let t = want; t >= 1; t--) {
      const l = layoutFor(t, tight ? 0 : margin, tight);
      if (fits(l, width, height)) return l;
    }
    return null;
  };
  const normal = largest(false);
  if (normal && normal.textHeight === want) return normal;
  // a small image: without margin and with one-pixel padding the text may be larger (clipped if even 1 px does not fit)
  const tight = largest(true);
  if (normal && (!tight || normal.textHeight >= tight.textHeight)) return normal;
  return tight ?? layoutFor(1, 0, true);
}

/** Where the mark goes on a width × height image: the plate rectangle, the text box and the text height. */
export function markGeometry(width: number, height: number): MarkGeometry {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`markGeometry: invalid size ${width}x${height}`);
  }
  const l = chooseLayout(width, height);
  const w = l.textWidth + 2 * l.padX;
  const h = l.textHeight + 2 * l.padY;
  const x = width - l.margin - w;
  const y = height - l.margin - h;
  return { x, y, w, h, textHeight: l.textHeight, textBox: { x: x + l.padX, y: y + l.padY, w: l.textWidth, h: l.textHeight } };
}

// ------------------------------------------------------------------ rendering

/** For each target pixel along one axis: the source cells it covers and how much of each (sums to 1). */
function axisWeights(n: number, scale: number, srcN: number): { start: Int32Array; count: Int32Array; w: Float32Array; stride: number } {
  const stride = Math.ceil(1 / scale) + 2;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const w = new Float32Array(n * stride);
  for (let t = 0; t < n; t++) {
    const a = t / scale;
    const b = (t + 1) / scale;
    const c0 = Math.floor(a);
    start[t] = c0;
    let k = 0;
    for (let c = c0; c < b && k < stride; c++, k++) {
      const cover = Math.min(b, c + 1) - Math.max(a, c);
      w[t * stride + k] = c < srcN ? cover * scale : 0; // cells past the grid are empty
    }
    count[t] = k;
  }
  return { start, count, w, stride };
}

/**
 * Ink coverage (0–255) of the text at `textHeight` px: an exact box filter of the grid. Below the grid's own
 * size the coverage is boosted a little, so that 2-pixel strokes shrunk under one pixel stay visible.
 */
function renderText(textHeight: number, textWidth: number): Uint8Array {
  const scale = textHeight / GLYPH_ROWS;
  const cols = axisWeights(textWidth, scale, setLine.width);
  const rows = axisWeights(textHeight, scale, GLYPH_ROWS);
  const boost = scale < 1 ? 1 + (1 - scale) * 0.6 : 1;
  const out = new Uint8Array(textWidth * textHeight);
  const bits = setLine.bits;
  const W = setLine.width;
  for (let ty = 0; ty < textHeight; ty++) {
    for (let tx = 0; tx < textWidth; tx++) {
      let cov = 0;
      for (let j = 0; j < rows.count[ty]!; j++) {
        const sy = rows.start[ty]! + j;
        const wy = rows.w[ty * rows.stride + j]!;
        if (wy === 0) continue;
        let rowCov = 0;
        for (let i = 0; i < cols.count[tx]!; i++) {
          const sx = cols.start[tx]! + i;
          if (sx < W && bits[sy * W + sx]) rowCov += cols.w[tx * cols.stride + i]!;
        }
        cov += rowCov * wy;
      }
      out[ty * textWidth + tx] = Math.min(255, Math.round(cov * boost * 255));
    }
  }
  return out;
}

/** Plate opacity per pixel (0–255): PLATE_ALPHA with anti-aliased rounded corners. */
function renderPlate(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h).fill(PLATE_ALPHA);
  const r = Math.min(Math.floor(Math.min(w, h) / 2), Math.round(h * 0.2));
  if (r < 2) return out;
  for (let y = 0; y < r; y++) {
    for (let x = 0; x < r; x++) {
      const dx = r - (x + 0.5);
      const dy = r - (y + 0.5);
      const cover = Math.max(0, Math.min(1, r - Math.hypot(dx, dy) + 0.5));
      const a = Math.round(PLATE_ALPHA * cover);
      out[y * w + x] = a;
      out[y * w + (w - 1 - x)] = a;
      out[(h - 1 - y) * w + x] = a;
      out[(h - 1 - y) * w + (w - 1 - x)] = a;
    }
  }
  return out;
}

interface Overlay {
  geom: MarkGeometry;
  /** plate opacity, plate-local, w × h */
  plate: Uint8Array;
  /** text coverage, plate-local, w × h */
  text: Uint8Array;
  /** for opaque pixels: out = (c · keep + add) >> 16, keep = (1 − plate)(1 − text), add = 255 · text */
  keep: Uint32Array;
  add: Uint32Array;
}

const overlays = new Map<string, Overlay>();
const OVERLAY_CACHE = 16;

function overlayFor(width: number, height: number): Overlay {
  const key = `${width}x${height}`;
  const hit = overlays.get(key);
  if (hit) return hit;
  const geom = markGeometry(width, height);
  const { w, h, textBox } = geom;
  const plate = renderPlate(w, h);
  const text = new Uint8Array(w * h);
  const glyphs = renderText(textBox.h, textBox.w);
  const ox = textBox.x - geom.x;
  const oy = textBox.y - geom.y;
  for (let y = 0; y < textBox.h; y++) text.set(glyphs.subarray(y * textBox.w, (y + 1) * textBox.w), (oy + y) * w + ox);
  const keep = new Uint32Array(w * h);
  const add = new Uint32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    keep[i] = Math.round(((255 - plate[i]!) * (255 - text[i]!) * 65536) / (255 * 255));
    add[i] = text[i]! * 65536 + 32768;
  }
  const o: Overlay = { geom, plate, text, keep, add };
  if (overlays.size >= OVERLAY_CACHE) overlays.delete(overlays.keys().next().value!);
  overlays.set(key, o);
  return o;
}

/** Source-over of plate (black, alpha p) then text (white, alpha t) on a pixel that may be transparent. */
function blendAlpha(d: Uint8Array, o: number, p: number, t: number) {
  const da = d[o + 3]! / 255;
  const pa = p / 255;
  const ta = t / 255;
  const a1 = pa + da * (1 - pa);
  const a2 = ta + a1 * (1 - ta);
  if (a2 <= 0) return;
  // premultiplied colour after each step: plate adds none (black), text adds white
  const k = (da * (1 - pa) * (1 - ta)) / a2;
  const white = (255 * ta) / a2;
  d[o] = Math.round(d[o]! * k + white);
  d[o + 1] = Math.round(d[o + 1]! * k + white);
  d[o + 2] = Math.round(d[o + 2]! * k + white);
  d[o + 3] = Math.round(a2 * 255);
}

/** Draws "AI生成" (white text on a dark plate) in the bottom-right corner of `img`, in place. */
export function stampAigcMark(img: RGBAImage): void {
  const { width, height, data } = img;
  if (data.length < width * height * 4) throw new Error('stampAigcMark: data too short for dimensions');
  const ov = overlayFor(width, height);
  const { x, y, w, h } = ov.geom;
  // a tiny image can put the plate partly outside: clip
  const x0 = Math.max(0, -x);
  const y0 = Math.max(0, -y);
  for (let py = y0; py < h && y + py < height; py++) {
    let o = ((y + py) * width + x + x0) * 4;
    for (let px = x0, i = py * w + x0; px < w && x + px < width; px++, i++, o += 4) {
      if (data[o + 3] === 255) {
        const keep = ov.keep[i]!;
        const add = ov.add[i]!;
        data[o] = (data[o]! * keep + add) >>> 16;
        data[o + 1] = (data[o + 1]! * keep + add) >>> 16;
        data[o + 2] = (data[o + 2]! * keep + add) >>> 16;
      } else {
        blendAlpha(data, o, ov.plate[i]!, ov.text[i]!);
      }
    }
  }
}

// ------------------------------------------------------------------ files from providers

type WebpModule = { encode(data: Uint8Array, width: number, height: number, options: typeof webpDefaults): Uint8Array | null };

let webpEncoder: Promise<WebpModule> | null = null;
/** libwebp's encoder (WASM, the non-SIMD build so no feature probe is needed), compiled once per realm. */
function webpEnc(): Promise<WebpModule> {
  if (!webpEncoder) {
    webpEncoder = (async () => {
      const mod = await WebAssembly.compile(await Bun.file(webpEncWasmPath).arrayBuffer());
      const factory = webpEncFactory as unknown as (opts: Record<string, unknown>) => Promise<WebpModule>;
      return factory({
        noInitialRun: true,
        instantiateWasm: (imports: ConstructorParameters<typeof WebAssembly.Instance>[1], done: (i: WebAssembly.Instance) => void) => {
          const instance = new WebAssembly.Instance(mod, imports);
          done(instance);
          return instance.exports;
        },
      });
    })();
    webpEncoder.catch(() => (webpEncoder = null));
  }
  return webpEncoder;
}

async function encodeWebp(img: RGBAImage, quality: number): Promise<Uint8Array> {
  const enc = await webpEnc();
  const out = enc.encode(img.data, img.width, img.height, { ...webpDefaults, quality });
  if (!out) throw new Error('webp: encode failed');
  return out.slice();
}

const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** EXIF orientation (1–8) of a JPEG, 1 when absent or unreadable. */
export function jpegOrientation(b: Uint8Array): number {
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const m = b[o + 1]!;
    if (m === 0xda || m === 0xd9) break;
    const len = (b[o + 2]! << 8) | b[o + 3]!;
    if (m === 0xe1 && len >= 16 && String.fromCharCode(...b.subarray(o + 4, o + 10)) === 'Exif\0\0') {
      const t = o + 10; // TIFF header
      const le = b[t] === 0x49;
      const u16 = (p: number) => (le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!);
      const u32 = (p: number) => (le ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0 : be32(b, p));
      const ifd = t + u32(t + 4);
      if (ifd + 2 > b.length) return 1;
      const n = u16(ifd);
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        if (e + 12 > b.length) return 1;
        if (u16(e) === 0x0112) {
          const v = u16(e + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    o += 2 + len;
  }
  return 1;
}

/** The pixels as a viewer shows them, for an EXIF orientation (the re-encoded file carries no EXIF). */
export function applyOrientation(img: RGBAImage, orientation: number): RGBAImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: W, height: H } = img;
  const data = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice(); // Uint32 view needs alignment
  const swap = orientation >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const src = new Uint32Array(data.buffer, data.byteOffset, W * H);
  const out = new Uint8Array(w * h * 4);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break; // prettier-ignore
        case 3: sx = W - 1 - x; sy = H - 1 - y; break; // prettier-ignore
        case 4: sx = x; sy = H - 1 - y; break; // prettier-ignore
        case 5: sx = y; sy = x; break; // prettier-ignore
        case 6: sx = y; sy = H - 1 - x; break; // prettier-ignore
        case 7: sx = W - 1 - y; sy = H - 1 - x; break; // prettier-ignore
        default: sx = W - 1 - y; sy = x; // 8
      }
      dst[y * w + x] = src[sy * W + sx]!;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * A provider's image with the visible label: decoded, stamped, encoded again in its own format (PNG, JPEG at
 * quality 92, WebP lossy at quality 90); a GIF becomes a PNG of its first frame. A JPEG's EXIF orientation is
 * applied to the pixels first, so the mark lands in the corner a viewer sees as bottom-right.
 */
export async function labelImageVisible(bytes: Uint8Array): Promise<{ bytes: Uint8Array; kind: 'png' | 'jpeg' | 'webp' }> {
  const kind = sniffImage(bytes);
  if (!kind) throw new Error('labelImageVisible: not a PNG, JPEG, WebP or GIF image');
  let img = await decodeImage(bytes);
  if (kind === 'jpeg') img = applyOrientation(img, jpegOrientation(bytes));
  stampAigcMark(img);
  if (kind === 'jpeg') {
    const out = jpeg.encode({ width: img.width, height: img.height, data: img.data }, 92).data;
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), kind };
  }
  if (kind === 'webp') return { bytes: await encodeWebp(img, 90), kind };
  return { bytes: encodePngSync(img), kind: 'png' };
}

/** An image as PNG without the mark (a GIF's first frame, for the metadata label when AIGC_LABEL=metadata). */
export async function reencodeAsPng(bytes: Uint8Array): Promise<Uint8Array> {
  if (!sniffImage(bytes)) throw new Error('reencodeAsPng: not a PNG, JPEG, WebP or GIF image');
  return encodePngSync(await decodeImage(bytes));
}
