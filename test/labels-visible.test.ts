// The visible AI-content label ("AI生成", GB 45438-2025 explicit label), checked through real pixels: the mark
// drawn in place (plate and text present, text at least 5% of the shorter side, nothing outside the plate
// touched), the engine drawing it on images and on every video frame, providers' images re-encoded with it,
// and providers' videos burnt with it by ffmpeg. Videos are decoded by ffmpeg and counted by ffprobe, both
// independent of the code under test.
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';
import { GifWriter } from 'omggif';
import { runLocalEngine, type EngineInput } from '../src/engine/local/index.ts';
import { encodePngSync } from '../src/engine/local/png.ts';
import { GLYPH_ROWS, fontCharacters, glyph, setText } from '../src/labels/font.ts';
import { TEMP_PREFIX, burnVideoMark, findFfmpeg, sampleVideoFrames } from '../src/labels/ffmpeg.ts';
import { labelImageVisible, markGeometry, reencodeAsPng, stampAigcMark, type MarkGeometry } from '../src/labels/visible.ts';
import { decodeImage, sniffImage } from '../src/media/index.ts';
import { createLocalProvider } from '../src/providers/local.ts';
import { recordingLogger } from './support/logs.ts';
import type { RGBAImage } from '../src/media/types.ts';
import { ffmpegPath, probeVideo } from './support/ffprobe.ts';

setDefaultTimeout(60_000);

// ------------------------------------------------------------------ helpers

const luma = (d: Uint8Array, o: number) => (d[o]! * 299 + d[o + 1]! * 587 + d[o + 2]! * 114) / 1000;

function solid(width: number, height: number, v: number): RGBAImage {
  const data = new Uint8Array(width * height * 4).fill(v);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

/** A bright image with some structure, so that codecs have something to do. */
function bright(width: number, height: number): RGBAImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = 225 + ((x * 30) / width) | 0;
      data[o + 1] = 225 + ((y * 30) / height) | 0;
      data[o + 2] = (x >> 4) & 1 ? 250 : 235;
      data[o + 3] = 255;
    }
  return { width, height, data };
}

interface MarkFacts {
  /** text-white pixels (luma ≥ 235) in the text box */
  white: number;
  /** plate-dark pixels (luma ≤ `dark`) in the text box */
  dark: number;
  /** rows (inside the plate, text-box columns) holding text-white pixels: last − first + 1 */
  textRows: number;
}

/** Counts what is drawn in the geometry's boxes of an RGBA buffer. */
function measure(data: Uint8Array, width: number, g: MarkGeometry, o: { white?: number; dark?: number } = {}): MarkFacts {
  const wt = o.white ?? 235;
  const dk = o.dark ?? 120;
  let white = 0;
  let dark = 0;
  let first = -1;
  let last = -1;
  const tb = g.textBox;
  for (let y = g.y; y < g.y + g.h; y++) {
    let rowWhite = false;
    for (let x = tb.x; x < tb.x + tb.w; x++) {
      const l = luma(data, (y * width + x) * 4);
      const inText = y >= tb.y && y < tb.y + tb.h;
      if (l >= wt) {
        rowWhite = true;
        if (inText) white++;
      } else if (l <= dk && inText) dark++;
    }
    if (rowWhite) {
      if (first < 0) first = y;
      last = y;
    }
  }
  return { white, dark, textRows: first < 0 ? 0 : last - first + 1 };
}

const inRect = (x: number, y: number, r: { x: number; y: number; w: number; h: number }) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;

/** Pixels that differ between two same-size RGBA buffers, split by inside/outside a rectangle. */
function diffAround(a: Uint8Array, b: Uint8Array, width: number, height: number, r: MarkGeometry) {
  let inside = 0;
  let outside = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (a[o] !== b[o] || a[o + 1] !== b[o + 1] || a[o + 2] !== b[o + 2] || a[o + 3] !== b[o + 3]) {
        if (inRect(x, y, r)) inside++;
        else outside++;
      }
    }
  return { inside, outside };
}

/** Runs ffmpeg on a temp copy of `input` (named in.<ext>; files, not pipes: ffmpeg 4.1 probes WebP only by name). */
function ffmpeg(input: Uint8Array | null, ext: string, args: string[], outName: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'labels-test-'));
  try {
    if (input) writeFileSync(join(dir, `in.${ext}`), input);
    const p = Bun.spawnSync([ffmpegPath, '-hide_banner', '-loglevel', 'error', ...(input ? ['-i', `in.${ext}`] : []), ...args, '-y', outName], { cwd: dir });
    if (p.exitCode !== 0) throw new Error(`ffmpeg failed: ${p.stderr.toString()}`);
    return new Uint8Array(readFileSync(join(dir, outName)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const EXT: Record<string, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', gif: 'gif' };

/** Decodes an image or video with ffmpeg into RGBA frames of the given size (independent of our decoders). */
function ffDecode(bytes: Uint8Array, width: number, height: number): Uint8Array[] {
  const out = ffmpeg(bytes, EXT[sniffImage(bytes) ?? ''] ?? 'mp4', ['-f', 'rawvideo', '-pix_fmt', 'rgba'], 'out.rgba');
  const size = width * height * 4;
  expect(out.length % size).toBe(0);
  return Array.from({ length: out.length / size }, (_, i) => out.subarray(i * size, (i + 1) * size));
}

/** A WebP made by ffmpeg's libwebp (an independent encoder for test inputs). */
const ffWebp = (png: Uint8Array) => ffmpeg(png, 'png', ['-c:v', 'libwebp', '-quality', '90'], 'out.webp');

const run = (type: EngineInput['type'], prompt: string, parameters: Record<string, unknown>, visibleLabel: boolean, references: Uint8Array[] = []) =>
  runLocalEngine({ type, prompt, parameters, references, visibleLabel });

const SIZES: [number, number][] = [
  [64, 64],
  [512, 512],
  [1024, 768],
  [3000, 200],
];

// ------------------------------------------------------------------ font

describe('font', () => {
  test('has exactly the glyphs of "AI生成", each a full grid with ink', () => {
    expect(fontCharacters().sort()).toEqual(['A', 'I', '生', '成'].sort());
    for (const ch of fontCharacters()) {
      const g = glyph(ch);
      expect(g.height).toBe(GLYPH_ROWS);
      expect(g.bits.length).toBe(g.width * g.height);
      expect(g.advance).toBeGreaterThan(g.width);
      const ink = g.bits.reduce((s, b) => s + b, 0);
      expect(ink).toBeGreaterThan(g.width * 2); // a real glyph, not an empty box
      expect(ink).toBeLessThan(g.bits.length / 2);
    }
    // the CJK glyphs use the whole height (so the text's height is the grid's), the Latin capitals stand on the baseline
    for (const ch of ['生', '成']) {
      const g = glyph(ch);
      expect(g.bits.subarray(0, g.width).some((b) => b === 1)).toBe(true);
      expect(g.bits.subarray((GLYPH_ROWS - 1) * g.width).some((b) => b === 1)).toBe(true);
    }
    expect(() => glyph('X')).toThrow();
    const line = setText('AI生成');
    expect(line.width).toBe(['A', 'I', '生', '成'].reduce((w, c) => w + glyph(c).advance, 0) - (glyph('成').advance - glyph('成').width));
  });
});

// ------------------------------------------------------------------ stamping

describe('stampAigcMark', () => {
  for (const [w, h] of SIZES) {
    for (const bg of [255, 0]) {
      test(`${w}x${h} on ${bg ? 'white' : 'black'}: plate and text in the corner, text ≥ 5% of the shorter side, nothing else touched`, () => {
        const img = solid(w, h, bg);
        const before = img.data.slice();
        stampAigcMark(img);
        const g = markGeometry(w, h);
        const short = Math.min(w, h);
        // bottom-right, inside the image, with a margin of about 2% of the shorter side
        expect(g.x).toBeGreaterThanOrEqual(0);
        expect(g.y).toBeGreaterThanOrEqual(0);
        expect(w - (g.x + g.w)).toBe(Math.round(short * 0.02));
        expect(h - (g.y + g.h)).toBe(Math.round(short * 0.02));
        expect(g.x + g.w / 2).toBeGreaterThan(w / 2);
        expect(g.y + g.h / 2).toBeGreaterThan(h / 2);
        const f = measure(img.data, w, g);
        const area = g.textBox.w * g.textBox.h;
        // both the text and the plate cover a real share of the text box
        expect(f.white).toBeGreaterThan(area * 0.15);
        expect(f.dark).toBeGreaterThan(area * 0.3);
        expect(f.textRows).toBeGreaterThanOrEqual(0.05 * short);
        expect(f.textRows).toBeGreaterThanOrEqual(Math.min(8, 0.05 * short));
        expect(f.textRows).toBe(g.textHeight);
        expect(g.textHeight).toBeLessThanOrEqual(Math.max(8, Math.ceil(0.065 * short)));
        // the plate darkens: on white it is clearly grey, on black it stays black; the text is white and opaque
        const mid = ((g.y + Math.floor(g.h / 2)) * w + g.x + 2) * 4; // plate, left of the text
        if (bg === 255) {
          expect(luma(img.data, mid)).toBeGreaterThan(255 * 0.25);
          expect(luma(img.data, mid)).toBeLessThan(255 * 0.45);
        } else expect(luma(img.data, mid)).toBe(0);
        const d = diffAround(before, img.data, w, h, g);
        expect(d.outside).toBe(0);
        // on white the whole plate changes, on black only the text
        expect(d.inside).toBeGreaterThan(g.w * g.h * (bg ? 0.8 : 0.15));
        for (let i = 3; i < img.data.length; i += 4) if (img.data[i] !== 255) throw new Error('alpha changed');
      });
    }
  }

  test('text height ≥ 5% of the shorter side and the plate inside the image, for many sizes; tiny images still get a mark', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n) + 1;
    const sizes: [number, number][] = [[40, 40], [41, 4000], [4000, 41], [4096, 4096], [1, 1], [5, 9], [16, 16], [30, 12], [2, 500]];
    for (let i = 0; i < 200; i++) sizes.push([rnd(4096), rnd(4096)]);
    for (const [w, h] of sizes) {
      const g = markGeometry(w, h);
      const short = Math.min(w, h);
      expect(g.textHeight).toBeGreaterThanOrEqual(1);
      if (short >= 40) {
        expect(g.textHeight).toBeGreaterThanOrEqual(0.05 * short);
        expect(g.textHeight).toBeGreaterThanOrEqual(8);
        expect(g.x).toBeGreaterThanOrEqual(0);
        expect(g.y).toBeGreaterThanOrEqual(0);
        expect(g.x + g.w).toBeLessThanOrEqual(w);
        expect(g.y + g.h).toBeLessThanOrEqual(h);
      }
      if (w * h <= 300_000) {
        const img = solid(w, h, 255);
        stampAigcMark(img); // never throws, clips where it must
        if (short >= 16 && measure(img.data, w, g, { white: 180 }).white === 0) throw new Error(`no text on ${w}x${h}: ${JSON.stringify(g)}`);
      }
    }
    expect(() => markGeometry(0, 10)).toThrow();
  });

  test('on a transparent canvas the plate is semi-opaque black and the text opaque white (the video overlay)', () => {
    const img: RGBAImage = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 4) };
    stampAigcMark(img);
    const g = markGeometry(320, 240);
    const plate = ((g.y + Math.floor(g.h / 2)) * 320 + g.x + 2) * 4;
    expect(img.data[plate + 3]! / 255).toBeGreaterThanOrEqual(0.6);
    expect(img.data[plate + 3]! / 255).toBeLessThanOrEqual(0.7);
    expect(img.data[plate]).toBe(0);
    let opaqueWhite = 0;
    for (let y = g.textBox.y; y < g.textBox.y + g.textBox.h; y++)
      for (let x = g.textBox.x; x < g.textBox.x + g.textBox.w; x++) {
        const o = (y * 320 + x) * 4;
        if (img.data[o + 3] === 255 && img.data[o] === 255) opaqueWhite++;
      }
    expect(opaqueWhite).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.15);
    // transparent everywhere else
    let touched = 0;
    for (let y = 0; y < 240; y++) for (let x = 0; x < 320; x++) if (!inRect(x, y, g) && img.data[(y * 320 + x) * 4 + 3] !== 0) touched++;
    expect(touched).toBe(0);
  });

  // (what stamping costs at 1024² is part of the label overhead bench/labels.ts measures, not a timed assertion here)
});

// ------------------------------------------------------------------ engine

describe('engine visibleLabel', () => {
  test('t2i: the labelled output differs from the unlabelled one only inside the mark, and the mark is there', async () => {
    const p = { width: 384, height: 256, seed: 5 };
    const [plain, marked] = await Promise.all([run('t2i', 'snowy mountains', p, false), run('t2i', 'snowy mountains', p, true)]);
    const a = await decodeImage(plain.bytes);
    const b = await decodeImage(marked.bytes);
    expect([b.width, b.height]).toEqual([384, 256]);
    const g = markGeometry(384, 256);
    const d = diffAround(a.data, b.data, 384, 256, g);
    expect(d.outside).toBe(0);
    expect(d.inside).toBeGreaterThan(g.w * g.h * 0.5);
    const f = measure(b.data, 384, g, { white: 240 });
    expect(f.white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.15);
    expect(f.textRows).toBeGreaterThanOrEqual(0.05 * 256);
  });

  test('the local provider passes visibleLabel to its worker and says the output is marked', async () => {
    const provider = createLocalProvider({ size: 1 });
    await provider.start!();
    try {
      const ctx = { signal: new AbortController().signal, resume: null, saveJob: async () => {}, progress: () => {}, log: recordingLogger().log };
      const job = { taskId: 't-mark', type: 't2i' as const, prompt: 'forest', parameters: { width: 256, height: 192 }, references: [], sampleFrames: 0 };
      const marked = await provider.run({ ...job, visibleLabel: true }, ctx);
      const plain = await provider.run({ ...job, visibleLabel: false }, ctx);
      expect(marked.marked).toBe(true);
      expect(plain.marked).toBe(false);
      const g = markGeometry(256, 192);
      const a = await decodeImage(plain.bytes);
      const b = await decodeImage(marked.bytes);
      const d = diffAround(a.data, b.data, 256, 192, g);
      expect(d.outside).toBe(0);
      expect(measure(b.data, 256, g).white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.15);
    } finally {
      await provider.stop!();
    }
  });

  test('i2i: marked too', async () => {
    const ref = encodePngSync(bright(200, 150));
    const out = await run('i2i', 'sepia', {}, true, [ref]);
    const img = await decodeImage(out.bytes);
    const f = measure(img.data, 200, markGeometry(200, 150));
    expect(f.white).toBeGreaterThan(20);
    expect(f.dark).toBeGreaterThan(20);
  });

  test('t2v: the mark is on frame 0 and on the frame at 2 s, and nowhere else', async () => {
    const p = { width: 128, height: 128, duration: 2.5, fps: 8, seed: 3 };
    const [plain, marked] = await Promise.all([run('t2v', 'snow field at noon', p, false), run('t2v', 'snow field at noon', p, true)]);
    expect(marked.frames).toBe(20);
    const A = ffDecode(plain.bytes, 128, 128);
    const B = ffDecode(marked.bytes, 128, 128);
    expect(B.length).toBe(20);
    expect(A.length).toBe(20);
    const g = markGeometry(128, 128);
    for (const i of [0, 16]) {
      const f = measure(B[i]!, 128, g, { white: 200 });
      const f0 = measure(A[i]!, 128, g, { white: 200 });
      expect(f.white).toBeGreaterThan(25);
      expect(f.white).toBeGreaterThan(f0.white + 20);
      // the plate darkens the corner
      let sumA = 0;
      let sumB = 0;
      for (let y = g.y; y < g.y + g.h; y++)
        for (let x = g.x; x < g.x + 3; x++) {
          sumA += luma(A[i]!, (y * 128 + x) * 4);
          sumB += luma(B[i]!, (y * 128 + x) * 4);
        }
      expect(sumB / (g.h * 3)).toBeLessThan((sumA / (g.h * 3)) * 0.6);
      // the top half (far from the mark) is the same picture
      let diff = 0;
      for (let o = 0; o < 128 * 64 * 4; o++) diff += Math.abs(A[i]![o]! - B[i]![o]!);
      expect(diff / (128 * 64 * 4)).toBeLessThan(1.5);
    }
  });

  test('i2v: every frame of a white key image gets the plate and the text', async () => {
    const ref = encodePngSync(solid(160, 120, 255));
    const out = await run('i2v', 'zoom in', { duration: 0.5, fps: 8 }, true, [ref]);
    const [W, H] = [out.width, out.height];
    const frames = ffDecode(out.bytes, W, H);
    expect(frames.length).toBe(4);
    const g = markGeometry(W, H);
    for (const fr of frames) {
      const f = measure(fr, W, g, { white: 200, dark: 140 });
      expect(f.white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.1);
      expect(f.dark).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.2);
    }
  });
});

// ------------------------------------------------------------------ providers' images

describe('labelImageVisible', () => {
  const W = 400;
  const H = 300;
  const src = bright(W, H);
  const g = markGeometry(W, H);

  async function check(input: Uint8Array, kind: 'png' | 'jpeg' | 'webp', tol: number) {
    const out = await labelImageVisible(input);
    expect(out.kind).toBe(kind);
    expect(sniffImage(out.bytes)).toBe(kind);
    // our decoder and ffmpeg agree on the result
    const ours = await decodeImage(out.bytes);
    expect([ours.width, ours.height]).toEqual([W, H]);
    const theirs = ffDecode(out.bytes, W, H);
    expect(theirs.length).toBe(1);
    for (const img of [ours.data, theirs[0]!]) {
      const f = measure(img, W, g, { white: 235, dark: 130 });
      expect(f.white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.12);
      expect(f.dark).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.25);
      expect(f.textRows).toBeGreaterThanOrEqual(0.05 * H);
      // away from the mark the picture is the input's (up to the codec's loss)
      let diff = 0;
      for (let o = 0; o < W * 100 * 4; o++) diff += Math.abs(img[o]! - src.data[o]!);
      expect(diff / (W * 100 * 4)).toBeLessThan(tol);
    }
    return out;
  }

  test('PNG → PNG, lossless outside the mark', async () => {
    const out = await check(encodePngSync(src), 'png', 0.001);
    const img = await decodeImage(out.bytes);
    expect(diffAround(src.data, img.data, W, H, g).outside).toBe(0);
  });

  test('JPEG → JPEG', async () => {
    await check(new Uint8Array(jpeg.encode({ width: W, height: H, data: src.data }, 90).data), 'jpeg', 3);
  });

  test('WebP (made by ffmpeg) → lossy WebP', async () => {
    const webp = ffWebp(encodePngSync(src));
    expect(sniffImage(webp)).toBe('webp');
    const out = await check(webp, 'webp', 3);
    expect(String.fromCharCode(...out.bytes.subarray(12, 16))).toBe('VP8 ');
  });

  test('GIF → PNG of the first frame', async () => {
    const buf = new Uint8Array(W * H * 2);
    const gw = new GifWriter(buf, W, H, { loop: 0 });
    const palette = [0xf0f0f0, 0xe6e6e6, 0x202020, 0x808080];
    const idx = new Uint8Array(W * H);
    for (let i = 0; i < idx.length; i++) idx[i] = (i >> 5) & 1;
    gw.addFrame(0, 0, W, H, idx, { palette, delay: 10 });
    gw.addFrame(0, 0, W, H, new Uint8Array(W * H).fill(2), { palette, delay: 10 });
    const gif = buf.subarray(0, gw.end());
    const out = await labelImageVisible(gif);
    expect(out.kind).toBe('png');
    const img = await decodeImage(out.bytes);
    expect([img.width, img.height]).toEqual([W, H]);
    expect(luma(img.data, 0)).toBeGreaterThan(200); // the first frame, not the dark second one
    expect(measure(img.data, W, g).white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.12);
    // reencodeAsPng: the same PNG without the mark
    const plain = await decodeImage(await reencodeAsPng(gif));
    expect(measure(plain.data, W, g).dark).toBe(0);
  });

  test("a JPEG's EXIF orientation is applied, so the mark is bottom-right as displayed", async () => {
    const base = new Uint8Array(jpeg.encode({ width: W, height: H, data: src.data }, 90).data);
    // APP1 Exif, big-endian TIFF, IFD0 with one entry: Orientation (0x0112) SHORT = 6 (display rotated 90° clockwise)
    const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
    const payload = [...'Exif'].map((c) => c.charCodeAt(0)).concat([0, 0], tiff);
    const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
    const rotated = new Uint8Array([...base.subarray(0, 2), ...app1, ...base.subarray(2)]);
    const out = await labelImageVisible(rotated);
    const img = await decodeImage(out.bytes);
    expect([img.width, img.height]).toEqual([H, W]);
    const gr = markGeometry(H, W);
    expect(measure(img.data, H, gr).white).toBeGreaterThan(gr.textBox.w * gr.textBox.h * 0.12);
  });

  // (how long labelling takes is measured in bench/labels.ts, not asserted here)
  test('1024×1024 PNG / JPEG / WebP: the kind and the size are kept, and the mark (scaled to the image) is there', async () => {
    const big = bright(1024, 1024);
    const inputs = {
      png: encodePngSync(big),
      jpeg: new Uint8Array(jpeg.encode({ width: 1024, height: 1024, data: big.data }, 90).data),
      webp: ffWebp(encodePngSync(big)),
    };
    const gb = markGeometry(1024, 1024);
    for (const [kind, bytes] of Object.entries(inputs)) {
      const out = await labelImageVisible(bytes);
      expect(out.kind).toBe(kind as 'png');
      const img = await decodeImage(out.bytes);
      expect([img.width, img.height]).toEqual([1024, 1024]);
      // white text on a dark plate: the bright input has no dark pixel there, so the plate is the mark's
      expect(measure(big.data, 1024, gb, { dark: 130 }).dark).toBe(0);
      const f = measure(img.data, 1024, gb, { white: 235, dark: 130 });
      expect(f.white, kind).toBeGreaterThan(gb.textBox.w * gb.textBox.h * 0.12);
      expect(f.dark, kind).toBeGreaterThan(gb.textBox.w * gb.textBox.h * 0.25);
      expect(f.textRows, kind).toBeGreaterThanOrEqual(0.05 * 1024);
    }
  });

  test('not an image: rejects', async () => {
    await expect(labelImageVisible(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))).rejects.toThrow(Error);
    await expect(labelImageVisible(encodePngSync(src).subarray(0, 200))).rejects.toThrow(Error);
  });
});

// ------------------------------------------------------------------ providers' videos (ffmpeg)

/** Temp directories of ours that exist now. */
const ourTempDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(TEMP_PREFIX));

/** Child processes of this test process running ffmpeg with `out.mp4` on the command line. */
function ffmpegChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('out.mp4')) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('ffmpeg', () => {
  test('findFfmpeg: the configured executable, else PATH', () => {
    expect(findFfmpeg(ffmpegPath)).toBe(ffmpegPath);
    expect(findFfmpeg('/nonexistent/ffmpeg')).toBe(Bun.which('ffmpeg'));
    expect(findFfmpeg(`${import.meta.dir}/../package.json`)).toBe(Bun.which('ffmpeg')); // not executable
    expect(findFfmpeg()).toBe(Bun.which('ffmpeg'));
  });

  test('burnVideoMark: every frame marked, frame count and size unchanged; sampleVideoFrames spreads PNGs over the video', async () => {
    const plain = await run('t2v', 'sunset over the ocean', { width: 160, height: 120, duration: 3, fps: 10 }, false);
    const before = ourTempDirs().length;
    const out = await burnVideoMark(plain.bytes, ffmpegPath);
    expect(ourTempDirs().length).toBe(before);
    const info = await probeVideo(out);
    expect(info).toEqual({ frames: 30, codec: 'h264', width: 160, height: 120 });
    const A = ffDecode(plain.bytes, 160, 120);
    const B = ffDecode(out, 160, 120);
    expect(B.length).toBe(30);
    const g = markGeometry(160, 120);
    for (const i of [0, 20, 29]) {
      const f = measure(B[i]!, 160, g, { white: 200 });
      expect(f.white).toBeGreaterThan(g.textBox.w * g.textBox.h * 0.1);
      expect(f.white).toBeGreaterThan(measure(A[i]!, 160, g, { white: 200 }).white + 20);
      let diff = 0;
      for (let o = 0; o < 160 * 60 * 4; o++) diff += Math.abs(A[i]![o]! - B[i]![o]!);
      expect(diff / (160 * 60 * 4)).toBeLessThan(3); // top half: the same picture (CRF 18 re-encode)
    }
    // markless: the same re-encode, no mark
    const bare = ffDecode(await burnVideoMark(plain.bytes, ffmpegPath, { markless: true }), 160, 120);
    expect(bare.length).toBe(30);
    expect(measure(bare[0]!, 160, g, { white: 200 }).white).toBeLessThanOrEqual(measure(A[0]!, 160, g, { white: 200 }).white + 3);

    const frames = await sampleVideoFrames(out, ffmpegPath, 3);
    expect(frames.length).toBe(3);
    const decoded = await Promise.all(frames.map((f) => decodeImage(f)));
    for (const d of decoded) {
      expect(sniffImage(frames[0]!)).toBe('png');
      expect([d.width, d.height]).toEqual([160, 120]);
      expect(measure(d.data, 160, g, { white: 200 }).white).toBeGreaterThan(10);
    }
    expect(Buffer.from(decoded[0]!.data).equals(Buffer.from(decoded[2]!.data))).toBe(false);
    const small = await sampleVideoFrames(out, ffmpegPath, 2, { maxSide: 80 });
    expect((await decodeImage(small[0]!)).width).toBe(80);
    expect(await sampleVideoFrames(out, ffmpegPath, 0)).toEqual([]);
  });

  test('an abort kills ffmpeg and leaves no temp files; a broken input rejects with an Error', async () => {
    // a long 640x360 video, made by ffmpeg itself, so the burn runs for seconds
    const video = ffmpeg(null, '', [
      '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25:duration=30',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '35', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
    ], 'long.mp4');
    const before = ourTempDirs().length;
    const ac = new AbortController();
    const burning = burnVideoMark(video, ffmpegPath, { signal: ac.signal });
    burning.catch(() => {});
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length === 0; i++) {
      await Bun.sleep(25);
      pids = ffmpegChildren();
    }
    expect(pids.length).toBe(1);
    const reason = new Error('canceled by test');
    const t = performance.now();
    ac.abort(reason);
    await expect(burning).rejects.toBe(reason);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(existsSync(`/proc/${pids[0]}`)).toBe(false);
    expect(ffmpegChildren()).toEqual([]);
    expect(ourTempDirs().length).toBe(before);
    // already aborted: rejects at once
    await expect(burnVideoMark(video, ffmpegPath, { signal: ac.signal })).rejects.toBe(reason);

    const garbage = new Uint8Array(4096).map((_, i) => (i * 37) & 255);
    await expect(burnVideoMark(garbage, ffmpegPath)).rejects.toThrow(/not a readable video/);
    await expect(sampleVideoFrames(garbage, ffmpegPath, 2)).rejects.toThrow(Error);
    await expect(burnVideoMark(video, '/nonexistent/ffmpeg')).rejects.toThrow(Error);
    expect(ourTempDirs().length).toBe(before);
  });
});
