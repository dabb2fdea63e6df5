// The `comfyui` provider end to end: the real HTTP interface and runner against a fake ComfyUI server
// (test/fakes/comfyui.ts) — the four types (built-in t2i/i2i workflows, t2v/i2v from COMFYUI_WORKFLOW_DIR with the
// core SaveVideo and VideoHelperSuite output shapes), placeholders, progress and queue position, 429 retry, a
// refused workflow, a failed execution, output expiry, resume without resubmitting, cancel (queue delete and
// interrupt), polling without the socket, settings, and no token in the logs.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { MSG_FAILED, MSG_UNAVAILABLE } from '../src/generation/runner';
import { comfyuiProvider, MSG_INVALID } from '../src/providers/comfyui';
import { fillWorkflow, pickOutput, type ApiWorkflow } from '../src/providers/comfyui-workflow';
import type { Env } from '../src/providers/registry';
import { type FakeComfyUI, startFakeComfyUI } from './fakes/comfyui';
import { testEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, waitTask, until } from './support/tasks';
import { recordingLogger } from './support/logs';

setDefaultTimeout(60_000);

const TOKEN = `comfy-proxy-${crypto.randomUUID()}`;
const ROUTES_ENV = 't2i=comfyui,i2i=comfyui,t2v=comfyui,i2v=comfyui';
const ROUTES = { t2i: 'comfyui', i2i: 'comfyui', t2v: 'comfyui', i2v: 'comfyui' } as const;

const { lines, log } = recordingLogger();
const rt = { log, workers: 1, workerPriority: 'normal' as const, maxOutputBytes: 64 * 1024 * 1024, downloadTimeoutMs: 10_000 };

// t2v: the core nodes (CreateVideo → SaveVideo, whose video is listed under `images`)
const T2V: ApiWorkflow = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'wan2.1_t2v_1.3B.safetensors' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}, {{style}}', clip: ['1', 1] } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: '{{negative_prompt}}', clip: ['1', 1] } },
  '4': { class_type: 'EmptyHunyuanLatentVideo', inputs: { width: '{{width}}', height: '{{height}}', length: '{{frames}}', batch_size: 1 } },
  '5': {
    class_type: 'KSampler',
    inputs: { model: ['1', 0], seed: '{{seed}}', steps: '{{steps}}', cfg: 6, sampler_name: 'uni_pc', scheduler: 'simple', positive: ['2', 0], negative: ['3', 0], latent_image: ['4', 0], denoise: 1 },
  },
  '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
  '7': { class_type: 'CreateVideo', inputs: { images: ['6', 0], fps: '{{fps}}' } },
  '8': { class_type: 'SaveVideo', inputs: { video: ['7', 0], filename_prefix: 'video/aigc_{{seed}}', format: 'auto', codec: 'auto' } },
};
// i2v: VideoHelperSuite's combine node (its video is listed under `gifs`), plus a preview of the first frame
const I2V: ApiWorkflow = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'wan2.1_t2v_1.3B.safetensors' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['1', 1] } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: '{{negative_prompt}}', clip: ['1', 1] } },
  '4': { class_type: 'LoadImage', inputs: { image: '{{image}}' } },
  '5': { class_type: 'VAEEncode', inputs: { pixels: ['4', 0], vae: ['1', 2] } },
  '6': {
    class_type: 'KSampler',
    inputs: { model: ['1', 0], seed: '{{seed}}', steps: '{{steps}}', cfg: 6, sampler_name: 'euler', scheduler: 'normal', positive: ['2', 0], negative: ['3', 0], latent_image: ['5', 0], denoise: '{{strength}}' },
  },
  '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['1', 2] } },
  '8': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
  '9': {
    class_type: 'VHS_VideoCombine',
    inputs: { images: ['7', 0], frame_rate: '{{fps}}', loop_count: 0, filename_prefix: 'aigc_i2v', format: 'video/h264-mp4', pingpong: false, save_output: true },
  },
};

let fake: FakeComfyUI;
let u: TestUser;
let workflowDir: string;

const envFor = (over: Env = {}): Env => ({
  COMFYUI_URL: fake.url,
  COMFYUI_TOKEN: TOKEN,
  COMFYUI_WORKFLOW_DIR: workflowDir,
  GENERATION_ROUTES: ROUTES_ENV,
  ...over,
});

/** a runner with a fresh comfyui provider (as a restarted instance would have) */
async function usePool(over: Env = {}, graceMs?: number, routes: Partial<typeof ROUTES> = ROUTES) {
  const env = await testEnv();
  // the queue/history poll at 50–200 ms instead of 1–5 s: what is polled is the subject, not the production pace
  const provider = comfyuiProvider.create({ ...comfyuiProvider.settings(envFor(over)), pollMinMs: 50, pollMaxMs: 200 }, rt);
  return env.replacePool({ providers: [provider], routes, log }, graceMs);
}


const poll = async (id: string) => (await call('GET', `/api/v1/generation/${id}`, { token: u.token })).body.data;

async function row(id: string) {
  const env = await testEnv();
  return (await env.database.db.select().from(tasks).where(eq(tasks.id, id)))[0];
}

async function uploadPng(): Promise<{ file_id: string; bytes: Uint8Array }> {
  const res = await call('POST', '/api/v1/upload', { token: u.token, body: fake.png, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return { file_id: res.body.data.file_id, bytes: fake.png };
}

/** the workflow the fake accepted for a task (found by its prompt text) */
const acceptedFor = (prompt: string) => fake.accepted.filter((a) => JSON.stringify(a.prompt).includes(JSON.stringify(prompt).slice(1, -1)));

async function completedBytes(id: string) {
  const done = await waitTask(u.token, id);
  expect(done.error ?? null).toBeNull();
  expect(done.status).toBe('completed');
  return (await download(u.token, done.result_url)).bytes;
}

beforeAll(async () => {
  fake = await startFakeComfyUI({ token: TOKEN });
  workflowDir = mkdtempSync(join(tmpdir(), 'comfy-wf-'));
  writeFileSync(join(workflowDir, 't2v.json'), JSON.stringify(T2V, null, 2));
  writeFileSync(join(workflowDir, 'i2v.json'), JSON.stringify(I2V, null, 2));
  u = await newUser('comfy');
  await usePool();
});

afterEach(() => fake.reset());

afterAll(async () => {
  await (await testEnv()).replacePool();
  await fake.stop();
});

describe('comfyui: the four types end to end', () => {
  test('t2i (built-in workflow): placeholders keep their JSON types; the stored bytes are the /view bytes', async () => {
    const prompt = 'a red fox in a snowy forest';
    const id = await createTask(u.token, { type: 't2i', prompt, parameters: { width: 512, height: 768, seed: 42, steps: 8, negative_prompt: 'blurry' } });
    await expectLabelledCopy(await completedBytes(id), fake.png);

    const [sub] = acceptedFor(prompt);
    const nodes = Object.values(sub.prompt);
    const of = (cls: string) => nodes.filter((n) => n.class_type === cls);
    expect(of('EmptyLatentImage')[0].inputs).toMatchObject({ width: 512, height: 768, batch_size: 1 });
    expect(of('KSampler')[0].inputs).toMatchObject({ seed: 42, steps: 8, denoise: 1 });
    expect(of('CLIPTextEncode').map((n) => n.inputs.text)).toEqual([prompt, 'blurry']);
    expect(of('CheckpointLoaderSimple')[0].inputs.ckpt_name).toBe('sd_xl_base_1.0.safetensors');
    // queued with our prompt id and socket client id, which the task saved before the first poll
    const r = await row(id);
    expect(r.provider).toBe('comfyui');
    expect(r.providerJob).toMatchObject({ promptId: sub.promptId, clientId: sub.clientId, submitted: true });
    expect(fake.connections).toContain(sub.clientId!);
    // every request carried the proxy token
    expect(fake.requests.every((q) => q.authorized)).toBe(true);
  });

  test('t2i defaults: 1024×1024, 20 steps, an empty negative prompt, a seed derived from the task', async () => {
    const prompt = 'defaults please';
    const id = await createTask(u.token, { type: 't2i', prompt });
    await completedBytes(id);
    const [sub] = acceptedFor(prompt);
    const nodes = Object.values(sub.prompt);
    const sampler = nodes.find((n) => n.class_type === 'KSampler')!.inputs;
    expect(nodes.find((n) => n.class_type === 'EmptyLatentImage')!.inputs).toMatchObject({ width: 1024, height: 1024 });
    expect(sampler.steps).toBe(20);
    expect(Number.isSafeInteger(sampler.seed)).toBe(true);
    expect(nodes.filter((n) => n.class_type === 'CLIPTextEncode').map((n) => n.inputs.text)).toEqual([prompt, '']);
  });

  test('a server that picks its own prompt id (older ComfyUI): the id it answers is the one saved and followed', async () => {
    fake.acceptsPromptId = false;
    const prompt = 'an older server';
    const id = await createTask(u.token, { type: 't2i', prompt });
    await completedBytes(id);
    const [sub] = acceptedFor(prompt);
    const sent = fake.requests.find((r) => r.path === '/prompt' && r.method === 'POST' && r.body?.client_id === sub.clientId)!;
    expect(sent.body.prompt_id).not.toBe(sub.promptId);
    expect((await row(id)).providerJob).toMatchObject({ promptId: sub.promptId, submitted: true });
  });

  test('i2i (built-in workflow): the reference is uploaded and named in LoadImage; strength is the denoise', async () => {
    const ref = await uploadPng();
    const prompt = 'turn it into an oil painting';
    const uploadsBefore = fake.uploads.length;
    const id = await createTask(u.token, { type: 'i2i', prompt, image: ref.file_id, parameters: { strength: 0.4 } });
    await expectLabelledCopy(await completedBytes(id), fake.png);
    const up = fake.uploads.slice(uploadsBefore);
    expect(up).toHaveLength(1);
    expect(Buffer.from(up[0].bytes).equals(Buffer.from(ref.bytes))).toBe(true);
    const nodes = Object.values(acceptedFor(prompt)[0].prompt);
    expect(nodes.find((n) => n.class_type === 'LoadImage')!.inputs.image).toBe(up[0].name);
    expect(nodes.find((n) => n.class_type === 'KSampler')!.inputs.denoise).toBe(0.4);
  });

  test('t2v (workflow file, core SaveVideo): the MP4 listed under `images`; frames = duration × fps + 1; text placeholders inside strings', async () => {
    const prompt = 'ocean waves at dusk';
    const id = await createTask(u.token, { type: 't2v', prompt, parameters: { duration: 2, fps: 8, seed: 7, style: 'cinematic', width: 640, height: 360 } });
    const bytes = await completedBytes(id);
    await expectLabelledCopy(bytes, fake.mp4);
    const done = await poll(id);
    expect(done.result_url).toBe(`/generated_outputs/${id}.mp4`);
    const wf = acceptedFor(prompt)[0].prompt;
    expect(wf['4'].inputs).toMatchObject({ width: 640, height: 360, length: 17 });
    expect(wf['7'].inputs.fps).toBe(8);
    expect(wf['2'].inputs.text).toBe(`${prompt}, cinematic`);
    expect(wf['8'].inputs.filename_prefix).toBe('video/aigc_7');
  });

  test('i2v (workflow file, VHS_VideoCombine): the MP4 listed under `gifs`, not the PNG preview', async () => {
    const ref = await uploadPng();
    const prompt = 'the picture comes alive';
    const id = await createTask(u.token, { type: 'i2v', prompt, image: ref.file_id, parameters: { fps: 12 } });
    await expectLabelledCopy(await completedBytes(id), fake.mp4);
    const wf = acceptedFor(prompt)[0].prompt;
    expect(wf['9'].inputs.frame_rate).toBe(12);
    expect(fake.uploads.some((x) => x.name === wf['4'].inputs.image)).toBe(true);
  });
});

describe('comfyui: progress, queue, retries, refusals, expiry', () => {
  test('queue_position while waiting behind another prompt, then progress while sampling', async () => {
    fake.holding = true;
    const other = fake.submitForeign();
    await until('the other prompt to hold the server', () => fake.waiting === 1);
    const id = await createTask(u.token, { type: 't2i', prompt: 'queued behind someone', parameters: { steps: 10 } });
    const queued = await until('queue_position in a poll', async () => {
      const d = await poll(id);
      return d.queue_position !== undefined ? d : null;
    });
    expect(queued.queue_position).toBe(1);
    expect(queued.status).toBe('processing');

    fake.release(); // the other prompt finishes; ours runs and holds halfway
    const running = await until('progress in a poll', async () => {
      const d = await poll(id);
      return d.progress !== undefined && d.queue_position === undefined ? d : null;
    });
    expect(running.progress).toBeGreaterThanOrEqual(1);
    expect(running.progress).toBeLessThan(100);
    expect(running.status).toBe('processing');
    expect(fake.state(other)).toBe('done');
    await until('the held progress (50%) to be recorded', async () => (await poll(id)).progress === 50);

    fake.holding = false;
    fake.release();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.progress ?? 100).toBe(100);
  });

  test('429 from the proxy on POST /prompt is retried (Retry-After) and the prompt is queued once', async () => {
    const prompt = 'rate limited once';
    const before = fake.count('POST', '/prompt');
    fake.failNext('POST /prompt', 429);
    const id = await createTask(u.token, { type: 't2i', prompt });
    await completedBytes(id);
    expect(fake.count('POST', '/prompt') - before).toBe(2);
    expect(acceptedFor(prompt)).toHaveLength(1);
  });

  test('503 while polling the history is retried', async () => {
    fake.failNext('GET /history/{prompt_id}', 503, 2);
    const id = await createTask(u.token, { type: 't2i', prompt: 'history hiccup' });
    await completedBytes(id);
  });

  test('a workflow the server refuses (400 node_errors): failed with a short Chinese message, the detail only in the log', async () => {
    fake.checkpoints = ['something_else.safetensors'];
    const id = await createTask(u.token, { type: 't2i', prompt: 'no such checkpoint' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(MSG_INVALID);
    const leaked = JSON.stringify(done);
    for (const s of ['ckpt', 'safetensors', 'Value not in list', '127.0.0.1', 'comfy', 'prompt_outputs_failed_validation']) expect(leaked).not.toContain(s);
    expect(lines.some((l) => l.includes(id) && l.includes('Value not in list'))).toBe(true);
  });

  test('an execution error (out of memory): failed with the generic message, the exception only in the log', async () => {
    fake.failExecution = 'Allocation on device 0 would exceed allowed memory. (out of memory)';
    const id = await createTask(u.token, { type: 't2i', prompt: 'too big for the GPU' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(MSG_FAILED);
    expect(JSON.stringify(done)).not.toContain('memory');
    expect(lines.some((l) => l.includes('out of memory') && l.includes('KSampler'))).toBe(true);
  });

  test('the output is cleaned up at the server after completion: our stored copy is still served', async () => {
    fake.expireOutputsAfterMs = 300;
    const id = await createTask(u.token, { type: 't2i', prompt: 'keep a copy' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const view = fake.requests.filter((r) => r.path === '/view').at(-1)!;
    await Bun.sleep(400);
    const gone = await fetch(`${fake.url}/view?${new URLSearchParams(view.query)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).toBe(404);
    const ours = await download(u.token, done.result_url);
    expect(ours.status).toBe(200);
    await expectLabelledCopy(ours.bytes, fake.png);
  });

  test('COMFYUI_URL with a path prefix (here ComfyUI\'s own /api): every route and the socket go under it', async () => {
    await usePool({ COMFYUI_URL: `${fake.url}/api/` });
    try {
      const before = fake.requests.length;
      const id = await createTask(u.token, { type: 't2i', prompt: 'behind a prefix' });
      await completedBytes(id);
      const seen = fake.requests.slice(before);
      expect(seen.map((r) => r.path)).toEqual(expect.arrayContaining(['/ws', '/prompt', '/view']));
      expect(seen.some((r) => r.path.startsWith('/history/'))).toBe(true);
      expect(seen.every((r) => r.api)).toBe(true);
    } finally {
      await usePool();
    }
  });

  test('without the socket (/ws refused) the history poll alone completes the task', async () => {
    fake.socketsEnabled = false;
    const id = await createTask(u.token, { type: 't2i', prompt: 'no socket today' });
    await completedBytes(id);
    expect(lines.some((l) => l.startsWith('WARN') && l.includes('socket'))).toBe(true);
  });
});

describe('comfyui: resume and cancel', () => {
  test('resume: the runner stops while the prompt runs; the next one follows the saved prompt, never queues it again', async () => {
    fake.holding = true;
    const prompt = 'survive a restart';
    const id = await createTask(u.token, { type: 't2i', prompt });
    await until('the prompt to run and hold', () => fake.waiting === 1);
    await until('progress in a poll', async () => (await poll(id)).progress !== undefined);

    await usePool({}, 0); // stop at once (the task is re-queued with its saved prompt) and start a new runner
    const saved = (await row(id)).providerJob as { promptId: string; clientId: string };
    await until('the new runner to reconnect its socket', () => fake.connections.filter((c) => c === saved.clientId).length >= 2);

    fake.holding = false;
    fake.release();
    await expectLabelledCopy(await completedBytes(id), fake.png);
    expect(acceptedFor(prompt)).toHaveLength(1);
    expect(lines.some((l) => l.includes(`resuming prompt ${saved.promptId}`))).toBe(true);
  });

  test('resume: the prompt finished while no runner was up; the next one reads it from the history', async () => {
    fake.holding = true;
    const prompt = 'finished while we were away';
    const id = await createTask(u.token, { type: 't2i', prompt });
    await until('the prompt to run and hold', () => fake.waiting === 1);
    await usePool({}, 0, {}); // a runner that claims nothing
    fake.holding = false;
    fake.release();
    const saved = (await row(id)).providerJob as { promptId: string };
    await until('the prompt to finish at the server', () => fake.state(saved.promptId) === 'done');
    await usePool();
    await expectLabelledCopy(await completedBytes(id), fake.png);
    expect(acceptedFor(prompt)).toHaveLength(1);
  });

  test('resume: stopped after the server queued the prompt but before its answer; our saved prompt id finds it', async () => {
    fake.holding = true;
    fake.stallPromptAnswerMs = 2000;
    const prompt = 'the answer was lost';
    const id = await createTask(u.token, { type: 't2i', prompt });
    await until('the server to queue it', () => acceptedFor(prompt).length === 1);
    const saved = (await row(id)).providerJob as { promptId: string; submitted: boolean };
    expect(saved.submitted).toBe(false); // saved before POST /prompt, under the id we chose
    expect(saved.promptId).toBe(acceptedFor(prompt)[0].promptId);

    await usePool({}, 0); // the run is aborted while it waits for the answer
    await until('the new runner to mark it submitted', async () => ((await row(id)).providerJob as { submitted: boolean }).submitted);
    fake.holding = false;
    fake.release();
    await expectLabelledCopy(await completedBytes(id), fake.png);
    expect(acceptedFor(prompt)).toHaveLength(1);
  });

  test('cancel while running: failed/已取消/canceled, and the server gets POST /interrupt {prompt_id}', async () => {
    fake.holding = true;
    const id = await createTask(u.token, { type: 't2i', prompt: 'cancel me while sampling' });
    await until('the prompt to run and hold', () => fake.waiting === 1);
    const { promptId } = (await row(id)).providerJob as { promptId: string };
    const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
    expect(res.body.code).toBe(200);
    const done = await poll(id);
    expect(done).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
    await until('the interrupt', () => fake.requests.some((r) => r.path === '/interrupt' && r.body?.prompt_id === promptId));
    await until('the prompt to end interrupted at the server', () => fake.state(promptId) === 'done');
    const history: any = await (await fetch(`${fake.url}/history/${promptId}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(history[promptId].status.status_str).toBe('error');
  });

  test('cancel while queued: the server gets POST /queue {delete: [prompt_id]}', async () => {
    fake.holding = true;
    fake.submitForeign();
    await until('the other prompt to hold the server', () => fake.waiting === 1);
    const id = await createTask(u.token, { type: 't2i', prompt: 'cancel me while queued' });
    await until('queue_position in a poll', async () => (await poll(id)).queue_position !== undefined);
    const { promptId } = (await row(id)).providerJob as { promptId: string };
    expect(fake.state(promptId)).toBe('pending');
    await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
    expect(await poll(id)).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
    await until('the queue delete', () => fake.requests.some((r) => r.method === 'POST' && r.path === '/queue' && r.body?.delete?.includes(promptId)));
    expect(fake.state(promptId)).toBeNull();
    expect(fake.requests.some((r) => r.path === '/interrupt' && r.body?.prompt_id === promptId)).toBe(false);
  });
});

describe('comfyui: settings, workflows, logs', () => {
  // start-up: loadConfig reads the settings of every provider a route names (src/providers/registry.ts)
  const configError = (env: Env): Error => {
    const dataDir = mkdtempSync(join(tmpdir(), 'comfy-cfg-'));
    try {
      loadConfig({ DATA_DIR: dataDir, FFMPEG_PATH: ffmpegPath, ...env });
    } catch (e) {
      return e as Error;
    }
    throw new Error('no error');
  };

  test('missing or bad settings stop start-up with one line naming the variable', () => {
    const noUrl = configError({ GENERATION_ROUTES: 't2i=comfyui' });
    expect(noUrl).toBeInstanceOf(ConfigError);
    expect(noUrl.message).toContain('COMFYUI_URL');
    expect(configError({ GENERATION_ROUTES: 't2i=comfyui', COMFYUI_URL: 'ftp://x' }).message).toContain('COMFYUI_URL');
    // t2v has no built-in workflow
    const noVideo = configError({ GENERATION_ROUTES: 't2v=comfyui', COMFYUI_URL: 'http://127.0.0.1:8188' });
    expect(noVideo).toBeInstanceOf(ConfigError);
    expect(noVideo.message).toContain('COMFYUI_WORKFLOW_DIR');
    expect(configError({ GENERATION_ROUTES: 'i2v=comfyui', COMFYUI_URL: 'http://127.0.0.1:8188', COMFYUI_WORKFLOW_DIR: '/nonexistent/dir' }).message).toContain(
      'COMFYUI_WORKFLOW_DIR',
    );
    // a UI-format export, and an i2v workflow that ignores the reference
    const dir = mkdtempSync(join(tmpdir(), 'comfy-bad-'));
    writeFileSync(join(dir, 't2v.json'), JSON.stringify({ nodes: [], links: [], version: 0.4 }));
    const { '4': _load, ...noImage } = I2V;
    writeFileSync(join(dir, 'i2v.json'), JSON.stringify({ ...noImage, '5': { class_type: 'EmptyLatentImage', inputs: { width: 8, height: 8, batch_size: 1 } } }));
    const ui = configError({ GENERATION_ROUTES: 't2v=comfyui', COMFYUI_URL: 'http://127.0.0.1:8188', COMFYUI_WORKFLOW_DIR: dir });
    expect(ui.message).toContain('API format');
    expect(ui.message).toContain('COMFYUI_WORKFLOW_DIR');
    writeFileSync(join(dir, 't2v.json'), JSON.stringify(T2V));
    expect(configError({ GENERATION_ROUTES: 'i2v=comfyui', COMFYUI_URL: 'http://127.0.0.1:8188', COMFYUI_WORKFLOW_DIR: dir }).message).toContain('{{image}}');
  });

  test('the provider declares t2v/i2v only when their workflow files exist', () => {
    const bare = comfyuiProvider.create(comfyuiProvider.settings({ COMFYUI_URL: 'http://127.0.0.1:8188', GENERATION_ROUTES: 't2i=comfyui' }), rt);
    expect([...bare.types]).toEqual(['t2i', 'i2i']);
    const full = comfyuiProvider.create(comfyuiProvider.settings(envFor()), rt);
    expect([...full.types]).toEqual(['t2i', 'i2i', 't2v', 'i2v']);
    expect(comfyuiProvider.settings({ COMFYUI_URL: 'http://h:8188/comfy/' }).url).toBe('http://h:8188/comfy');
    expect(() => comfyuiProvider.settings({ COMFYUI_URL: 'http://user:secret@h:8188' })).toThrow(/COMFYUI_URL.*COMFYUI_TOKEN/);
  });

  test('placeholders: exact values keep their JSON type, inside text they are text, values are not expanded again', () => {
    const wf: ApiWorkflow = {
      '1': { class_type: 'X', inputs: { seed: '{{seed}}', cfg: '{{strength}}', text: 'p: {{prompt}} / {{seed}}', link: ['2', 0], other: '{{unknown}}', n: 3 } },
    };
    const out = fillWorkflow(wf, { seed: 5, strength: 0.5, prompt: 'say {{seed}}' });
    expect(out['1'].inputs).toEqual({ seed: 5, cfg: 0.5, text: 'p: say {{seed}} / 5', link: ['2', 0], other: '{{unknown}}', n: 3 });
    expect(wf['1'].inputs.seed).toBe('{{seed}}'); // the template is untouched
  });

  test('outputs: saved files win over previews; videos are found under images (animated), gifs or videos', () => {
    const png = { filename: 'p.png', subfolder: '', type: 'temp' };
    expect(pickOutput({ '8': { images: [png] }, '9': { images: [{ filename: 'a_00001_.png', subfolder: 's', type: 'output' }] } }, 'image')).toMatchObject({ node: '9', filename: 'a_00001_.png', subfolder: 's' });
    expect(pickOutput({ '9': { images: [png] } }, 'video')).toBeNull();
    expect(pickOutput({ '3': { images: [{ filename: 'v_00001_.webm', subfolder: 'video', type: 'output' }], animated: [true] } }, 'video')?.filename).toBe('v_00001_.webm');
    expect(pickOutput({ '3': { gifs: [{ filename: 'x.mp4', subfolder: '', type: 'output', format: 'video/h264-mp4' }] } }, 'video')?.filename).toBe('x.mp4');
    expect(pickOutput({ '3': { videos: [{ filename: 'y.mov', subfolder: '', type: 'output' }] } }, 'video')?.filename).toBe('y.mov');
    expect(pickOutput({ '3': { text: ['hello'] } }, 'image')).toBeNull();
  });

  test('a wrong proxy token: the task fails with the generic message; no token in any log line', async () => {
    await usePool({ COMFYUI_TOKEN: 'wrong-token-value' });
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'wrong token' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('COMFYUI_TOKEN'))).toBe(true);
    } finally {
      await usePool();
    }
    const all = lines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('wrong-token-value');
  });
});
