// The `fal` provider end to end: the real HTTP interface and runner against a fake fal queue API
// (test/fakes/fal.ts) — four types, queue position while queued, 429 retry, refusals, link expiry, resume after a
// crash without resubmitting, cancel, settings, and no key in the logs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { MSG_UNAVAILABLE } from '../src/generation/runner';
import { createFalProvider, FAL_DEFAULT_MODELS, type FalSettings } from '../src/providers/fal';
import { sampleMedia } from './fakes/dashscope';
import { type FakeFal, startFakeFal } from './fakes/fal';
import { testEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, waitTask, until } from './support/tasks';
import { recordingLogger } from './support/logs';

setDefaultTimeout(60_000);

const { lines, log } = recordingLogger();
const rt = { maxOutputBytes: 64 * 1024 * 1024, downloadTimeoutMs: 10_000 };
const ROUTES = { t2i: 'fal', i2i: 'fal', t2v: 'fal', i2v: 'fal' } as const;

let fake: FakeFal;
let u: TestUser;

const settings = (over: Partial<FalSettings> = {}): FalSettings => ({
  key: fake.key,
  queueUrl: fake.url,
  models: { ...FAL_DEFAULT_MODELS },
  concurrency: 4,
  poll: { initialMs: 20, factor: 1.5, maxMs: 100 },
  ...over,
});

async function usePool(over: Partial<FalSettings> = {}, graceMs?: number) {
  const env = await testEnv();
  return env.replacePool({ providers: [createFalProvider(settings(over), rt)], routes: ROUTES, log }, graceMs);
}


async function row(id: string) {
  const env = await testEnv();
  return (await env.database.db.select().from(tasks).where(eq(tasks.id, id)))[0];
}

async function uploadPng(user: TestUser): Promise<string> {
  const { png } = await sampleMedia();
  const res = await call('POST', '/api/v1/upload', { token: user.token, body: png, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return res.body.data.file_id;
}

const submissionFor = (prompt: string) => fake.submissions().filter((r) => r.body?.prompt === prompt);
const pollsOf = (requestId: string) => fake.statusPolls().filter((r) => r.path.includes(requestId));

beforeAll(async () => {
  fake = await startFakeFal();
  u = await newUser('fal');
  await usePool();
});

afterAll(async () => {
  await (await testEnv()).replacePool();
  await fake.stop();
});

describe('fal: the four types end to end', () => {
  test('t2i: POST /fal-ai/flux/dev with Key auth; polled on the owner/app URLs; the bytes are fal’s', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'a lighthouse', parameters: { width: 512, height: 384, seed: 3, steps: 20, guidance_scale: 4 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('image'));
    const [sub] = submissionFor('a lighthouse');
    expect(sub.path).toBe('/fal-ai/flux/dev');
    expect(sub.authorized).toBe(true);
    expect(sub.body).toEqual({
      prompt: 'a lighthouse',
      seed: 3,
      num_inference_steps: 20,
      num_images: 1,
      image_size: { width: 512, height: 384 },
      guidance_scale: 4,
    });
    const job = (await row(id)).providerJob as { requestId: string; statusUrl: string };
    // status/result/cancel use owner/app only, not the endpoint path /dev
    expect(job.statusUrl).toBe(`${fake.url}/fal-ai/flux/requests/${job.requestId}/status`);
    expect(pollsOf(job.requestId).every((r) => r.authorized)).toBe(true);
  });

  test('i2i: the reference goes as image_url (a data URI) with strength', async () => {
    const file = await uploadPng(u);
    const id = await createTask(u.token, { type: 'i2i', prompt: 'as a watercolor', image: file, parameters: { strength: 0.8 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('image'));
    const [sub] = submissionFor('as a watercolor');
    expect(sub.path).toBe('/fal-ai/flux/dev/image-to-image');
    expect(sub.body.image_url).toStartWith('data:image/png;base64,');
    expect(sub.body.strength).toBe(0.8);
  });

  test('t2v: video.url is copied', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'a train at night', parameters: { fps: 16, num_frames: 81 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('a train at night');
    expect(sub.path).toBe('/fal-ai/wan-t2v');
    expect(sub.body).toEqual({ prompt: 'a train at night', frames_per_second: 16, num_frames: 81 });
  });

  test('i2v: the first frame goes as image_url', async () => {
    const file = await uploadPng(u);
    const id = await createTask(u.token, { type: 'i2v', prompt: 'clouds drift', image: file });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('clouds drift');
    expect(sub.path).toBe('/fal-ai/wan-i2v');
    expect(sub.body.image_url).toStartWith('data:image/png;base64,');
  });
});

describe('fal: queue position and failures', () => {
  test('queue_position is visible in a poll while the request waits in fal’s queue', async () => {
    fake.hold = true;
    fake.queueAhead = 3;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'wait in line' });
      const seen = await until('queue_position in a poll', async () => {
        const res = await call('GET', `/api/v1/generation/${id}`, { token: u.token });
        return res.body.data.queue_position === 3 ? res.body.data : null;
      });
      expect(seen.status).toBe('processing');
      fake.hold = false;
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      expect(done.queue_position).toBeUndefined();
    } finally {
      fake.hold = false;
      fake.queueAhead = 0;
    }
  });

  test('429 on submit is retried; the task completes', async () => {
    fake.throttle(1);
    const id = await createTask(u.token, { type: 't2i', prompt: 'throttled fal' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(submissionFor('throttled fal').length).toBe(2);
  });

  test('content_policy_violation (422 from the result) fails the task with 内容未通过安全审核', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'a forbidden thing' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(JSON.stringify(done)).not.toMatch(/content_policy|flagged|fal|127\.0\.0\.1/i);
    expect(lines.some((l) => l.includes('content_policy_violation'))).toBe(true);
  });

  test('an image flagged by the safety checker (has_nsfw_concepts) is refused, not stored', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'nsfw-output maybe' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
  });

  test('a model validation error (422 detail list) fails with 参数不被生成服务接受', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'too many steps', parameters: { steps: 120 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('参数不被生成服务接受');
  });
});

describe('fal: links, resume, cancel', () => {
  test('the CDN link expires after completion; our stored copy is still served', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'keep this video' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const job = (await row(id)).providerJob as { requestId: string };
    const link = `${fake.url}/files/${job.requestId}.mp4`;
    expect((await fetch(link)).status).toBe(200);
    fake.expireLinks();
    expect((await fetch(link)).status).toBe(404);
    const copy = await download(u.token, done.result_url);
    expect(copy.status).toBe(200);
    await expectLabelledCopy(copy.bytes, fake.bytes('video'));
  });

  test('resume (replacePool with grace 0): the new runner polls the saved request — one submission', async () => {
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'resume fal' });
      const job = await until('the saved job', async () => (await row(id)).providerJob as { requestId: string } | null);
      await until('a status poll', () => pollsOf(job.requestId).length > 0);
      await usePool({}, 0);
      const before = pollsOf(job.requestId).length;
      await until('a poll by the new runner', () => pollsOf(job.requestId).length > before);
      fake.hold = false;
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      expect(submissionFor('resume fal').length).toBe(1);
    } finally {
      fake.hold = false;
    }
  });

  test('kill -9 during the job: its lease runs out, another instance resumes it — one submission', async () => {
    const env = await testEnv();
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2v', prompt: 'crash during fal' });
      const job = await until('the saved job', async () => (await row(id)).providerJob as { requestId: string } | null);
      await until('a status poll', () => pollsOf(job.requestId).length > 0);
      // the instance vanishes: its work stops and the claim stays as it was, lease running out
      await env.pool.stop(0);
      await env.database.db.update(tasks).set({ leaseUntil: new Date(Date.now() - 1000), attempts: 1 }).where(eq(tasks.id, id));
      await usePool();
      fake.hold = false;
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('completed');
      await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
      expect(submissionFor('crash during fal').length).toBe(1);
      expect((await row(id)).attempts).toBe(2);
    } finally {
      fake.hold = false;
    }
  });

  test('cancel: failed/已取消/canceled, and fal receives PUT …/requests/{id}/cancel', async () => {
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'cancel fal' });
      const job = await until('the saved job', async () => (await row(id)).providerJob as { requestId: string } | null);
      await until('a status poll', () => pollsOf(job.requestId).length > 0);
      const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
      expect(res.body.data).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      const cancel = await until('the fal cancel', () => fake.cancels().find((r) => r.path === `/fal-ai/flux/requests/${job.requestId}/cancel`));
      expect(cancel.authorized).toBe(true);
      expect(await waitTask(u.token, id)).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      await until('the cancel logged', () => lines.some((l) => l.includes(`fal request ${job.requestId}: cancel CANCELLATION_REQUESTED`)));
    } finally {
      fake.hold = false;
    }
  });

  test('a wrong key: generic failure, the 401 is logged without the key', async () => {
    const wrong = 'badid:badsecret-0123456789';
    await usePool({ key: wrong });
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'wrong fal key' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('No user found for Key ID and Secret'))).toBe(true);
      expect(lines.join('\n')).not.toContain(wrong);
    } finally {
      await usePool();
    }
  });
});

describe('fal: settings', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fal-config-'));
  const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: dataDir, FFMPEG_PATH: ffmpegPath, ...env });

  test('a route to fal without FAL_KEY stops start-up naming the variable', () => {
    expect(load({ GENERATION_ROUTES: 't2i=fal' })).toThrow(ConfigError);
    expect(load({ GENERATION_ROUTES: 't2i=fal' })).toThrow(/FAL_KEY/);
  });

  test('an empty model names its variable when routed; a malformed model id is refused', () => {
    expect(load({ GENERATION_ROUTES: 'i2v=fal', FAL_KEY: 'k', FAL_I2V_MODEL: '  ' })).toThrow(/FAL_I2V_MODEL/);
    expect(load({ GENERATION_ROUTES: 't2i=fal', FAL_KEY: 'k', FAL_T2I_MODEL: 'flux' })).toThrow(/FAL_T2I_MODEL/);
    const config = load({ GENERATION_ROUTES: 't2i=fal,t2v=fal', FAL_KEY: 'k', FAL_T2V_MODEL: 'fal-ai/kling-video/v2.1/standard/text-to-video' })();
    expect(config.providerSettings.fal).toEqual({
      key: 'k',
      queueUrl: 'https://queue.fal.run',
      models: { ...FAL_DEFAULT_MODELS, t2v: 'fal-ai/kling-video/v2.1/standard/text-to-video' },
      concurrency: 4,
    });
  });
});

test('fal: the key never reaches a log line', () => {
  expect(lines.length).toBeGreaterThan(10);
  expect(lines.join('\n')).not.toContain(fake.key);
  expect(lines.join('\n')).not.toContain(fake.key.split(':')[1]);
});
