// Output quality of the built-in engine against reference outputs made by the engine as it was before the
// speed work of issue 15 (test/fixtures/engine-ref/, small sizes): stills must keep identical pixels, videos
// the same size and frame count and a luma PSNR ≥ 40 dB on every frame (decoded by ffmpeg).
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ffmpegPath } from './support/ffprobe';
import { decodeImage, runLocalEngine } from '../src/engine/local';
import { inspectMp4 } from '../src/engine/local/video';

setDefaultTimeout(60_000);
const REF = join(import.meta.dir, 'fixtures', 'engine-ref');
const ref = async (name: string) => new Uint8Array(await Bun.file(join(REF, name)).arrayBuffer());

/** All frames' luma planes (ffmpeg decode to 8-bit gray), frame after frame. */
async function decodeLuma(mp4: Uint8Array): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'engq-'));
  try {
    const path = join(dir, 'v.mp4');
    await Bun.write(path, mp4);
    const p = Bun.spawnSync([ffmpegPath, '-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
    if (p.exitCode !== 0) throw new Error(`ffmpeg: ${p.stderr.toString()}`);
    return new Uint8Array(p.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-frame luma PSNR in dB (Infinity for identical frames). */
export function framePsnr(a: Uint8Array, b: Uint8Array, n: number): number[] {
  const out: number[] = [];
  for (let f = 0; f * n < a.length; f++) {
    let se = 0;
    for (let i = f * n; i < (f + 1) * n; i++) {
      const d = a[i]! - b[i]!;
      se += d * d;
    }
    out.push(se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se));
  }
  return out;
}

async function expectVideoClose(out: Uint8Array, refName: string, w: number, h: number, frames: number) {
  const refBytes = await ref(refName);
  const a = inspectMp4(out);
  expect([a.width, a.height, a.sampleCount]).toEqual([w, h, frames]);
  const la = await decodeLuma(out);
  const lb = await decodeLuma(refBytes);
  expect(la.length).toBe(w * h * frames);
  expect(lb.length).toBe(la.length);
  const psnr = framePsnr(la, lb, w * h);
  expect(psnr.length).toBe(frames);
  expect(Math.min(...psnr)).toBeGreaterThanOrEqual(40);
}

describe('engine output vs reference (pre-optimisation) outputs', () => {
  test('psnr helper tells different frames apart', () => {
    const a = new Uint8Array(100).fill(100);
    const b = a.slice();
    expect(framePsnr(a, b, 100)).toEqual([Infinity]);
    b[0] = 200; // one pixel off by 100 → 10·log10(255²·100/100²) ≈ 28.1 dB
    expect(framePsnr(a, b, 100)[0]).toBeCloseTo(28.13, 1);
  });

  test('t2i: identical pixels', async () => {
    const out = await runLocalEngine({ type: 't2i', prompt: 'a forest lake at dawn', parameters: { width: 160, height: 160, seed: 7 }, references: [] });
    const got = await decodeImage(out.bytes);
    const want = await decodeImage(await ref('t2i-lake-160.png'));
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    expect(Buffer.compare(Buffer.from(got.data), Buffer.from(want.data))).toBe(0);
  });

  test('t2v forest fire: PSNR ≥ 40 dB on every frame', async () => {
    const out = await runLocalEngine({ type: 't2v', prompt: 'a forest fire at night', parameters: { width: 128, height: 128, duration: 1, fps: 8, seed: 3 }, references: [] });
    await expectVideoClose(out.bytes, 't2v-fire-128.mp4', 128, 128, 8);
  });

  test('t2v ocean: PSNR ≥ 40 dB on every frame', async () => {
    const out = await runLocalEngine({ type: 't2v', prompt: 'waves rolling on a beach', parameters: { width: 128, height: 128, duration: 1, fps: 8, seed: 3 }, references: [] });
    await expectVideoClose(out.bytes, 't2v-ocean-128.mp4', 128, 128, 8);
  });

  test('i2v zoom with the visible label: PSNR ≥ 40 dB on every frame', async () => {
    const key = await ref('t2i-lake-160.png');
    const out = await runLocalEngine({ type: 'i2v', prompt: 'slow zoom in', parameters: { width: 128, height: 128, duration: 1, fps: 8, seed: 3 }, references: [key], visibleLabel: true });
    await expectVideoClose(out.bytes, 'i2v-zoom-128.mp4', 128, 128, 8);
  });

  test('a different video fails the check (the comparison can fail)', async () => {
    const out = await runLocalEngine({ type: 't2v', prompt: 'a forest fire at night', parameters: { width: 128, height: 128, duration: 1, fps: 8, seed: 4 }, references: [] });
    const la = await decodeLuma(out.bytes);
    const lb = await decodeLuma(await ref('t2v-fire-128.mp4'));
    expect(Math.min(...framePsnr(la, lb, 128 * 128))).toBeLessThan(40);
  });
});
