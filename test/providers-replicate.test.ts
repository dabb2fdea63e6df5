// The `replicate` provider end to end: the real HTTP interface and runner against a fake Replicate predictions API
// (test/fakes/replicate.ts) — four types, versioned models, large references via /v1/files, progress from the logs,
// 429 with Retry-After, refusals and model failures, output removal, resume, cancel, settings, no key in the logs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { encodePng } from '../src/engine/local';
import { MSG_FAILED, MSG_UNAVAILABLE } from '../src/generation/runner';
import {
  createReplicateProvider,
  progressFromLogs,
  REPLICATE_DEFAULT_MODELS,
  REPLICATE_INLINE_MAX,
  type ReplicateSettings,
} from '../src/providers/replicate';
import { sampleMedia } from './fakes/dashscope';
import { type FakeReplicate, startFakeReplicate } from './fakes/replicate';
import { testEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, waitTask, until } from './support/tasks';
import { recordingLogger } from './support/logs';

setDefaultTimeout(60_000);

const { lines, log } = recordingLogger();
const rt = { maxOutputBytes: 64 * 1024 * 1024, downloadTimeoutMs: 10_000 };
const ROUTES = { t2i: 'replicate', i2i: 'replicate', t2v: 'replicate', i2v: 'replicate' } as const;
const VERSION = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';

let fake: FakeReplicate;
let u: TestUser;

const settings = (over: Partial<ReplicateSettings> = {}): ReplicateSettings => ({
  token: fake.token,
  baseUrl: fake.url,
  models: { ...REPLICATE_DEFAULT_MODELS },
  concurrency: 4,
  poll: { initialMs: 20, factor: 1.5, maxMs: 100 },
  ...over,
});

async function usePool(over: Partial<ReplicateSettings> = {}, graceMs?: number) {
  const env = await testEnv();
  return env.replacePool({ providers: [createReplicateProvider(settings(over), rt)], routes: ROUTES, log }, graceMs);
}


async function row(id: string) {
  const env = await testEnv();
  return (await env.database.db.select().from(tasks).where(eq(tasks.id, id)))[0];
}

async function upload(user: TestUser, bytes: Uint8Array): Promise<string> {
  const res = await call('POST', '/api/v1/upload', { token: user.token, body: bytes, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return res.body.data.file_id;
}

/** A PNG of noise, too big to go inline (> 256 KB). */
async function bigPng(): Promise<Uint8Array> {
  const side = 320;
  const data = new Uint8Array(randomBytes(side * side * 4));
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return encodePng({ width: side, height: side, data });
}

const submissionFor = (prompt: string) => fake.submissions().filter((r) => r.body?.input?.prompt === prompt);
const pollsOf = (id: string) => fake.polls().filter((r) => r.path === `/v1/predictions/${id}`);

beforeAll(async () => {
  fake = await startFakeReplicate();
  u = await newUser('repl');
  await usePool();
});

afterAll(async () => {
  await (await testEnv()).replacePool();
  await fake.stop();
});

describe('replicate: the four types end to end', () => {
  test('t2i: an official model through /v1/models/{owner}/{name}/predictions; the bytes are Replicate’s', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'a koi pond', parameters: { width: 1024, height: 768, seed: 5, go_fast: true } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('image'));
    const [sub] = submissionFor('a koi pond');
    expect(sub.path).toBe('/v1/models/black-forest-labs/flux-schnell/predictions');
    expect(sub.authorized).toBe(true);
    expect(sub.body).toEqual({
      input: { prompt: 'a koi pond', seed: 5, num_outputs: 1, width: 1024, height: 768, aspect_ratio: '4:3', go_fast: true },
    });
    expect((await row(id)).providerJob).toMatchObject({ type: 't2i', model: 'black-forest-labs/flux-schnell' });
  });

  test('i2i: a small reference goes inline as a data URL, strength as prompt_strength', async () => {
    const { png } = await sampleMedia();
    const file = await upload(u, png);
    const id = await createTask(u.token, { type: 'i2i', prompt: 'as pencil art', image: file, parameters: { strength: 0.7 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('image'));
    const [sub] = submissionFor('as pencil art');
    expect(sub.path).toBe('/v1/models/black-forest-labs/flux-dev/predictions');
    expect(sub.body.input.image).toStartWith('data:image/png;base64,');
    expect(sub.body.input.prompt_strength).toBe(0.7);
  });

  test('i2i: a reference over 256 KB is uploaded with /v1/files and passed by its URL', async () => {
    const big = await bigPng();
    expect(big.byteLength).toBeGreaterThan(REPLICATE_INLINE_MAX);
    const file = await upload(u, big);
    const id = await createTask(u.token, { type: 'i2i', prompt: 'big reference', image: file });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const [sub] = submissionFor('big reference');
    const uploaded = fake.uploads.at(-1)!;
    expect(uploaded).toMatchObject({ type: 'image/png', size: big.byteLength });
    expect(sub.body.input.image).toBe(`${fake.url}/v1/files/${uploaded.id}`);
  });

  test('t2v: the video output (a single URL) is copied', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'a kite in the wind', parameters: { fps: 16 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('a kite in the wind');
    expect(sub.path).toBe('/v1/models/wan-video/wan-2.2-t2v-fast/predictions');
    expect(sub.body.input).toEqual({ prompt: 'a kite in the wind', frames_per_second: 16 });
  });

  test('i2v: the first frame goes as `image`', async () => {
    const { png } = await sampleMedia();
    const file = await upload(u, png);
    const id = await createTask(u.token, { type: 'i2v', prompt: 'the sea moves', image: file });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('the sea moves');
    expect(sub.path).toBe('/v1/models/wan-video/wan-2.2-i2v-fast/predictions');
    expect(sub.body.input.image).toStartWith('data:image/png;base64,');
  });

  test('a versioned model (owner/name:version) goes through POST /v1/predictions with `version`', async () => {
    await usePool({ models: { ...REPLICATE_DEFAULT_MODELS, t2i: `stability-ai/sdxl:${VERSION}` } });
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'versioned model' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      const [sub] = submissionFor('versioned model');
      expect(sub.path).toBe('/v1/predictions');
      expect(sub.body.version).toBe(VERSION);
    } finally {
      await usePool();
    }
  });
});

describe('replicate: progress and failures', () => {
  test('progress parsed from the logs (" 45%|") is visible in a poll while the prediction runs', async () => {
    expect(progressFromLogs('  0%|   | 0/20\n 45%|████▌ | 9/20')).toBe(45);
    expect(progressFromLogs('Using seed: 1')).toBeUndefined();
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'show progress' });
      const seen = await until('progress in a poll', async () => {
        const res = await call('GET', `/api/v1/generation/${id}`, { token: u.token });
        return res.body.data.progress === 45 ? res.body.data : null;
      });
      expect(seen.status).toBe('processing');
      fake.hold = false;
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      expect(done.progress).toBeUndefined();
    } finally {
      fake.hold = false;
    }
  });

  test('429 "Request was throttled" with Retry-After is retried; the task completes', async () => {
    fake.throttle(1);
    const started = Date.now();
    const id = await createTask(u.token, { type: 't2i', prompt: 'throttled replicate' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(submissionFor('throttled replicate').length).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // it waited the Retry-After second
  });

  test('a prediction failed by the NSFW checker: 内容未通过安全审核, Replicate’s words only in the log', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'forbidden scene' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(JSON.stringify(done)).not.toMatch(/NSFW|replicate|127\.0\.0\.1/i);
    expect(lines.some((l) => l.includes('NSFW content detected'))).toBe(true);
  });

  test('a model crash fails the task with the generic failure message', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'crash-model now' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(MSG_FAILED);
    expect(done.error).not.toContain('CUDA');
  });

  test('input validation (422 with invalid_fields) fails with 参数不被生成服务接受', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'too many steps for schnell', parameters: { steps: 10 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('参数不被生成服务接受');
    expect(lines.some((l) => l.includes('Input validation failed'))).toBe(true);
  });
});

describe('replicate: removal of outputs, resume, cancel', () => {
  test('outputs are removed after completion (404, data_removed); our stored copy is still served', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'copy before removal' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const { predictionId } = (await row(id)).providerJob as { predictionId: string };
    const link = `${fake.url}/delivery/xezq/${predictionId}/out-0.png`;
    expect((await fetch(link)).status).toBe(200);
    fake.removeOutputs();
    expect((await fetch(link)).status).toBe(404);
    const view: any = await (await fetch(`${fake.url}/v1/predictions/${predictionId}`, { headers: { authorization: `Bearer ${fake.token}` } })).json();
    expect(view).toMatchObject({ status: 'succeeded', data_removed: true, output: null });
    const copy = await download(u.token, done.result_url);
    expect(copy.status).toBe(200);
    await expectLabelledCopy(copy.bytes, fake.bytes('image'));
  });

  test('resume: the runner stops mid-prediction; the next one polls the saved prediction — one submission', async () => {
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 'i2v', prompt: 'resume replicate', image: await upload(u, (await sampleMedia()).png) });
      const job = await until('the saved job', async () => (await row(id)).providerJob as { predictionId: string } | null);
      await until('a poll', () => pollsOf(job.predictionId).length > 0);
      await usePool({}, 0);
      const before = pollsOf(job.predictionId).length;
      await until('a poll by the new runner', () => pollsOf(job.predictionId).length > before);
      fake.hold = false;
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
      expect(submissionFor('resume replicate').length).toBe(1);
    } finally {
      fake.hold = false;
    }
  });

  test('cancel: failed/已取消/canceled, and Replicate receives POST /v1/predictions/{id}/cancel', async () => {
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2v', prompt: 'cancel replicate' });
      const job = await until('the saved job', async () => (await row(id)).providerJob as { predictionId: string } | null);
      await until('a poll', () => pollsOf(job.predictionId).length > 0);
      const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
      expect(res.body.data).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      const cancel = await until('the replicate cancel', () => fake.cancels().find((r) => r.path === `/v1/predictions/${job.predictionId}/cancel`));
      expect(cancel.authorized).toBe(true);
      expect(await waitTask(u.token, id)).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      await until('the cancel logged', () => lines.some((l) => l.includes(`replicate prediction ${job.predictionId}: cancel answered, status canceled`)));
    } finally {
      fake.hold = false;
    }
  });

  test('a wrong token: generic failure; the 401 is logged without the token', async () => {
    const wrong = 'r8_wrongtoken0123456789';
    await usePool({ token: wrong });
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'wrong replicate token' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('Unauthenticated'))).toBe(true);
      expect(lines.join('\n')).not.toContain(wrong);
    } finally {
      await usePool();
    }
  });
});

describe('replicate: settings', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'replicate-config-'));
  const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: dataDir, FFMPEG_PATH: ffmpegPath, ...env });

  test('a route to replicate without REPLICATE_API_TOKEN stops start-up naming the variable', () => {
    expect(load({ GENERATION_ROUTES: 't2i=replicate' })).toThrow(ConfigError);
    expect(load({ GENERATION_ROUTES: 't2i=replicate' })).toThrow(/REPLICATE_API_TOKEN/);
  });

  test('an empty model names its variable when routed; a malformed one is refused; defaults otherwise', () => {
    expect(load({ GENERATION_ROUTES: 'i2i=replicate', REPLICATE_API_TOKEN: 't', REPLICATE_I2I_MODEL: '' })).toThrow(/REPLICATE_I2I_MODEL/);
    expect(load({ GENERATION_ROUTES: 't2i=replicate', REPLICATE_API_TOKEN: 't', REPLICATE_T2I_MODEL: 'sdxl:123' })).toThrow(/REPLICATE_T2I_MODEL/);
    const config = load({ GENERATION_ROUTES: 't2i=replicate', REPLICATE_API_TOKEN: 't', REPLICATE_BASE_URL: 'https://replicate.example/' })();
    expect(config.providerSettings.replicate).toEqual({
      token: 't',
      baseUrl: 'https://replicate.example',
      models: REPLICATE_DEFAULT_MODELS,
      concurrency: 4,
    });
  });
});

test('replicate: the token never reaches a log line', () => {
  expect(lines.length).toBeGreaterThan(10);
  expect(lines.join('\n')).not.toContain(fake.token);
});
