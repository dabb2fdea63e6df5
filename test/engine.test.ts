import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { openedTestEnv, type TestEnv } from './support/env';
import { probeVideo } from './support/ffprobe';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';
import { GifWriter } from 'omggif';
import {
  decodeImage,
  encodePng,
  probeImageSize,
  runLocalEngine,
  sniffImage,
  type EngineInput,
  type ImageKind,
  type RGBAImage,
} from '../src/engine/local/index.ts';
import { closeEncoderThread, encodeMp4, encodeMp4Inline, inspectMp4, walkBoxes } from '../src/engine/local/video.ts';
import { createLocalProvider } from '../src/providers/local.ts';
import { recordingLogger } from './support/logs.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const FIX = join(import.meta.dir, 'fixtures', 'engine');
const readFix = async (name: string) => new Uint8Array(await Bun.file(join(FIX, name)).arrayBuffer());

function pngIHDR(b: Uint8Array) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { w: dv.getUint32(16), h: dv.getUint32(20) };
}
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

function sameBytes(a: Uint8Array, b: Uint8Array) {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function synthetic(w: number, h: number): RGBAImage {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (x * 255) / (w - 1);
      data[i + 1] = (y * 255) / (h - 1);
      data[i + 2] = ((x >> 3) + (y >> 3)) & 1 ? 220 : 40;
      data[i + 3] = 255;
    }
  return { width: w, height: h, data };
}

const run = (type: EngineInput['type'], prompt: string, parameters: Record<string, unknown> = {}, references: Uint8Array[] = []) =>
  runLocalEngine({ type, prompt, parameters, references });

// ------------------------------------------------------------------ codecs

const FIXTURES: [string, ImageKind, number][] = [
  // name, kind, max mean abs error vs ffmpeg's own decode
  ['pal8.png', 'png', 0],
  ['gray16.png', 'png', 0.5],
  ['rgba64.png', 'png', 0.5],
  ['baseline.jpg', 'jpeg', 4],
  ['lossless.webp', 'webp', 0],
  ['lossy.webp', 'webp', 14], // libwebp fancy upsampling vs ffmpeg's VP8 decoder on a harsh test pattern
  ['anim.gif', 'gif', 0],
];

describe('codecs', () => {
  for (const [name, kind, tol] of FIXTURES) {
    test(`decode ${name}`, async () => {
      const bytes = await readFix(name);
      expect(sniffImage(bytes)).toBe(kind);
      expect(probeImageSize(bytes)).toEqual({ kind, width: 48, height: 32 });
      const img = await decodeImage(bytes);
      expect(img.width).toBe(48);
      expect(img.height).toBe(32);
      expect(img.data.length).toBe(48 * 32 * 4);
      const ref = await readFix(`${name}.rgba`);
      expect(meanAbsDiff(img.data, ref)).toBeLessThanOrEqual(tol);
    });

    test(`truncated ${name} is rejected`, async () => {
      const bytes = await readFix(name);
      await expect(decodeImage(bytes.subarray(0, Math.floor(bytes.length * 0.6)))).rejects.toThrow();
      await expect(decodeImage(bytes.subarray(0, 20))).rejects.toThrow();
      expect(() => probeImageSize(bytes.subarray(0, 9))).toThrow();
    });
  }

  test('sniff/probe reject garbage', async () => {
    expect(sniffImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))).toBeNull();
    expect(sniffImage(new Uint8Array(0))).toBeNull();
    expect(() => probeImageSize(new Uint8Array(64))).toThrow();
    await expect(decodeImage(new TextEncoder().encode('definitely not an image, just some text'))).rejects.toThrow();
    // valid signature, corrupt body
    const png = await readFix('pal8.png');
    const bad = png.slice();
    for (let i = 60; i < bad.length - 20; i++) bad[i] = 0x5a;
    await expect(decodeImage(bad)).rejects.toThrow();
  });

  test('encodePng round-trips (opaque RGB and RGBA)', async () => {
    const img = synthetic(37, 23);
    const png = await encodePng(img);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIG);
    expect(pngIHDR(png)).toEqual({ w: 37, h: 23 });
    expect(png[25]).toBe(2); // colour type RGB for opaque input
    const back = await decodeImage(png);
    expect(sameBytes(back.data, img.data)).toBe(true);

    const t = synthetic(20, 10);
    for (let i = 3; i < t.data.length; i += 8) t.data[i] = 77;
    const png2 = await encodePng(t);
    expect(png2[25]).toBe(6); // RGBA
    expect(sameBytes((await decodeImage(png2)).data, t.data)).toBe(true);
  });

  test('programmatic JPEG (jpeg-js) and GIF (omggif) fixtures decode', async () => {
    const img = synthetic(64, 40);
    const jpg = new Uint8Array(jpeg.encode({ width: 64, height: 40, data: Buffer.from(img.data) }, 92).data);
    expect(sniffImage(jpg)).toBe('jpeg');
    expect(probeImageSize(jpg)).toEqual({ kind: 'jpeg', width: 64, height: 40 });
    const dj = await decodeImage(jpg);
    expect(meanAbsDiff(dj.data, img.data)).toBeLessThan(6);

    const w = 16,
      h = 12;
    const palette = [0xff0000, 0x00ff00, 0x0000ff, 0xffffff];
    const idx = new Uint8Array(w * h).map((_, i) => (i % w >> 2) & 3);
    const buf = new Uint8Array(4096);
    const gw = new GifWriter(buf, w, h, { palette });
    gw.addFrame(0, 0, w, h, idx);
    const gif = buf.slice(0, gw.end());
    expect(probeImageSize(gif)).toEqual({ kind: 'gif', width: w, height: h });
    const dg = await decodeImage(gif);
    expect([...dg.data.subarray(0, 4)]).toEqual([255, 0, 0, 255]);
    expect([...dg.data.subarray(4 * 4, 4 * 4 + 4)]).toEqual([0, 255, 0, 255]);
  });
});

// ------------------------------------------------------------------ t2i / i2i

describe('t2i', () => {
  test('default 1024² PNG, deterministic, prompt-dependent', async () => {
    const a = await run('t2i', 'sunset over the ocean');
    expect(a.ext).toBe('png');
    expect(a.mime).toBe('image/png');
    expect([...a.bytes.subarray(0, 8)]).toEqual(PNG_SIG);
    expect(pngIHDR(a.bytes)).toEqual({ w: 1024, h: 1024 });
    expect([a.width, a.height]).toEqual([1024, 1024]);
    const img = await decodeImage(a.bytes);
    expect(img.width).toBe(1024);
    // not a flat image
    let mn = 255,
      mx = 0;
    for (let i = 0; i < img.data.length; i += 4 * 97) {
      mn = Math.min(mn, img.data[i]!);
      mx = Math.max(mx, img.data[i]!);
    }
    expect(mx - mn).toBeGreaterThan(60);
    const b = await run('t2i', 'sunset over the ocean');
    expect(sameBytes(a.bytes, b.bytes)).toBe(true);
  });

  test('size, seed and prompt change the output', async () => {
    const base = await run('t2i', '森林 夜', { width: 320, height: 200 });
    expect(pngIHDR(base.bytes)).toEqual({ w: 320, h: 200 });
    expect([base.width, base.height]).toEqual([320, 200]);
    const again = await run('t2i', '森林 夜', { width: 320, height: 200, unknown_key: 'ignored' });
    expect(sameBytes(base.bytes, again.bytes)).toBe(true);
    const seeded = await run('t2i', '森林 夜', { width: 320, height: 200, seed: 42 });
    expect(sameBytes(base.bytes, seeded.bytes)).toBe(false);
    const seeded2 = await run('t2i', '森林 夜', { width: 320, height: 200, seed: 42 });
    expect(sameBytes(seeded.bytes, seeded2.bytes)).toBe(true);
    const other = await run('t2i', 'snowy mountains', { width: 320, height: 200, seed: 42 });
    expect(sameBytes(seeded.bytes, other.bytes)).toBe(false);
    for (const p of ['desert', 'city at night', 'volcano fire', 'galaxy', 'storm', 'a cat on a chair', 'red sky', '']) {
      const r = await run('t2i', p, { width: 96, height: 64, steps: 10, negative_prompt: 'clouds', style: 'photo' });
      expect(pngIHDR(r.bytes)).toEqual({ w: 96, h: 64 });
    }
  });

  test('colour words steer the palette', async () => {
    const avg = async (prompt: string) => {
      const img = await decodeImage((await run('t2i', prompt, { width: 128, height: 128, seed: 7 })).bytes);
      let r = 0,
        b = 0;
      for (let i = 0; i < img.data.length; i += 4) {
        r += img.data[i]!;
        b += img.data[i + 2]!;
      }
      return { r, b };
    };
    const red = await avg('red hills');
    const blue = await avg('blue hills');
    expect(red.r / red.b).toBeGreaterThan(blue.r / blue.b);
  });
});

describe('i2i', () => {
  const effects = [
    'oil painting',
    '油画',
    'sketch',
    '素描',
    'watercolor',
    '水彩',
    'grayscale',
    '黑白',
    'sepia',
    '复古',
    'blur',
    '模糊',
    'sharpen',
    '锐化',
    'invert',
    '反色',
    'pixelate',
    '像素',
    'something completely different',
  ];

  test('each effect changes the image; strength 0 is identity; output size rules', async () => {
    const src = synthetic(96, 64);
    const ref = await encodePng(src);
    const outputs = new Map<string, Uint8Array>();
    for (const prompt of effects) {
      const r = await run('i2i', prompt, {}, [ref]);
      expect(r.ext).toBe('png');
      expect([r.width, r.height]).toEqual([96, 64]);
      const img = await decodeImage(r.bytes);
      expect(meanAbsDiff(img.data, src.data)).toBeGreaterThan(1);
      outputs.set(prompt, img.data);
    }
    // distinct effects give distinct results
    expect(sameBytes(outputs.get('sketch')!, outputs.get('invert')!)).toBe(false);
    expect(sameBytes(outputs.get('blur')!, outputs.get('sharpen')!)).toBe(false);
    // grayscale output is grey
    const g = outputs.get('grayscale')!;
    const full = await decodeImage((await run('i2i', 'grayscale', { strength: 1 }, [ref])).bytes);
    expect(full.data[400]).toBe(full.data[401]);
    expect(g.length).toBe(src.data.length);
    // strength 0 → unchanged pixels
    const id = await decodeImage((await run('i2i', 'oil painting', { strength: 0 }, [ref])).bytes);
    expect(sameBytes(id.data, src.data)).toBe(true);
    // resize
    const rs = await run('i2i', 'sepia', { width: 50, height: 40 }, [ref]);
    expect(pngIHDR(rs.bytes)).toEqual({ w: 50, h: 40 });
    // determinism
    const a = await run('i2i', 'watercolor', { seed: 3 }, [ref]);
    const b = await run('i2i', 'watercolor', { seed: 3 }, [ref]);
    expect(sameBytes(a.bytes, b.bytes)).toBe(true);
  });

  test('accepts every reference format and rejects a missing/corrupt one', async () => {
    for (const name of ['baseline.jpg', 'lossy.webp', 'anim.gif', 'pal8.png']) {
      const r = await run('i2i', 'blur', {}, [await readFix(name)]);
      expect([r.width, r.height]).toEqual([48, 32]);
    }
    await expect(run('i2i', 'blur', {}, [])).rejects.toThrow();
    await expect(run('i2i', 'blur', {}, [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])])).rejects.toThrow();
  });
});

// ------------------------------------------------------------------ video

async function ffprobeFrames(bytes: Uint8Array): Promise<number> {
  const v = await probeVideo(bytes);
  expect(v.codec).toBe('h264');
  return v.frames;
}

function checkMp4(bytes: Uint8Array, frames: number, seconds: number, w: number, h: number) {
  const paths = walkBoxes(bytes).map((b) => b.path);
  expect(paths).toContain('ftyp');
  expect(paths).toContain('moov');
  expect(paths).toContain('mdat');
  expect(paths.some((p) => p.endsWith('stsd/avc1'))).toBe(true);
  expect(paths.some((p) => p.endsWith('avc1/avcC'))).toBe(true);
  const info = inspectMp4(bytes);
  expect(info.topLevel.indexOf('moov')).toBeLessThan(info.topLevel.indexOf('mdat')); // faststart
  expect(info.sampleCount).toBe(frames);
  expect(info.seconds).toBeCloseTo(seconds, 2);
  expect([info.width, info.height]).toEqual([w, h]);
  expect(info.hasAvcC).toBe(true);
}

describe('t2v', () => {
  // the default video (no parameters: 4 s at 24 fps, 512², faststart H.264, 96 frames by ffprobe) is the one the real
  // client requests: test/client-replay.test.ts checks it as served; 512² videos are 2.5 s of CPU each

  test('custom size/duration/fps, determinism, prompt dependence', async () => {
    const p = { width: 100, height: 71, duration: 1, fps: 10, seed: 5 };
    const a = await run('t2v', 'snowy forest', p);
    expect([a.width, a.height, a.frames]).toEqual([100, 72, 10]); // even dimensions for 4:2:0
    checkMp4(a.bytes, 10, 1, 100, 72);
    const b = await run('t2v', 'snowy forest', p);
    expect(sameBytes(a.bytes, b.bytes)).toBe(true);
    const c = await run('t2v', 'volcano fire', p);
    expect(sameBytes(a.bytes, c.bytes)).toBe(false);
    expect(await ffprobeFrames(c.bytes)).toBe(10);
  });
});

describe('i2v', () => {
  test('animates the key frame (default zoom-in) and honours motion words', async () => {
    const key = await encodePng(synthetic(160, 120));
    const r = await run('i2v', 'a slow shot', { duration: 2, fps: 12 }, [key]);
    expect(r.ext).toBe('mp4');
    // aspect of the key frame fitted into 512²
    expect([r.width, r.height, r.frames]).toEqual([512, 384, 24]);
    checkMp4(r.bytes, 24, 2, 512, 384);
    const seen = new Set<string>();
    for (const prompt of ['zoom in', '放大', 'pan', '平移', 'fade', '渐变', 'zoom out', 'rotate', 'parallax']) {
      const v = await run('i2v', prompt, { width: 128, height: 96, duration: 1, fps: 8 }, [key]);
      checkMp4(v.bytes, 8, 1, 128, 96);
      seen.add(Buffer.from(v.bytes).toString('base64'));
    }
    expect(seen.size).toBeGreaterThanOrEqual(6);
    const two = await run('i2v', 'fade', { width: 64, height: 64, duration: 1, fps: 8 }, [key, await readFix('lossy.webp')]);
    checkMp4(two.bytes, 8, 1, 64, 64);
    expect(await ffprobeFrames(r.bytes)).toBe(24);
    await expect(run('i2v', 'zoom', {}, [])).rejects.toThrow();
  });
});

// ------------------------------------------------------------------ pipelined encoding (issue 15)

/**
 * Ids of this process's generation and encoder threads (Linux /proc: the engine names its Worker threads
 * `aigc-engine` and `aigc-encoder`). By name, because other test files in the same process (`--no-isolate`) start
 * threads of their own meanwhile (the embedded database's, a watchdog's), which counting every Worker thread saw.
 */
function workerThreads(...names: string[]): Set<string> {
  const wanted = names.length > 0 ? names : ['aigc-engine', 'aigc-encoder'];
  const out = new Set<string>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      if (wanted.includes(name)) out.add(t);
    } catch {
      // the thread ended while we listed it
    }
  }
  return out;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
  return true;
}

const hasProc = existsSync('/proc/self/task');

describe('video encoding on a second thread', () => {
  // These tests count the process's worker threads. A test env opened by an earlier file in this process has a runner
  // whose periodic claim may pick up a task some file left queued and start an engine thread meanwhile: it is paused
  // while they run.
  let env: TestEnv | undefined;
  beforeAll(async () => {
    env = await openedTestEnv();
    await env?.pool.stop();
  });
  afterAll(async () => {
    await env?.replacePool();
  });
  const spec = { width: 256, height: 256, fps: 24, frames: 24 }; // at the pipelining threshold
  const scene = () => {
    // a moving gradient: cheap, deterministic, different every frame
    return (i: number, buf: Uint8Array) => {
      for (let p = 0, y = 0; y < spec.height; y++)
        for (let x = 0; x < spec.width; x++, p += 4) {
          buf[p] = (x + i * 3) & 255;
          buf[p + 1] = (y * 2 + i) & 255;
          buf[p + 2] = (x ^ y) & 255;
          buf[p + 3] = 255;
        }
    };
  };

  test('same bytes as encoding inline', async () => {
    const a = await encodeMp4(spec, scene());
    const b = await encodeMp4Inline(spec, scene());
    expect(sameBytes(a, b)).toBe(true);
    expect(inspectMp4(a).sampleCount).toBe(24);
  });

  test.skipIf(!hasProc)('a render error ends the encoder thread', async () => {
    closeEncoderThread();
    const before = workerThreads();
    let during = 0;
    const render = scene();
    await expect(
      encodeMp4(spec, (i, buf) => {
        if (i === 5) {
          during = [...workerThreads()].filter((t) => !before.has(t)).length;
          throw new Error('render failed');
        }
        render(i, buf);
      }),
    ).rejects.toThrow('render failed');
    expect(during).toBe(1); // the encoder thread was running
    expect(await until(() => [...workerThreads()].every((t) => before.has(t)), 5000)).toBe(true);
  });

  test.skipIf(!hasProc)('worker threads start with the first tasks that need them, then stay for the next ones', async () => {
    // this provider's threads only, by a name of their own: under --no-isolate the suite's own runner (and what
    // earlier files left queued) can start an aigc-engine thread in this process meanwhile
    const NAME = 'aigc-engine-lz';
    // A thread a worker's thread creates (the runtime's JIT or pool threads start on demand) carries that thread's
    // name, and one that never sets its own keeps it: seen as an extra "aigc-engine-lz" for a moment, and once (in the
    // full suite, on a slow machine) for good. A worker's thread between tasks waits in its event loop (epoll); so at
    // the points below, where every task is done, the threads of that name that wait elsewhere are not workers. Each
    // count is also awaited (≤ 2 s): an extra worker would stay (they are kept for the next tasks) and still fail it.
    const idleWorkers = () =>
      new Set(
        [...workerThreads(NAME)].filter((t) => {
          try {
            const wchan = readFileSync(`/proc/self/task/${t}/wchan`, 'utf8').trim();
            return wchan === '0' || wchan === '' || /epoll|ep_poll/.test(wchan); // no wait channel shown: count it
          } catch {
            return false; // ended meanwhile
          }
        }),
      );
    const before = idleWorkers();
    const fresh = () => [...idleWorkers()].filter((t) => !before.has(t));
    const settles = async (want: (ids: string[]) => boolean) => {
      if (!(await until(() => want(fresh()), 2000))) throw new Error(`engine threads: ${JSON.stringify(fresh())}`);
      return fresh();
    };
    const provider = createLocalProvider({ size: 2, threadName: NAME });
    await provider.start!();
    try {
      // a runner whose tasks all go elsewhere never starts one
      await Bun.sleep(100);
      expect(fresh()).toEqual([]);
      const ctx = { signal: new AbortController().signal, resume: null, saveJob: async () => {}, progress: () => {}, log: recordingLogger().log };
      const job = (n: number) => ({ taskId: `t-lazy-${n}`, type: 't2i' as const, prompt: `lazy ${n}`, parameters: { width: 32, height: 32 }, references: [], visibleLabel: false, sampleFrames: 0 });
      const png = (out: { bytes: Uint8Array }) => [...out.bytes.subarray(0, 8)];
      expect(png(await provider.run(job(1), ctx))).toEqual(PNG_SIG);
      const first = await settles((ids) => ids.length === 1);
      expect(first.length).toBe(1);
      // one task at a time: the same thread again
      expect(png(await provider.run(job(2), ctx))).toEqual(PNG_SIG);
      expect(await settles((ids) => ids.length === 1 && ids[0] === first[0])).toEqual(first);
      // two at once: a second thread, no more than `size`
      const both = await Promise.all([provider.run(job(3), ctx), provider.run(job(4), ctx)]);
      expect(both.map(png)).toEqual([PNG_SIG, PNG_SIG]);
      expect(await settles((ids) => ids.length === 2)).toContain(first[0]);
      await expect(provider.run(job(5), ctx).then(() => provider.run(job(6), ctx))).resolves.toBeDefined();
      expect((await settles((ids) => ids.length === 2)).length).toBe(2);
    } finally {
      await provider.stop!();
    }
    expect(await until(() => fresh().length === 0, 5000)).toBe(true);
  });

  test.skipIf(!hasProc)('a canceled video task leaves no thread behind (the encoder thread ends with its worker)', async () => {
    const before = workerThreads();
    const provider = createLocalProvider({ size: 1 });
    await provider.start!();
    try {
      const ac = new AbortController();
      let progress = 0;
      const ctx = { signal: ac.signal, resume: null, saveJob: async () => {}, progress: (p: { progress?: number | null }) => void (progress = p.progress ?? 0), log: recordingLogger().log };
      const job = { taskId: 't-cancel', type: 't2v' as const, prompt: 'a forest fire at night', parameters: { width: 512, height: 512, duration: 4, fps: 24 }, references: [], visibleLabel: false, sampleFrames: 0 };
      const running = provider.run(job, ctx);
      running.catch(() => {});
      // mid-video: the generation worker and its encoder thread both run
      expect(await until(() => progress >= 10, 30_000)).toBe(true);
      const during = [...workerThreads()].filter((t) => !before.has(t));
      expect(during.length).toBe(2);
      ac.abort(new Error('canceled'));
      await expect(running).rejects.toThrow('canceled');
      // both threads end; no fresh worker starts before a task needs one
      expect(await until(() => during.every((t) => !workerThreads().has(t)), 5000)).toBe(true);
      expect([...workerThreads()].filter((t) => !before.has(t))).toEqual([]);
    } finally {
      await provider.stop!();
    }
    expect(await until(() => [...workerThreads()].every((t) => before.has(t)), 5000)).toBe(true);
  });

  test.skipIf(!hasProc)('a video gets an encoder thread only while a core is free for it; the bytes are the same', async () => {
    const ctx = { signal: new AbortController().signal, resume: null, saveJob: async () => {}, progress: () => {}, log: recordingLogger().log };
    const job = (n: number) => ({ taskId: `t-cores-${n}`, type: 't2v' as const, prompt: 'ocean waves at dawn', parameters: { width: 256, height: 256, duration: 2, fps: 24, seed: 7 }, references: [], visibleLabel: false, sampleFrames: 0 });
    // two videos at once on `cores` cores: the encoder threads they started (each stays idle after its video)
    const twoAtOnce = async (cores: number) => {
      const before = workerThreads('aigc-encoder');
      const provider = createLocalProvider({ size: 2, cores });
      await provider.start!();
      try {
        const outs = await Promise.all([provider.run(job(1), ctx), provider.run(job(2), ctx)]);
        return { encoders: [...workerThreads('aigc-encoder')].filter((t) => !before.has(t)).length, outs };
      } finally {
        await provider.stop!();
      }
    };
    // 2 cores: the first video's two threads fill them, the second encodes inline
    const two = await twoAtOnce(2);
    expect(two.encoders).toBe(1);
    // 4 cores: both get one
    const four = await twoAtOnce(4);
    expect(four.encoders).toBe(2);
    // inline and on a second thread: the same file
    const bytes = [...two.outs, ...four.outs].map((o) => Buffer.from(o.bytes).toString('base64'));
    expect(new Set(bytes).size).toBe(1);
    checkMp4(two.outs[1].bytes, 48, 2, 256, 256);
  });
});
