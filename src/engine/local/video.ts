// H.264/MP4 output via the `h264-mp4-encoder` package (minih264 encoder + minimp4 muxer compiled
// to WASM by emscripten; the wasm is inlined in the JS so it survives `bun build --compile`).
// Larger videos encode on a second thread (encode-worker.ts) while the next frames render.
// Plus: a "faststart" rewrite (moov before mdat) and an MP4 box parser used by tests.
import { workerEntry } from '../../worker-entry';

type Encoder = {
  outputFilename: string;
  width: number;
  height: number;
  frameRate: number;
  kbps: number;
  speed: number;
  quantizationParameter: number;
  groupOfPictures: number;
  temporalDenoise: boolean;
  initialize(): void;
  addFrameRgba(buf: Uint8Array): void;
  addFrameYuv(buf: Uint8Array): void;
  finalize(): void;
  delete(): void;
  FS: { readFile(path: string): Uint8Array; unlink(path: string): void };
};

let hmePromise: Promise<{ createH264MP4Encoder: () => Promise<Encoder> }> | null = null;
function loadHme() {
  if (!hmePromise) {
    hmePromise = import('h264-mp4-encoder').then((m) => {
      const mod = (m as unknown as { createH264MP4Encoder?: unknown; default?: { createH264MP4Encoder?: unknown } }).createH264MP4Encoder
        ? m
        : (m as unknown as { default: unknown }).default;
      return mod as { createH264MP4Encoder: () => Promise<Encoder> };
    });
    hmePromise.catch(() => (hmePromise = null));
  }
  return hmePromise;
}

let fileCounter = 0;

export interface VideoSpec {
  width: number; // even
  height: number; // even
  fps: number;
  frames: number;
  /** QP 10..51, lower = better quality. */
  qp?: number;
}

/** An initialised H.264/MP4 encoder of this realm: YUV 4:2:0 frames in, raw MP4 bytes (moov last) out. */
export interface OpenEncoder {
  add(yuv: Uint8Array): void;
  /** finalize and read the file; call once */
  finish(): Uint8Array;
  /** frees the WASM-side encoder (always call, also after finish) */
  close(): void;
}

export async function openEncoder(spec: VideoSpec): Promise<OpenEncoder> {
  const { createH264MP4Encoder } = await loadHme();
  const enc = await createH264MP4Encoder();
  const name = `engine-${process.pid}-${++fileCounter}.mp4`;
  try {
    enc.outputFilename = name;
    enc.width = spec.width;
    enc.height = spec.height;
    enc.frameRate = spec.fps;
    enc.kbps = 0;
    enc.quantizationParameter = spec.qp ?? 27;
    enc.speed = 10;
    enc.groupOfPictures = Math.max(1, Math.round(spec.fps * 2));
    enc.temporalDenoise = false;
    enc.initialize();
  } catch (e) {
    enc.delete();
    throw e;
  }
  return {
    // YUV 4:2:0 converted here (2×2 chroma average) rather than addFrameRgba: the embind wrapper copies its
    // argument into the WASM heap byte by byte in JS, so 1.5 bytes/pixel instead of 4 saves more than the
    // conversion costs.
    add: (yuv) => enc.addFrameYuv(yuv),
    finish() {
      enc.finalize();
      const bytes = enc.FS.readFile(name).slice();
      try {
        enc.FS.unlink(name);
      } catch {
        /* ignore */
      }
      return bytes;
    },
    close: () => enc.delete(),
  };
}

/** Encoded MP4 bytes as served: moov first, zeroed timestamps. */
function finishMp4(raw: Uint8Array): Uint8Array {
  const out = faststart(raw);
  zeroTimestamps(out);
  return out;
}

/**
 * Encode `frames` RGBA frames produced on demand by `renderFrame(i, buf)`: it must write every pixel of buf (a
 * reused buffer, not always the same one) and be done with it when it returns. Larger videos are encoded on a
 * second thread while the next frames render (see encodeMp4Pipelined), unless `encoderThread` is false (the local
 * provider's choice when no core is free for it); the bytes are the same either way.
 */
export async function encodeMp4(
  spec: VideoSpec,
  renderFrame: (i: number, buf: Uint8Array) => void,
  o: { encoderThread?: boolean } = {},
): Promise<Uint8Array> {
  if (o.encoderThread !== false && spec.width * spec.height * spec.frames >= PIPELINE_MIN_PIXELS) {
    const out = await encodeMp4Pipelined(spec, renderFrame);
    if (out !== null) return out;
  }
  return encodeMp4Inline(spec, renderFrame);
}

/**
 * Everything between initialize() and readFile() is synchronous, so concurrent calls in the same realm cannot
 * interleave inside the shared WASM instance.
 */
export async function encodeMp4Inline(spec: VideoSpec, renderFrame: (i: number, buf: Uint8Array) => void): Promise<Uint8Array> {
  const enc = await openEncoder(spec);
  let bytes: Uint8Array;
  try {
    const buf = new Uint8Array(spec.width * spec.height * 4);
    const yuv = new Uint8Array((spec.width * spec.height * 3) / 2);
    for (let i = 0; i < spec.frames; i++) {
      renderFrame(i, buf);
      rgbaToYuv420(buf, spec.width, spec.height, yuv);
      enc.add(yuv);
    }
    bytes = enc.finish();
  } finally {
    enc.close();
  }
  return finishMp4(bytes);
}

// ------------------------------------------------------------------ pipelined encoding

/** Below this many pixels × frames a second thread costs more (start-up, WASM instantiation) than it saves. */
const PIPELINE_MIN_PIXELS = 256 * 256 * 24;
/** frames rendered ahead of the encoder at most (bounds memory: each is one RGBA or YUV frame) */
const PIPELINE_DEPTH = 4;

/** a finished video leaves its encoder thread idle this long for the next one, then it ends */
const ENCODER_IDLE_MS = 60_000;

/**
 * This realm's encoder thread, kept between videos: a fresh thread would have to compile the encoder's WASM
 * again for every video and run it in JSC's slower tiers until the optimising compiler catches up, which on a
 * busy machine made pipelined encoding slower than encoding inline. One video at a time uses it.
 */
let encoderThread: { worker: Worker; busy: boolean; ready: boolean; idle: ReturnType<typeof setTimeout> | null } | null = null;
/** set when an encoder thread could not be started here: this realm encodes inline from then on */
let encoderUnavailable = false;
/** how long a fresh encoder thread may take to load before this video is encoded inline instead */
const ENCODER_START_MS = 15_000;

function acquireEncoderThread(): { worker: Worker; fresh: boolean } | null {
  if (encoderThread?.busy || encoderUnavailable) return null;
  if (encoderThread === null) {
    let worker: Worker;
    try {
      worker = new Worker(workerEntry('src/engine/local/encode-worker.ts'), { name: 'aigc-encoder' });
    } catch {
      encoderUnavailable = true;
      return null;
    }
    encoderThread = { worker, busy: false, ready: false, idle: null };
  }
  if (encoderThread.idle !== null) clearTimeout(encoderThread.idle);
  encoderThread.idle = null;
  encoderThread.busy = true;
  // referenced while it works (its replies are what this thread waits for), unreferenced while idle so that it
  // does not keep the process alive
  encoderThread.worker.ref();
  return { worker: encoderThread.worker, fresh: !encoderThread.ready };
}

/**
 * Waits for a fresh encoder thread's 'ready' (its module loaded). False when it failed to load (e.g. its file is
 * missing from a build): nothing has been rendered yet, so the caller can still encode inline.
 */
function encoderStarted(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      worker.onmessage = null;
      worker.onerror = null;
      worker.removeEventListener('close', onClose);
      resolve(ok);
    };
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ENCODER_START_MS);
    worker.onmessage = (ev: MessageEvent<EncoderReply>) => done(ev.data.type === 'ready');
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      done(false);
    };
    worker.addEventListener('close', onClose);
  });
}

function releaseEncoderThread(worker: Worker, ok: boolean) {
  worker.onmessage = null;
  worker.onerror = null;
  const t = encoderThread;
  if (t === null || t.worker !== worker) {
    worker.terminate();
    return;
  }
  if (!ok) {
    // after an error its state is unknown: drop it, the next video starts a fresh one
    encoderThread = null;
    worker.terminate();
    return;
  }
  t.busy = false;
  worker.unref();
  t.idle = setTimeout(() => {
    if (encoderThread === t && !t.busy) {
      encoderThread = null;
      worker.terminate();
    }
  }, ENCODER_IDLE_MS);
  t.idle.unref?.();
}

/** Ends this realm's encoder thread now if it is idle (tests; a running video keeps its thread). */
export function closeEncoderThread() {
  const t = encoderThread;
  if (t === null || t.busy) return;
  if (t.idle !== null) clearTimeout(t.idle);
  encoderThread = null;
  t.worker.terminate();
}

/**
 * Render on this thread, encode on the encoder thread (encode-worker.ts): while frame i is encoded, frame i+1
 * renders. Frames are transferred, not copied, and come back for reuse. The RGBA → YUV conversion goes to
 * whichever thread is ahead: here while rendering a frame takes less time than encoding one (i2v), on the encoder
 * thread otherwise (rendered scenes); the YUV and so the bytes are the same either way. Any error (render,
 * encoder, thread death) terminates the encoder thread; a video that completes leaves it idle for the next one
 * (see ENCODER_IDLE_MS). When this thread itself is terminated (a canceled task: the pool terminates the
 * generation worker), Bun terminates the nested encoder thread with it (test/engine.test.ts checks that).
 * Returns null when no encoder thread is available (the caller encodes inline).
 */
async function encodeMp4Pipelined(spec: VideoSpec, renderFrame: (i: number, buf: Uint8Array) => void): Promise<Uint8Array | null> {
  const got = acquireEncoderThread();
  if (got === null) return null;
  const { worker } = got;
  if (got.fresh) {
    if (!(await encoderStarted(worker))) {
      encoderUnavailable = true;
      releaseEncoderThread(worker, false);
      return null;
    }
    encoderThread!.ready = true;
  }
  let ok = false;
  let onClose: (() => void) | null = null;
  try {
    const W = spec.width,
      H = spec.height;
    const rgbaSize = W * H * 4;
    const yuvFree: Uint8Array[] = [],
      rgbaFree: Uint8Array[] = [];
    let inFlight = 0;
    // per-frame times (moving averages, ms): rendering here, encoding there
    let renderMs = 0,
      encodeMs = 0;
    let failed: Error | null = null;
    let wake: (() => void) | null = null;
    let result: Uint8Array | null = null;
    worker.onmessage = (ev: MessageEvent<EncoderReply>) => {
      const m = ev.data;
      if (m.type === 'free') {
        (m.buf.length === rgbaSize ? rgbaFree : yuvFree).push(m.buf);
        inFlight--;
        encodeMs = encodeMs === 0 ? m.ms : encodeMs * 0.8 + m.ms * 0.2;
      } else if (m.type === 'done') result = m.bytes;
      else if (m.type === 'error') failed = new Error(`h264 encoder: ${m.error}`);
      wake?.();
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      failed = new Error(`h264 encoder thread: ${ev.message ?? 'error'}`);
      wake?.();
    };
    onClose = () => {
      failed ??= new Error('h264 encoder thread exited');
      wake?.();
    };
    worker.addEventListener('close', onClose);
    const wait = () => new Promise<void>((res) => (wake = res)).then(() => void (wake = null));
    worker.postMessage({ type: 'init', spec } satisfies EncoderRequest);
    const buf = new Uint8Array(rgbaSize);
    for (let i = 0; i < spec.frames; i++) {
      while (inFlight >= PIPELINE_DEPTH && failed === null) await wait();
      if (failed) throw failed;
      const t0 = performance.now();
      // the slower side sheds the conversion: max(render, encode + yuv) < max(render + yuv, encode) iff render > encode
      if (encodeMs > 0 && renderMs > encodeMs) {
        const frame = rgbaFree.pop() ?? new Uint8Array(rgbaSize);
        renderFrame(i, frame);
        renderMs = renderMs * 0.8 + (performance.now() - t0) * 0.2;
        worker.postMessage({ type: 'frame', buf: frame, rgba: true } satisfies EncoderRequest, [frame.buffer as ArrayBuffer]);
      } else {
        renderFrame(i, buf);
        const t1 = performance.now();
        renderMs = renderMs === 0 ? t1 - t0 : renderMs * 0.8 + (t1 - t0) * 0.2;
        const yuv = yuvFree.pop() ?? new Uint8Array((W * H * 3) / 2);
        rgbaToYuv420(buf, W, H, yuv);
        worker.postMessage({ type: 'frame', buf: yuv, rgba: false } satisfies EncoderRequest, [yuv.buffer as ArrayBuffer]);
      }
      inFlight++;
    }
    worker.postMessage({ type: 'end' } satisfies EncoderRequest);
    while (result === null && failed === null) await wait();
    if (failed) throw failed;
    ok = true;
    return finishMp4(result!);
  } finally {
    if (onClose) worker.removeEventListener('close', onClose);
    releaseEncoderThread(worker, ok);
  }
}

/** `frame`: buf holds RGBA (the encoder thread converts) or YUV 4:2:0. */
export type EncoderRequest = { type: 'init'; spec: VideoSpec } | { type: 'frame'; buf: Uint8Array; rgba: boolean } | { type: 'end' };
/** `free`: the frame's buffer back, and the time encoding it took (ms, without the conversion). */
export type EncoderReply =
  | { type: 'ready' }
  | { type: 'free'; buf: Uint8Array; ms: number }
  | { type: 'done'; bytes: Uint8Array }
  | { type: 'error'; error: string };

/**
 * RGBA (alpha ignored) → planar YUV 4:2:0, BT.601 limited range — the same integer coefficients the
 * encoder's own addFrameRgba uses, but rounded and with each chroma sample averaged over its 2×2 block
 * (the encoder takes the top-left pixel). Width and height must be even.
 */
export function rgbaToYuv420(rgba: Uint8Array, w: number, h: number, out: Uint8Array) {
  const px = new Int32Array(rgba.buffer, rgba.byteOffset, w * h); // Int32: opaque pixels stay in int range
  const n = w * h;
  const cw = w >> 1;
  let up = n;
  let vp = n + (n >> 2);
  for (let y = 0; y < h; y += 2) {
    const r0 = y * w;
    const r1 = r0 + w;
    for (let cx = 0; cx < cw; cx++) {
      const i0 = r0 + 2 * cx;
      const i1 = r1 + 2 * cx;
      const a = px[i0]!,
        b = px[i0 + 1]!,
        c = px[i1]!,
        d = px[i1 + 1]!;
      const ar = a & 255,
        ag = (a >> 8) & 255,
        ab = (a >> 16) & 255;
      const br = b & 255,
        bg = (b >> 8) & 255,
        bb = (b >> 16) & 255;
      const cr = c & 255,
        cg = (c >> 8) & 255,
        cb = (c >> 16) & 255;
      const dr = d & 255,
        dg = (d >> 8) & 255,
        db = (d >> 16) & 255;
      out[i0] = ((66 * ar + 129 * ag + 25 * ab + 128) >> 8) + 16;
      out[i0 + 1] = ((66 * br + 129 * bg + 25 * bb + 128) >> 8) + 16;
      out[i1] = ((66 * cr + 129 * cg + 25 * cb + 128) >> 8) + 16;
      out[i1 + 1] = ((66 * dr + 129 * dg + 25 * db + 128) >> 8) + 16;
      const sr = ar + br + cr + dr,
        sg = ag + bg + cg + dg,
        sb = ab + bb + cb + db;
      out[up++] = ((-38 * sr - 74 * sg + 112 * sb + 512) >> 10) + 128;
      out[vp++] = ((112 * sr - 94 * sg - 18 * sb + 512) >> 10) + 128;
    }
  }
}

/** minimp4 stamps wall-clock creation/modification times; zero them so output is byte-deterministic. */
export function zeroTimestamps(b: Uint8Array) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const bx of walkBoxes(b)) {
    if (bx.type !== 'mvhd' && bx.type !== 'tkhd' && bx.type !== 'mdhd') continue;
    const body = bx.start + bx.header;
    const v1 = b[body] === 1;
    const n = v1 ? 16 : 8;
    for (let i = 0; i < n; i++) dv.setUint8(body + 4 + i, 0);
  }
}

// ------------------------------------------------------------------ MP4 boxes

export interface Box {
  type: string;
  start: number; // offset of the size field
  size: number; // total size including header
  header: number; // 8 or 16
}

export function readBoxes(b: Uint8Array, start: number, end: number): Box[] {
  const out: Box[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = start;
  while (o + 8 <= end) {
    let size = dv.getUint32(o);
    const type = String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);
    let header = 8;
    if (size === 1) {
      if (o + 16 > end) throw new Error('mp4: truncated largesize box');
      size = Number(dv.getBigUint64(o + 8));
      header = 16;
    } else if (size === 0) size = end - o;
    if (size < header || o + size > end) throw new Error(`mp4: bad box ${type} at ${o}`);
    out.push({ type, start: o, size, header });
    o += size;
  }
  return out;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'udta', 'mvex']);

/** Depth-first list of boxes (containers are descended; stsd → sample entries → avc1 children). */
export function walkBoxes(b: Uint8Array): (Box & { path: string })[] {
  const out: (Box & { path: string })[] = [];
  const rec = (s: number, e: number, path: string) => {
    for (const bx of readBoxes(b, s, e)) {
      const p = path ? `${path}/${bx.type}` : bx.type;
      out.push({ ...bx, path: p });
      const body = bx.start + bx.header;
      if (CONTAINERS.has(bx.type)) rec(body, bx.start + bx.size, p);
      else if (bx.type === 'stsd') rec(body + 8, bx.start + bx.size, p);
      else if (bx.type === 'avc1' || bx.type === 'avc3') rec(body + 78, bx.start + bx.size, p);
    }
  };
  rec(0, b.length, '');
  return out;
}

/** Move `moov` in front of `mdat` (progressive playback over HTTP), fixing chunk offsets. */
export function faststart(b: Uint8Array): Uint8Array {
  const top = readBoxes(b, 0, b.length);
  const moov = top.find((x) => x.type === 'moov');
  const mdat = top.find((x) => x.type === 'mdat');
  if (!moov || !mdat || moov.start < mdat.start) return b;
  // new layout: ftyp, moov, mdat (drop 'free' padding boxes)
  const order = [...top.filter((x) => x.type === 'ftyp'), moov, mdat];
  let total = 0;
  for (const x of order) total += x.size;
  const out = new Uint8Array(total);
  let o = 0;
  let newMdatStart = 0;
  let newMoovStart = 0;
  for (const x of order) {
    if (x === mdat) newMdatStart = o;
    if (x === moov) newMoovStart = o;
    out.set(b.subarray(x.start, x.start + x.size), o);
    o += x.size;
  }
  const delta = newMdatStart - mdat.start;
  const dv = new DataView(out.buffer);
  const rec = (s: number, e: number) => {
    for (const bx of readBoxes(out, s, e)) {
      const body = bx.start + bx.header;
      if (CONTAINERS.has(bx.type)) rec(body, bx.start + bx.size);
      else if (bx.type === 'stco') {
        const n = dv.getUint32(body + 4);
        for (let i = 0; i < n; i++) {
          const p = body + 8 + i * 4;
          dv.setUint32(p, dv.getUint32(p) + delta);
        }
      } else if (bx.type === 'co64') {
        const n = dv.getUint32(body + 4);
        for (let i = 0; i < n; i++) {
          const p = body + 8 + i * 8;
          dv.setBigUint64(p, dv.getBigUint64(p) + BigInt(delta));
        }
      }
    }
  };
  rec(newMoovStart + moov.header, newMoovStart + moov.size);
  return out;
}

export interface Mp4Info {
  width: number;
  height: number;
  sampleCount: number;
  timescale: number;
  duration: number; // media duration in timescale units
  seconds: number;
  hasAvcC: boolean;
  topLevel: string[];
}

/** Small MP4 inspector (first video track): used by tests and for sanity checks. */
export function inspectMp4(b: Uint8Array): Mp4Info {
  const boxes = walkBoxes(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const find = (suffix: string) => boxes.find((x) => x.path.endsWith(suffix));
  const stsz = find('stbl/stsz');
  const mdhd = find('mdia/mdhd');
  const tkhd = find('trak/tkhd');
  if (!stsz || !mdhd || !tkhd) throw new Error('mp4: missing stsz/mdhd/tkhd');
  const sampleCount = dv.getUint32(stsz.start + stsz.header + 8);
  const mb = mdhd.start + mdhd.header;
  const v = b[mb]!;
  const timescale = v === 1 ? dv.getUint32(mb + 20) : dv.getUint32(mb + 12);
  const duration = v === 1 ? Number(dv.getBigUint64(mb + 24)) : dv.getUint32(mb + 16);
  const tb = tkhd.start + tkhd.header;
  const tv = b[tb]!;
  const wOff = tb + (tv === 1 ? 88 : 76);
  return {
    width: dv.getUint32(wOff) >>> 16,
    height: dv.getUint32(wOff + 4) >>> 16,
    sampleCount,
    timescale,
    duration,
    seconds: duration / timescale,
    hasAvcC: !!find('avc1/avcC'),
    topLevel: readBoxes(b, 0, b.length).map((x) => x.type),
  };
}
