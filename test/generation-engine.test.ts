// The generation pipeline end to end with the real engine (real worker threads, real encoder): the tests that
// generate at the default sizes, kept in their own file (issue 15 §5) so that the parallel runner can place them.
import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { decodeImage } from '../src/media';
import { readLabels } from '../src/labels/carriers';
import { testEnv } from './support/env';
import { call, newUser, uploadPng as upload } from './support/http';
import { gradientPng } from './support/images';
import { probeVideo } from './support/ffprobe';
import { mp4Info, pngSize } from './support/media';
import { createTask, download, waitTask } from './support/tasks';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);



describe('generation end to end (real workers, real engine)', () => {
  test('t2i: created as processing, completes with a PNG of the requested size', async () => {
    const u = await newUser('t2i');
    const res = await call('POST', '/api/v1/generation', {
      token: u.token,
      body: { type: 't2i', prompt: '  sunset over the ocean  ', parameters: { width: 320, height: 200, seed: 7, extra: 'kept' } },
    });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('生成任务已创建');
    const d = res.body.data;
    expect(d.task_id).toMatch(/^task_[0-9a-f]{20}$/);
    expect(d.type).toBe('t2i');
    expect(d.prompt).toBe('sunset over the ocean');
    expect(d.parameters).toEqual({ width: 320, height: 200, seed: 7, extra: 'kept' });
    expect(d.status).toBe('processing');
    expect(d.created_at).toMatch(/Z$/);
    const done = await waitTask(u.token, d.task_id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${d.task_id}.png`);
    expect(done.completed_at).toMatch(/Z$/);
    const file = await download(u.token, done.result_url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(Number(file.headers.get('content-length'))).toBe(file.bytes.byteLength);
    expect(pngSize(file.bytes)).toEqual({ width: 320, height: 200 });
  });

  test('worker threads run at WORKER_PRIORITY=idle (SCHED_IDLE, Linux), the HTTP thread at the normal policy', async () => {
    const env = await testEnv();
    expect(env.config.workerPriority).toBe('idle'); // the default
    // the previous test ran a task, so at least one worker has received a job and lowered its priority
    // /proc/<pid>/task/<tid>/stat after the command name: field 41 (policy) is index 38; SCHED_IDLE = 5
    const policyOf = (tid: string) => Number(readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[38]);
    const threads = readdirSync(`/proc/${process.pid}/task`);
    expect(threads.filter((tid) => policyOf(tid) === 5).length).toBeGreaterThanOrEqual(1);
    expect(policyOf(String(process.pid))).toBe(0);
  });

  // (t2i's default size over HTTP, 1024×1024, is checked on the default image the real client requests:
  // test/client-replay.test.ts, 'what both replays produced')
  test('same prompt+seed ⇒ same pixels (each file labelled with its own task), other seed ⇒ other pixels', async () => {
    const u = await newUser('det');
    const p = (seed: number) => ({ seed, width: 384, height: 256 });
    const ids = [
      await createTask(u.token, { type: 't2i', prompt: 'forest at night', parameters: p(42) }),
      await createTask(u.token, { type: 't2i', prompt: 'forest at night', parameters: p(42) }),
      await createTask(u.token, { type: 't2i', prompt: 'forest at night', parameters: p(43) }),
    ];
    const results = [];
    for (const id of ids) {
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      results.push((await download(u.token, done.result_url)).bytes);
    }
    expect(pngSize(results[0])).toEqual({ width: 384, height: 256 });
    // the label names the task, so the files differ; what they show is the same
    expect(Buffer.compare(results[0], results[1])).not.toBe(0);
    const [a, b, c] = await Promise.all(results.map((r) => decodeImage(r)));
    expect(Buffer.compare(a.data, b.data)).toBe(0);
    expect(Buffer.compare(a.data, c.data)).not.toBe(0);
    expect(readLabels(results[0], 'png').map((v) => JSON.parse(v).ProduceID)).toEqual([ids[0]]);
    expect(readLabels(results[1], 'png').map((v) => JSON.parse(v).ProduceID)).toEqual([ids[1]]);
  });

  test('i2i: transforms the uploaded reference (by file_id or file_url) at its size', async () => {
    const u = await newUser('i2i');
    const ref = await upload(u, await gradientPng(200, 150));
    const byId = await createTask(u.token, { type: 'i2i', prompt: '油画效果', image: ref.file_id });
    const byUrl = await createTask(u.token, { type: 'i2i', prompt: 'grayscale', images: [ref.file_url], parameters: { strength: 1 } });
    for (const id of [byId, byUrl]) {
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      const png = (await download(u.token, done.result_url)).bytes;
      expect(pngSize(png)).toEqual({ width: 200, height: 150 });
    }
    const echo = await call('POST', '/api/v1/generation', { token: u.token, body: { type: 'i2i', prompt: 'sketch', image: ref.file_id } });
    expect(echo.body.data.image).toBe(ref.file_id);
  });

  test('t2v: an H.264 MP4 with duration × fps frames', async () => {
    const u = await newUser('t2v');
    const id = await createTask(u.token, {
      type: 't2v',
      prompt: 'ocean waves',
      parameters: { width: 192, height: 128, duration: 2, fps: 12 },
    });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${id}.mp4`);
    const file = await download(u.token, done.result_url);
    expect(file.headers.get('content-type')).toBe('video/mp4');
    const info = mp4Info(file.bytes);
    expect(info.top).toContain('ftyp');
    expect(info.top).toContain('moov');
    expect(info.top).toContain('mdat');
    expect(info.codec).toBe('avc1');
    expect(info.children).toContain('avcC');
    expect(info.sampleCount).toBe(24);
    expect(info.seconds).toBeCloseTo(2, 1);
    expect([info.width, info.height]).toEqual([192, 128]);
    expect(await probeVideo(file.bytes)).toEqual({ frames: 24, codec: 'h264', width: 192, height: 128 });
  });

  // t2v's defaults over HTTP (4 s at 24 fps, 512×512) are checked on the default video the real client requests
  // (test/client-replay.test.ts, 'what both replays produced'); the engine's own in test/engine.test.ts

  test('i2v: animates the key frame; Range requests get 206', async () => {
    const u = await newUser('i2v');
    const ref = await upload(u, await gradientPng(160, 160));
    const id = await createTask(u.token, { type: 'i2v', prompt: 'zoom in', images: [ref.file_id], parameters: { duration: 1, fps: 10, width: 160, height: 160 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const full = await download(u.token, done.result_url);
    const info = mp4Info(full.bytes);
    expect(info.codec).toBe('avc1');
    expect(info.sampleCount).toBe(10);
    expect(await probeVideo(full.bytes)).toEqual({ frames: 10, codec: 'h264', width: 160, height: 160 });
    const part = await download(u.token, done.result_url, { range: 'bytes=0-99' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${full.bytes.byteLength}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(Buffer.compare(part.bytes, full.bytes.subarray(0, 100))).toBe(0);
    const tail = await download(u.token, done.result_url, { range: 'bytes=-10' });
    expect(Buffer.compare(tail.bytes, full.bytes.subarray(full.bytes.byteLength - 10))).toBe(0);
    const bad = await download(u.token, done.result_url, { range: `bytes=${full.bytes.byteLength + 5}-` });
    expect(bad.status).toBe(416);
  });
});
