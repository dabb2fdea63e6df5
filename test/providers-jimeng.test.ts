// The `jimeng` provider (Volcengine visual, 即梦) end to end through the real HTTP interface, against a fake of the
// service that verifies every request's HMAC-SHA256 signature (test/fakes/jimeng.ts).
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { encodePng } from '../src/engine/local';
import { MSG_UNAVAILABLE } from '../src/generation/runner';
import { createJimengProvider, framesFor, jimengProvider, type JimengSettings, nearestAspectRatio } from '../src/providers/jimeng';
import { signJsonPost } from '../src/providers/volc-sign';
import { FAKE_AK, FAKE_SK, INPUT_RISK_WORD, type JimengFake, OUTPUT_RISK_WORD, startJimengFake } from './fakes/jimeng';
import { testEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, waitTask, until } from './support/tasks';
import { recordingLogger } from './support/logs';

setDefaultTimeout(60_000);

/** Every line the runner and the provider log. */
const { lines, log: recording } = recordingLogger();

const ALL = { t2i: 'jimeng', i2i: 'jimeng', t2v: 'jimeng', i2v: 'jimeng' } as const;
let fake: JimengFake;

function settings(over: Partial<JimengSettings> = {}): JimengSettings {
  const s = jimengProvider.settings({ VOLC_ACCESS_KEY: FAKE_AK, VOLC_SECRET_KEY: FAKE_SK, VOLC_VISUAL_URL: fake.url });
  return { ...s, pollMinMs: 20, pollMaxMs: 80, ...over };
}

const provider = (over: Partial<JimengSettings> = {}) =>
  createJimengProvider(settings(over), {
    log: recording,
    workers: 1,
    workerPriority: 'normal',
    maxOutputBytes: 64 * 1024 * 1024,
    downloadTimeoutMs: 10_000,
  });

async function usePool(over: Partial<JimengSettings> = {}, graceMs?: number) {
  const env = await testEnv();
  return env.replacePool({ providers: [provider(over)], routes: ALL, log: recording }, graceMs);
}

async function upload(u: TestUser, bytes: Uint8Array, type: string) {
  const res = await call('POST', '/api/v1/upload', { token: u.token, body: bytes, headers: { 'content-type': type } });
  expect(res.body.code).toBe(200);
  return res.body.data as { file_id: string; file_url: string };
}

async function refPng(): Promise<Uint8Array> {
  const w = 40;
  const h = 30;
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([i & 255, (i >> 2) & 255, 90, 255], i * 4);
  return encodePng({ width: w, height: h, data });
}

const submitsSince = (from: number) => fake.requests.slice(from).filter((r) => r.action === 'CVSync2AsyncSubmitTask');
const acceptedSince = (from: number) => submitsSince(from).filter((r) => r.code === 10000);


beforeAll(async () => {
  fake = await startJimengFake();
  await usePool();
});

afterAll(async () => {
  await (await testEnv()).replacePool();
  fake.stop();
});

describe('jimeng: the four types end to end (signed requests, real media)', () => {
  test('t2i: jimeng_t2i_v40, one image, size scaled to the 1024² minimum area, seed passed; bytes are the link’s', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    const id = await createTask(u.token, { type: 't2i', prompt: '雪地里的红狐狸', parameters: { width: 512, height: 256, seed: 7 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${id}.png`);
    const file = await download(u.token, done.result_url);
    await expectLabelledCopy(file.bytes, fake.png);
    const [sub] = acceptedSince(from);
    expect(sub!.body).toEqual({ req_key: 'jimeng_t2i_v40', prompt: '雪地里的红狐狸', seed: 7, width: 1449, height: 725, force_single: true });
    const polls = fake.requests.slice(from).filter((r) => r.action === 'CVSync2AsyncGetResult');
    expect(polls.length).toBe(3); // in_queue, generating, done
    expect(polls[0]!.body).toEqual({ req_key: 'jimeng_t2i_v40', task_id: expect.any(String), req_json: '{"return_url":true}' });
    // every request passed the fake's signature check
    expect(fake.requests.slice(from).every((r) => !r.authError)).toBe(true);
  });

  test('i2i: jimeng_i2i_v30 with the reference as binary_data_base64 (exact bytes) and strength as scale', async () => {
    const u = await newUser('jm');
    const png = await refPng();
    const ref = await upload(u, png, 'image/png');
    const from = fake.requests.length;
    const id = await createTask(u.token, { type: 'i2i', prompt: '油画风格', image: ref.file_id, parameters: { strength: 0.35, width: 640, height: 640 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.png);
    const [sub] = acceptedSince(from);
    expect(sub!.body.req_key).toBe('jimeng_i2i_v30');
    expect(sub!.body.binary_data_base64).toEqual([Buffer.from(png).toString('base64')]);
    expect(sub!.body.scale).toBe(0.35);
    expect([sub!.body.width, sub!.body.height]).toEqual([640, 640]);
  });

  test('t2v: jimeng_t2v_v30, frames = 24·10+1, aspect ratio from width/height; the MP4 is stored as served', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    const id = await createTask(u.token, { type: 't2v', prompt: '海浪拍打礁石', parameters: { duration: 10, width: 1280, height: 720 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${id}.mp4`);
    const file = await download(u.token, done.result_url);
    expect(file.headers.get('content-type')).toBe('video/mp4');
    await expectLabelledCopy(file.bytes, fake.mp4);
    const [sub] = acceptedSince(from);
    expect(sub!.body).toEqual({ req_key: 'jimeng_t2v_v30', prompt: '海浪拍打礁石', frames: 241, aspect_ratio: '16:9' });
    const poll = fake.requests.slice(from).find((r) => r.action === 'CVSync2AsyncGetResult');
    expect(poll!.body).toEqual({ req_key: 'jimeng_t2v_v30', task_id: expect.any(String) }); // no req_json for videos
  });

  test('i2v: jimeng_i2v_first_v30; a WebP key frame is sent as PNG (JPEG/PNG only); 4 s → 121 frames', async () => {
    const u = await newUser('jm');
    const webp = new Uint8Array(readFileSync(join(import.meta.dir, 'fixtures/sample.webp')));
    const ref = await upload(u, webp, 'image/webp');
    const from = fake.requests.length;
    const id = await createTask(u.token, { type: 'i2v', prompt: '镜头缓缓推进', images: [ref.file_id], parameters: { duration: 4 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.mp4);
    const [sub] = acceptedSince(from);
    expect(sub!.body.req_key).toBe('jimeng_i2v_first_v30');
    expect(sub!.body.frames).toBe(121);
    expect(sub!.body.aspect_ratio).toBeUndefined(); // the key frame decides
    const sent = Buffer.from(sub!.body.binary_data_base64[0], 'base64');
    expect([...sent.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  test('t2i with JIMENG_RETURN_URL=false: the image arrives as base64 in the poll answer and is stored exactly', async () => {
    await usePool({ returnUrl: false });
    try {
      const u = await newUser('jm');
      const from = fake.requests.length;
      const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'base64 please' }));
      expect(done.status).toBe('completed');
      await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.png);
      const poll = fake.requests.slice(from).find((r) => r.action === 'CVSync2AsyncGetResult');
      expect(poll!.body.req_json).toBe('{"return_url":false}');
      expect(acceptedSince(from)[0]!.body.width).toBeUndefined(); // no size asked, none sent
    } finally {
      await usePool();
    }
  });
});

describe('jimeng: retries, refusals, expiry', () => {
  test('HTTP 429 (code 50429) once: retried, the task completes, one job accepted', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.throttleNext(1, 'http');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'throttled once' }));
    expect(done.status).toBe('completed');
    expect(submitsSince(from).map((r) => r.status)).toEqual([429, 200]);
    expect(acceptedSince(from).length).toBe(1);
    expect(lines.some((l) => l.includes('HTTP 429') && l.includes('retry 1/'))).toBe(true);
  });

  test('HTTP 200 with code 50430 (concurrency limit) is retried too', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.throttleNext(2, 'ok');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2v', prompt: 'throttled twice' }));
    expect(done.status).toBe('completed');
    expect(submitsSince(from).map((r) => r.code)).toEqual([50430, 50430, 10000]);
  });

  test('HTTP 500 (code 50500) on a poll is retried; the job is not submitted again', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.hold = true;
    const id = await createTask(u.token, { type: 't2i', prompt: 'poll hiccup' });
    await until('the submission', () => acceptedSince(from).length === 1);
    fake.failNext(1);
    fake.release();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(acceptedSince(from).length).toBe(1);
    expect(fake.requests.slice(from).some((r) => r.code === 50500)).toBe(true);
  });

  test('input moderation (50412 at submit): failed with the Chinese message, provider text only in the log', async () => {
    const u = await newUser('jm');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: `一张${INPUT_RISK_WORD}图片` }));
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(JSON.stringify(done)).not.toMatch(/Risk|50412|127\.0\.0\.1|volc/i);
    expect(lines.some((l) => l.includes('refused it') && l.includes('Text Risk Not Pass'))).toBe(true);
  });

  test('output moderation (50516 when the video is done): failed with the same message', async () => {
    const u = await newUser('jm');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2v', prompt: `${OUTPUT_RISK_WORD}的视频` }));
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(lines.some((l) => l.includes('Post Video Risk Not Pass'))).toBe(true);
  });

  test('invalid input (50215): failed with 参数不被生成服务接受', async () => {
    await usePool({ reqKeys: { ...settings().reqKeys, t2i: 'jimeng_no_such_model' } });
    try {
      const u = await newUser('jm');
      const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'unknown req_key' }));
      expect(done.status).toBe('failed');
      expect(done.error).toBe('参数不被生成服务接受');
      expect(lines.some((l) => l.includes('Input invalid for this service'))).toBe(true);
    } finally {
      await usePool();
    }
  });

  test('the provider link expires after completion: our stored copy is still served', async () => {
    const u = await newUser('jm');
    const links = fake.links.length;
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2v', prompt: 'keep a copy' }));
    expect(done.status).toBe('completed');
    const link = fake.links[links]!;
    expect((await fetch(link)).status).toBe(200);
    fake.expireLinks();
    expect((await fetch(link)).status).toBe(403);
    const file = await download(u.token, done.result_url);
    expect(file.status).toBe(200);
    await expectLabelledCopy(file.bytes, fake.mp4);
  });

  test('a link already expired when the job finishes: failed with the generic message', async () => {
    const ttl = fake.linkTtlMs;
    fake.linkTtlMs = -1;
    try {
      const u = await newUser('jm');
      const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'too late' }));
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('HTTP 403') && !l.includes('x-signature'))).toBe(true);
    } finally {
      fake.linkTtlMs = ttl;
    }
  });
});

describe('jimeng: resume, cancel', () => {
  test('the runner stops mid-job: re-queued with the saved job; the next runner polls it, ONE submission', async () => {
    const env = await testEnv();
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.hold = true;
    const id = await createTask(u.token, { type: 't2v', prompt: 'survive a restart', parameters: { duration: 5 } });
    await until('a poll of the submitted job', () => acceptedSince(from).length === 1 && fake.requests.slice(from).some((r) => r.action === 'CVSync2AsyncGetResult'));
    const jobId = acceptedSince(from)[0]!;
    const taskId = [...fake.tasks.values()].at(-1)!.id;
    await env.pool.stop(0); // gives the running task back to the queue
    let pollsBefore: number;
    try {
      const [row] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
      expect(row!.status).toBe('processing'); // queued again: no lease, the saved job kept
      expect(row!.leaseUntil).toBeNull();
      expect(row!.provider).toBe('jimeng');
      expect(row!.providerJob).toEqual({ taskId, reqKey: 'jimeng_t2v_v30' });
      pollsBefore = fake.polls(taskId);
    } finally {
      await usePool(); // a new runner (as after a restart)
    }
    await until('the resumed job is polled', () => fake.polls(taskId) > pollsBefore);
    fake.release();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.mp4);
    expect(submitsSince(from).length).toBe(1);
    expect(jobId.body.req_key).toBe('jimeng_t2v_v30');
    expect(lines.some((l) => l.includes(`resuming jimeng task ${taskId}`))).toBe(true);
  });

  test('a saved job the service no longer knows (not_found): failed with the generic message, not resubmitted', async () => {
    const env = await testEnv();
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.hold = true;
    const id = await createTask(u.token, { type: 't2i', prompt: 'forgotten' });
    await until('the submission', () => acceptedSince(from).length === 1);
    await until('saved', async () => (await env.database.db.select().from(tasks).where(eq(tasks.id, id)))[0]!.providerJob != null);
    await env.pool.stop(0);
    const taskId = [...fake.tasks.values()].at(-1)!.id;
    fake.tasks.delete(taskId); // older than the 12 hours the service keeps tasks
    fake.release();
    await usePool();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(MSG_UNAVAILABLE);
    expect(submitsSince(from).length).toBe(1);
    expect(lines.some((l) => l.includes(`jimeng task ${taskId}: status not_found`))).toBe(true);
  });

  test('cancel: failed / 已取消 / canceled; polling stops (the API has no cancel call)', async () => {
    const u = await newUser('jm');
    const from = fake.requests.length;
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2v', prompt: 'cancel me' });
      await until('polling', () => fake.requests.slice(from).filter((r) => r.action === 'CVSync2AsyncGetResult').length >= 2);
      const taskId = [...fake.tasks.values()].at(-1)!.id;
      const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
      expect(res.body.code).toBe(200);
      const done = await waitTask(u.token, id);
      expect(done).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      await Bun.sleep(150);
      const polls = fake.polls(taskId);
      await Bun.sleep(300);
      expect(fake.polls(taskId)).toBe(polls);
      expect(fake.requests.slice(from).every((r) => r.action === 'CVSync2AsyncSubmitTask' || r.action === 'CVSync2AsyncGetResult')).toBe(true);
    } finally {
      fake.release();
    }
  });
});

describe('jimeng: signing and secrets', () => {
  test('the fake verifies signatures: a wrong secret, an unknown key, an old X-Date, a changed body are refused', async () => {
    const url = `${fake.url}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31`;
    const body = JSON.stringify({ req_key: 'jimeng_t2i_v40', prompt: 'x' });
    const creds = { accessKey: FAKE_AK, secretKey: FAKE_SK, region: 'cn-north-1', service: 'cv' };
    const post = async (headers: Record<string, string>, b = body) => {
      const res = await fetch(url, { method: 'POST', headers, body: b });
      return { status: res.status, json: (await res.json()) as any };
    };
    const good = await post(signJsonPost(url, body, creds));
    expect(good.status).toBe(200);
    expect(good.json).toMatchObject({ code: 10000, data: { task_id: expect.any(String) }, message: 'Success', status: 10000 });
    const wrong = await post(signJsonPost(url, body, { ...creds, secretKey: 'not-the-secret' }));
    expect(wrong.status).toBe(401);
    expect(wrong.json.ResponseMetadata).toMatchObject({ Service: 'cv', Region: 'cn-north-1', Action: 'CVSync2AsyncSubmitTask', Version: '2022-08-31' });
    expect(wrong.json.ResponseMetadata.Error).toMatchObject({ Code: 'SignatureDoesNotMatch', CodeN: 100010 });
    const unknown = await post(signJsonPost(url, body, { ...creds, accessKey: 'AKLTnobody' }));
    expect(unknown.status).toBe(401);
    expect(unknown.json.ResponseMetadata.Error.Code).toBe('InvalidAccessKey');
    const old = await post(signJsonPost(url, body, creds, new Date(Date.now() - 20 * 60 * 1000)));
    expect(old.status).toBe(400);
    expect(old.json.ResponseMetadata.Error).toMatchObject({ Code: 'InvalidTimestamp', CodeN: 100006 });
    const tampered = await post(signJsonPost(url, body, creds), body.replace('"x"', '"y"'));
    expect(tampered.json.ResponseMetadata.Error.Code).toBe('SignatureDoesNotMatch');
    const unsigned = await post({ 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
  });

  test('the adapter configured with a wrong secret: the task fails with the generic message, the error is only logged', async () => {
    await usePool({ secretKey: 'WRONG-secret-value-0123456789' });
    try {
      const u = await newUser('jm');
      const from = fake.requests.length;
      const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'wrong secret' }));
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(JSON.stringify(done)).not.toMatch(/Signature|100010|127\.0\.0\.1/);
      expect(fake.requests.slice(from).map((r) => r.authError)).toEqual(['SignatureDoesNotMatch']);
      expect(acceptedSince(from).length).toBe(0);
      expect(lines.some((l) => l.includes('unavailable') && l.includes('SignatureDoesNotMatch'))).toBe(true);
      expect(lines.some((l) => l.includes('WRONG-secret-value-0123456789'))).toBe(false);
    } finally {
      await usePool();
    }
  });

  test('an unknown access key: the gateway quotes it, the log line does not', async () => {
    await usePool({ accessKey: 'AKLTunknownaccesskey42' });
    try {
      const u = await newUser('jm');
      const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'unknown key' }));
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('InvalidAccessKey'))).toBe(true);
      expect(lines.some((l) => l.includes('AKLTunknownaccesskey42'))).toBe(false);
    } finally {
      await usePool();
    }
  });

  test('no key in any log line of this file', () => {
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) {
      expect(l).not.toContain(FAKE_SK);
      expect(l).not.toContain(FAKE_AK);
      expect(l).not.toMatch(/x-signature=|Authorization|HMAC-SHA256 Credential/);
    }
  });
});

describe('jimeng settings', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'jimeng-cfg-'));

  test('VOLC_ACCESS_KEY and VOLC_SECRET_KEY are required; defaults for the rest', () => {
    expect(() => jimengProvider.settings({})).toThrow(ConfigError);
    expect(() => jimengProvider.settings({})).toThrow(/VOLC_ACCESS_KEY/);
    expect(() => jimengProvider.settings({ VOLC_ACCESS_KEY: 'ak' })).toThrow(/VOLC_SECRET_KEY/);
    expect(() => jimengProvider.settings({ VOLC_ACCESS_KEY: 'ak', VOLC_SECRET_KEY: 'sk', VOLC_VISUAL_URL: 'ftp://x' })).toThrow(/VOLC_VISUAL_URL/);
    expect(() => jimengProvider.settings({ VOLC_ACCESS_KEY: 'ak', VOLC_SECRET_KEY: 'sk', JIMENG_CONCURRENCY: '0' })).toThrow(/JIMENG_CONCURRENCY/);
    expect(() => jimengProvider.settings({ VOLC_ACCESS_KEY: 'ak', VOLC_SECRET_KEY: 'sk', JIMENG_T2V_REQ_KEY: 'a b' })).toThrow(/JIMENG_T2V_REQ_KEY/);
    const s = jimengProvider.settings({ VOLC_ACCESS_KEY: 'ak', VOLC_SECRET_KEY: 'sk', JIMENG_I2V_REQ_KEY: 'jimeng_i2v_first_v30_1080' });
    expect(s).toMatchObject({
      baseUrl: 'https://visual.volcengineapi.com',
      reqKeys: { t2i: 'jimeng_t2i_v40', i2i: 'jimeng_i2i_v30', t2v: 'jimeng_t2v_v30', i2v: 'jimeng_i2v_first_v30_1080' },
      returnUrl: true,
      concurrency: 2,
    });
  });

  test('start-up: GENERATION_ROUTES=t2i=jimeng without keys stops with a line naming the variable', () => {
    const run = () => loadConfig({ DATA_DIR: dataDir(), GENERATION_ROUTES: 't2i=jimeng' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/VOLC_ACCESS_KEY/);
    const ok = loadConfig({ DATA_DIR: dataDir(), GENERATION_ROUTES: 't2v=jimeng', VOLC_ACCESS_KEY: 'ak', VOLC_SECRET_KEY: 'sk', FFMPEG_PATH: ffmpegPath });
    expect(ok.generationRoutes.t2v).toBe('jimeng');
  });

  test('parameter mapping: frames 24·n+1 for n ∈ {5, 10}; nearest listed aspect ratio', () => {
    expect([1, 5, 7, 8, 10].map(framesFor)).toEqual([121, 121, 121, 241, 241]);
    expect(nearestAspectRatio(1920, 1080)).toBe('16:9');
    expect(nearestAspectRatio(512, 512)).toBe('1:1');
    expect(nearestAspectRatio(720, 1280)).toBe('9:16');
    expect(nearestAspectRatio(2100, 900)).toBe('21:9');
    expect(nearestAspectRatio(800, 600)).toBe('4:3');
  });
});
