// H.264/MP4 encoder thread for pipelined video encoding (video.ts, encodeMp4Pipelined): receives frames (YUV 4:2:0,
// or RGBA converted here), encodes them in order and hands each buffer back for reuse with the encoding time;
// on 'end' posts the raw MP4 bytes.
import { openEncoder, rgbaToYuv420, type EncoderReply, type EncoderRequest, type OpenEncoder, type VideoSpec } from './video';

declare const self: Worker;

let enc: Promise<OpenEncoder> | null = null;
let spec: VideoSpec | null = null;
let yuv = new Uint8Array(0); // conversion scratch for RGBA frames
// messages are handled strictly in order: each waits for the one before (the encoder opens asynchronously)
let queue: Promise<void> = Promise.resolve();

const reply = (m: EncoderReply, transfer: ArrayBuffer[] = []) => self.postMessage(m, transfer);

async function handle(m: EncoderRequest) {
  if (m.type === 'init') {
    spec = m.spec;
    enc = openEncoder(m.spec);
    await enc;
  } else if (m.type === 'frame') {
    const e = await enc!;
    let frame = m.buf;
    if (m.rgba) {
      const { width: w, height: h } = spec!;
      if (yuv.length !== (w * h * 3) / 2) yuv = new Uint8Array((w * h * 3) / 2);
      rgbaToYuv420(m.buf, w, h, yuv);
      frame = yuv;
    }
    const t0 = performance.now();
    e.add(frame);
    reply({ type: 'free', buf: m.buf, ms: performance.now() - t0 }, [m.buf.buffer as ArrayBuffer]);
  } else {
    const e = await enc!;
    let bytes: Uint8Array;
    try {
      bytes = e.finish();
    } finally {
      e.close();
    }
    reply({ type: 'done', bytes }, [bytes.buffer as ArrayBuffer]);
  }
}

let failed = false;
self.onmessage = (ev: MessageEvent<EncoderRequest>) => {
  queue = queue.then(async () => {
    if (failed) return; // the parent rejects on the first error and terminates this thread
    try {
      await handle(ev.data);
    } catch (e) {
      failed = true;
      reply({ type: 'error', error: (e as Error)?.message ?? String(e) });
    }
  });
};

// tells the parent this thread loaded (it falls back to encoding inline when this never comes)
reply({ type: 'ready' });
