// Issue 13 end to end, through the HTTP API and the real runner: AI-content labels on every output (metadata label
// read back by our reader, by an independent chunk walker and by ffprobe; the visible mark in the pixels), the
// verify endpoint, and content review (the shipped keyword list, and an OpenAI-compatible moderation service).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { moderationVerdicts, tasks, users } from '../src/db/schema';
import { reviewCommand } from '../src/cli/review';
import { encodePng, runLocalEngine } from '../src/engine/local';
import { MSG_HELD, MSG_OUTPUT_REJECTED } from '../src/generation/runner';
import { createLabeller, inspectLabel } from '../src/labels';
import { buildAigcLabel, parseAigc, serializeAigc } from '../src/labels/aigc';
import { readLabels, writeLabel } from '../src/labels/carriers';
import { markGeometry } from '../src/labels/visible';
import { silentLogger } from '../src/logger';
import { decodeImage, type RGBAImage } from '../src/media';
import { createModerator } from '../src/moderation';
import type { Moderator } from '../src/moderation/types';
import type { GenerationProvider } from '../src/providers/types';
import { type FakeModeration, startFakeModeration } from './fakes/moderation';
import { testEnv, type TestEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, until, waitTask } from './support/tasks';
import ffprobe from '@ffprobe-installer/ffprobe';

setDefaultTimeout(60_000);

const SOURCE_TYPE = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

let env: TestEnv;
let u: TestUser;

beforeAll(async () => {
  env = await testEnv();
  await env.replacePool();
  u = await newUser('cs');
});
afterAll(() => env.replacePool());

/** PNG chunks (type and data), walked here independently of src/labels. */
function pngChunks(b: Uint8Array): { type: string; data: Uint8Array }[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = [];
  for (let at = 8; at + 12 <= b.length; ) {
    const len = dv.getUint32(at);
    out.push({ type: String.fromCharCode(...b.subarray(at + 4, at + 8)), data: b.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return out;
}

/** The visible mark: white text on the dark plate inside its text box, and the text's height in pixels. */
function markIn(img: RGBAImage) {
  const g = markGeometry(img.width, img.height);
  let white = 0;
  let dark = 0;
  let top = Infinity;
  let bottom = -1;
  for (let y = g.textBox.y; y < g.textBox.y + g.textBox.h; y++) {
    for (let x = g.textBox.x; x < g.textBox.x + g.textBox.w; x++) {
      const i = (y * img.width + x) * 4;
      const [r, gg, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
      if (r > 225 && gg > 225 && b > 225) {
        white++;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      } else if (r < 110 && gg < 110 && b < 110) dark++;
    }
  }
  return { white, dark, height: bottom - top + 1, shorter: Math.min(img.width, img.height) };
}

async function ffprobeJson(bytes: Uint8Array): Promise<any> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-probe-'));
  try {
    await Bun.write(join(dir, 'v.mp4'), bytes);
    const p = Bun.spawnSync([ffprobe.path, '-v', 'error', '-show_format', '-show_streams', '-of', 'json', join(dir, 'v.mp4')]);
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    return JSON.parse(p.stdout.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Frames `indices` of a video, decoded by ffmpeg. */
async function framesOf(bytes: Uint8Array, indices: number[]): Promise<RGBAImage[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-frames-'));
  try {
    await Bun.write(join(dir, 'v.mp4'), bytes);
    const select = indices.map((i) => `eq(n\\,${i})`).join('+');
    const p = Bun.spawnSync([ffmpegPath, '-v', 'error', '-i', join(dir, 'v.mp4'), '-vf', `select=${select}`, '-vsync', '0', join(dir, 'f%03d.png')]);
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
    return await Promise.all(files.map(async (f) => decodeImage(new Uint8Array(await Bun.file(join(dir, f)).arrayBuffer()))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const verdictsOf = (taskId: string) => env.database.db.select().from(moderationVerdicts).where(eq(moderationVerdicts.taskId, taskId)).orderBy(moderationVerdicts.id);

describe('labels on every output (AIGC_LABEL=full, the default)', () => {
  test('t2i: one XMP label (TC260:AIGC, IPTC source type) naming the task, signed; "AI生成" at ≥ 5% of the shorter side; review approved', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'a quiet lake under snowy mountains', parameters: { width: 640, height: 384, seed: 5 } });
    const done = await waitTask(u.token, id);
    expect(done).toMatchObject({ status: 'completed', review_status: 'approved' });
    expect(done.review_message).toBeUndefined();
    const file = (await download(u.token, done.result_url)).bytes;

    // our reader
    const r = inspectLabel(file, env.config.labels.verifyKeys);
    expect(r).toMatchObject({ format: 'png', labelled: true, valid: true, copies: 1, digital_source_type: SOURCE_TYPE });
    expect(r.label).toMatchObject({ Label: '1', ContentProducer: 'aigc-server', ProduceID: id, ContentPropagator: '', PropagateID: '', ReservedCode2: '' });
    expect(r.label!.ReservedCode1).toMatch(/^[0-9a-f]{64}$/);

    // an independent walk of the chunks: exactly one XMP iTXt, before the image data, holding the seven keys
    const chunks = pngChunks(file);
    const xmp = chunks.filter((c) => c.type === 'iTXt' && Buffer.from(c.data.subarray(0, 18)).toString('latin1') === 'XML:com.adobe.xmp\0');
    expect(xmp.length).toBe(1);
    expect(chunks.findIndex((c) => c.type === 'iTXt')).toBeLessThan(chunks.findIndex((c) => c.type === 'IDAT'));
    const text = Buffer.from(xmp[0].data).toString('utf8');
    expect(text).toContain('http://www.tc260.org.cn/ns/AIGC/1.0/');
    expect(text).toContain(SOURCE_TYPE);
    const value = /TC260:AIGC="([^"]*)"|<TC260:AIGC>([^<]*)</.exec(text)!;
    const json = JSON.parse((value[1] ?? value[2]).replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    expect(Object.keys(json)).toEqual(['Label', 'ContentProducer', 'ProduceID', 'ReservedCode1', 'ContentPropagator', 'PropagateID', 'ReservedCode2']);
    expect(JSON.stringify(json)).toMatch(/^[\x20-\x7e]+$/);

    // the visible mark, in the decoded pixels
    const img = await decodeImage(file);
    expect([img.width, img.height]).toEqual([640, 384]);
    const mark = markIn(img);
    expect(mark.white).toBeGreaterThan(50);
    expect(mark.dark).toBeGreaterThan(50);
    expect(mark.height).toBeGreaterThanOrEqual(Math.ceil(mark.shorter * 0.05));

    // poll and history carry the review status; both verdicts are kept
    const history = await call('GET', '/api/v1/user/generation_list', { token: u.token });
    expect(history.body.data.find((h: any) => h.task_id === id)).toMatchObject({ status: 'completed', review_status: 'approved' });
    const verdicts = await verdictsOf(id);
    expect(verdicts.map((v) => [v.stage, v.provider, v.decision])).toEqual([
      ['prompt', 'keywords', 'approve'],
      ['output', 'keywords', 'approve'],
    ]);
    expect(verdicts[0].subject).toBe('a quiet lake under snowy mountains');
    expect(verdicts[1].subject).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('t2v: the MP4 carries one AIGC item (ffprobe reads it) and the mark on frame 0 and at 2 s; frames and size unchanged', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'city lights at night', parameters: { width: 160, height: 128, duration: 3, fps: 8, seed: 3 } });
    const done = await waitTask(u.token, id);
    expect(done).toMatchObject({ status: 'completed', review_status: 'approved' });
    const file = (await download(u.token, done.result_url)).bytes;
    expect(readLabels(file, 'mp4').length).toBe(1);
    expect(inspectLabel(file, env.config.labels.verifyKeys)).toMatchObject({ format: 'mp4', labelled: true, valid: true, copies: 1 });
    const probe = await ffprobeJson(file);
    const tag = JSON.parse(probe.format.tags.AIGC);
    expect(tag.ProduceID).toBe(id);
    expect(probe.streams[0]).toMatchObject({ codec_name: 'h264', width: 160, height: 128 });
    const [first, atTwo] = await framesOf(file, [0, 16]);
    for (const f of [first, atTwo]) {
      const mark = markIn(f);
      expect(mark.white).toBeGreaterThan(10);
      expect(mark.height).toBeGreaterThanOrEqual(Math.ceil(mark.shorter * 0.05));
    }
  });

  test('AIGC_LABEL=metadata: the label without the mark (the engine\'s own pixels); off: the file as generated', async () => {
    const prompt = 'green hills, morning fog';
    const parameters = { width: 256, height: 256, seed: 11 };
    const plain = await decodeImage((await runLocalEngine({ type: 't2i', prompt, parameters, references: [] })).bytes);
    try {
      await env.replacePool({ labeller: createLabeller({ ...env.config.labels, mode: 'metadata' }) });
      const id = await createTask(u.token, { type: 't2i', prompt, parameters });
      const file = (await download(u.token, (await waitTask(u.token, id)).result_url)).bytes;
      expect(inspectLabel(file, env.config.labels.verifyKeys)).toMatchObject({ labelled: true, valid: true, copies: 1 });
      expect(Buffer.compare((await decodeImage(file)).data, plain.data)).toBe(0);

      await env.replacePool({ labeller: createLabeller({ ...env.config.labels, mode: 'off' }) });
      const off = await createTask(u.token, { type: 't2i', prompt, parameters });
      const raw = (await download(u.token, (await waitTask(u.token, off)).result_url)).bytes;
      expect(inspectLabel(raw, env.config.labels.verifyKeys)).toMatchObject({ labelled: false, copies: 0 });
      expect(Buffer.compare((await decodeImage(raw)).data, plain.data)).toBe(0);
    } finally {
      await env.replacePool();
    }
  });
});

describe('POST /api/v1/labels/verify', () => {
  let labelled: Uint8Array;
  let taskId: string;
  beforeAll(async () => {
    taskId = await createTask(u.token, { type: 't2i', prompt: 'verify me', parameters: { width: 128, height: 128 } });
    labelled = (await download(u.token, (await waitTask(u.token, taskId)).result_url)).bytes;
  });
  const verify = (body: Uint8Array | FormData, type?: string) =>
    call('POST', '/api/v1/labels/verify', { body, headers: type ? { 'content-type': type } : {} });

  test('no login needed: the raw file, or multipart field `file`: labelled and valid, with the fields', async () => {
    const raw = await verify(labelled, 'application/octet-stream');
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ code: 200, data: { labelled: true, valid: true, format: 'png', copies: 1, digital_source_type: SOURCE_TYPE } });
    expect(raw.body.data.label.ProduceID).toBe(taskId);
    const form = new FormData();
    form.append('file', new Blob([labelled], { type: 'image/png' }), 'x.png');
    const multi = await verify(form);
    expect(multi.body.data).toEqual(raw.body.data);
  });

  test('a changed field, or a label signed with another key: labelled, not valid; a retired key listed in AIGC_LABEL_OLD_KEYS still verifies', async () => {
    const parsed = parseAigc(readLabels(labelled, 'png')[0])!.label;
    const tampered = writeLabel(labelled, 'png', serializeAigc({ ...parsed, ProduceID: 'task_00000000000000000000' }));
    expect((await verify(tampered, 'image/png')).body.data).toMatchObject({ labelled: true, valid: false, copies: 1 });
    const otherKey = new Uint8Array(Buffer.from('another-deployment-key-0123456789-0123456789'));
    const foreign = writeLabel(labelled, 'png', serializeAigc(buildAigcLabel({ producer: 'aigc-server', propagator: '' }, taskId, otherKey)));
    expect((await verify(foreign, 'image/png')).body.data).toMatchObject({ labelled: true, valid: false });
    const config = loadConfig({ DATA_DIR: env.dataDir, JWT_SECRET: 'test-secret-0123456789-0123456789-abcdef', AIGC_LABEL_OLD_KEYS: 'another-deployment-key-0123456789-0123456789' });
    expect(inspectLabel(foreign, config.labels.verifyKeys)).toMatchObject({ labelled: true, valid: true });
  });

  test('unlabelled, unknown and empty bodies', async () => {
    const plain = await encodePng({ width: 8, height: 8, data: new Uint8Array(256).fill(200) });
    expect((await verify(plain, 'image/png')).body).toMatchObject({ code: 200, data: { labelled: false, valid: false, format: 'png', copies: 0, label: null } });
    expect((await verify(new Uint8Array(Buffer.from('just some text')), 'text/plain')).body.data).toMatchObject({ labelled: false, format: null });
    expect((await verify(labelled.subarray(0, 60), 'image/png')).body.data).toMatchObject({ labelled: false });
    expect((await verify(new Uint8Array(0), 'image/png')).body.code).toBe(400);
  });
});

describe('review with the shipped keyword list (MODERATION=keywords, the default)', () => {
  test('variants of a listed phrase (spaces, full-width, case, punctuation between characters) are refused with code 400; nothing is queued; each verdict is kept', async () => {
    const who = await newUser('kw');
    const variants = ['plan a terrorist attack', 'Terrorist   ATTACK now', 'ＴＥＲＲＯＲＩＳＴ　ａｔｔａｃｋ', 't-e-r-r-o-r-i-s-t a.t.t.a.c.k', '关于恐 怖·袭 击的画面', '恐怖袭击'];
    for (const prompt of variants) {
      const res = await call('POST', '/api/v1/generation', { token: who.token, body: { type: 't2i', prompt } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: 400, message: '提示词包含违规内容，请修改后重试' });
    }
    const neg = await call('POST', '/api/v1/generation', { token: who.token, body: { type: 't2i', prompt: 'a garden', parameters: { negative_prompt: 'no 恐怖 袭击 please' } } });
    expect(neg.body.code).toBe(400);
    expect((await call('GET', '/api/v1/user/generation_list', { token: who.token })).body.data).toEqual([]);
    const [me] = await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, who.account));
    const mine = await env.database.db
      .select()
      .from(moderationVerdicts)
      .where(and(eq(moderationVerdicts.userId, me.id), isNull(moderationVerdicts.taskId), eq(moderationVerdicts.decision, 'reject')));
    expect(mine.length).toBe(variants.length + 1);
    expect(mine.every((r) => r.provider === 'keywords' && r.stage === 'prompt' && r.categories.includes('terrorism') && (r.matched ?? []).length > 0)).toBe(true);
  });

  test('an innocent prompt that shares letters with a listed word is accepted', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'the therapist attacks the crossword at the terrace', parameters: { width: 64, height: 64 } });
    expect((await waitTask(u.token, id)).status).toBe('completed');
  });
});

describe('review by an OpenAI-compatible moderation service (MODERATION=openai)', () => {
  let fake: FakeModeration;
  let moderator: Moderator;
  let app: TestEnv['app'];
  let who: TestUser;
  const post = (body: unknown) => call('POST', '/api/v1/generation', { token: who.token, body, app });
  const poll = (id: string) => call('GET', `/api/v1/generation/${id}`, { token: who.token, app });
  const settings = (failMode: 'open' | 'closed') => ({ mode: 'openai' as const, baseUrl: fake.baseUrl, apiKey: fake.apiKey, model: 'omni-moderation-latest', reviewThreshold: 0.5, failMode, timeoutMs: 3000 });

  beforeAll(async () => {
    fake = await startFakeModeration();
    moderator = createModerator(settings('closed'), { log: silentLogger });
    app = env.makeApp({ moderator });
    await env.replacePool({ moderator });
    who = await newUser('oai');
  });
  afterAll(async () => {
    await env.replacePool();
    await fake.stop();
  });

  /** waits as the client does, through this app */
  async function settle(id: string) {
    for (let i = 0; i < 600; i++) {
      const r = await poll(id);
      expect(r.body.code).toBe(200);
      if (r.body.data.status !== 'processing') return r.body.data;
      await Bun.sleep(50);
    }
    throw new Error(`task ${id} did not end`);
  }

  /**
   * The poll once the review CLI's change shows. The CLI is another process in production: its UPDATE reaches this
   * instance's read cache by NOTIFY (api-notes: visible within 100 ms), so the poll right after the command may still
   * answer from memory on PostgreSQL. Waits at most 2 s for the review status to leave `pending`.
   */
  const reviewed = (id: string) =>
    until(`the review of ${id} to show`, async () => {
      const data = (await poll(id)).body.data;
      return data.review_status !== 'pending' && data;
    }, 2000);

  test('a flagged prompt is code 400; the service saw the prompt with the configured model', async () => {
    const res = await post({ type: 't2i', prompt: `a ${fake.flagWord} scene` });
    expect(res.body).toEqual({ code: 400, message: '提示词包含违规内容，请修改后重试' });
    expect(fake.requests.at(-1)!.body).toEqual({ model: 'omni-moderation-latest', input: `a ${fake.flagWord} scene` });
  });

  test('a prompt over the review threshold: generated, then held (failed, review pending) and never served; `review approve` completes it', async () => {
    const res = await post({ type: 't2i', prompt: `a ${fake.reviewWord} in the tavern`, parameters: { width: 96, height: 96 } });
    expect(res.body.code).toBe(200);
    const id = res.body.data.task_id;
    const held = await settle(id);
    expect(held).toMatchObject({ status: 'failed', error: MSG_HELD, review_status: 'pending', review_message: MSG_HELD });
    expect(held.result_url).toBeUndefined();
    const [row] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
    expect(row.resultUrl).toBeNull();
    expect(await env.storage.exists(row.resultKey!)).toBe(true);
    expect((await call('GET', `/generated_outputs/${id}.png`, { token: who.token, app })).status).toBe(404);

    const lines: string[] = [];
    expect(await reviewCommand({ db: env.database.db, storage: env.storage }, ['list'], (l) => lines.push(l))).toBe(0);
    expect(lines.some((l) => l.startsWith(id))).toBe(true);
    expect(await reviewCommand({ db: env.database.db, storage: env.storage }, ['approve', id], (l) => lines.push(l))).toBe(0);
    const approved = await reviewed(id);
    expect(approved).toMatchObject({ status: 'completed', review_status: 'approved', result_url: `/generated_outputs/${id}.png` });
    expect((await download(who.token, approved.result_url)).status).toBe(200);
    expect(await reviewCommand({ db: env.database.db, storage: env.storage }, ['approve', id], () => {})).toBe(1); // no longer held
    expect(await reviewCommand({ db: env.database.db, storage: env.storage }, ['approve', 'nope'], () => {})).toBe(2);
  });

  test('`review reject` keeps it failed, rejected, and deletes the stored output', async () => {
    const id = (await post({ type: 't2i', prompt: `${fake.reviewWord} at dawn`, parameters: { width: 64, height: 64 } })).body.data.task_id;
    await settle(id);
    const [before] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
    expect(await reviewCommand({ db: env.database.db, storage: env.storage }, ['reject', id, '含有暴力内容'], () => {})).toBe(0);
    expect(await reviewed(id)).toMatchObject({ status: 'failed', error: '含有暴力内容', review_status: 'rejected', review_message: '含有暴力内容' });
    expect(await env.storage.exists(before.resultKey!)).toBe(false);
  });

  test('an output the service flags: the task fails (生成内容未通过安全审核, rejected) and nothing is stored', async () => {
    // a remote provider that returns a mostly red picture
    const red = await encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).map((_, i) => [220, 20, 20, 255][i % 4]) });
    const provider: GenerationProvider = { name: 'red', types: ['t2i'], concurrency: 1, run: async () => ({ bytes: red, mime: 'image/png' }) };
    await env.replacePool({ moderator, providers: [provider], routes: { t2i: 'red' } });
    try {
      const id = (await post({ type: 't2i', prompt: 'a sunset' })).body.data.task_id;
      const done = await settle(id);
      expect(done).toMatchObject({ status: 'failed', error: MSG_OUTPUT_REJECTED, review_status: 'rejected' });
      expect(await env.storage.exists(`outputs/${id}.png`)).toBe(false);
      const out = (await verdictsOf(id)).find((v) => v.stage === 'output')!;
      expect(out).toMatchObject({ provider: 'openai', decision: 'reject' });
      expect(out.categories).toContain('violence/graphic');
      expect(out.scores['violence/graphic']).toBeGreaterThan(0.5);
    } finally {
      await env.replacePool({ moderator });
    }
  });

  test('a video is reviewed by frames the engine samples (PNG data URLs, one per request)', async () => {
    const from = fake.requests.length;
    const id = (await post({ type: 't2v', prompt: 'rain on a window', parameters: { width: 96, height: 96, duration: 1, fps: 8 } })).body.data.task_id;
    expect((await settle(id)).status).toBe('completed');
    const images = fake.requests.slice(from).filter((r) => Array.isArray(r.body?.input));
    expect(images.length).toBe(4);
    for (const r of images) expect(JSON.stringify(r.body!.input)).toContain('data:image/png;base64,');
  });

  test('the service down: closed refuses the prompt with code 503 and stores nothing; open lets it through and records the verdict as unavailable', async () => {
    fake.down = '503';
    try {
      const before = (await call('GET', '/api/v1/user/generation_list', { token: who.token, app })).body.data.length;
      const closed = await post({ type: 't2i', prompt: 'a red bicycle' });
      expect(closed.body).toEqual({ code: 503, message: '内容审核服务暂时不可用，请稍后重试' });
      expect((await call('GET', '/api/v1/user/generation_list', { token: who.token, app })).body.data.length).toBe(before);

      const open = createModerator(settings('open'), { log: silentLogger });
      const openApp = env.makeApp({ moderator: open });
      await env.replacePool({ moderator: open });
      const res = await call('POST', '/api/v1/generation', { token: who.token, app: openApp, body: { type: 't2i', prompt: 'a blue bicycle', parameters: { width: 64, height: 64 } } });
      expect(res.body.code).toBe(200);
      const id = res.body.data.task_id;
      expect((await settle(id)).status).toBe('completed');
      const verdicts = await verdictsOf(id);
      expect(verdicts.map((v) => [v.stage, v.decision, v.unavailable])).toEqual([
        ['prompt', 'approve', true],
        ['output', 'approve', true],
      ]);
    } finally {
      fake.down = false;
      await env.replacePool({ moderator });
    }
  });
});

describe('settings', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'cs-cfg-'));
  const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: dir(), JWT_SECRET: 'cfg-secret-0123456789-0123456789-abcdef', ...env });

  test('defaults: full labels, producer aigc-server, a key derived from JWT_SECRET; keywords review, closed', () => {
    const c = load({})();
    expect(c.labels).toMatchObject({ mode: 'full', producer: 'aigc-server', propagator: '' });
    expect(c.labels.verifyKeys.length).toBe(1);
    expect(Buffer.from(c.labels.key).equals(Buffer.from(load({})().labels.key))).toBe(true); // stable across restarts
    expect(Buffer.from(c.labels.key).equals(Buffer.from(load({ JWT_SECRET: 'other-secret-0123456789-0123456789-abcdef' })().labels.key))).toBe(false);
    expect(c.moderation).toMatchObject({ mode: 'keywords', failMode: 'closed' });
  });

  test('bad values name their variable', () => {
    expect(load({ AIGC_LABEL: 'visible' })).toThrow(/AIGC_LABEL/);
    expect(load({ AIGC_PRODUCER_CODE: '生成服务' })).toThrow(/AIGC_PRODUCER_CODE/);
    expect(load({ AIGC_PROPAGATOR_CODE: 'a b' })).toThrow(/AIGC_PROPAGATOR_CODE/);
    expect(load({ AIGC_LABEL_KEY: 'short' })).toThrow(/AIGC_LABEL_KEY/);
    expect(load({ AIGC_LABEL_OLD_KEYS: 'short' })).toThrow(/AIGC_LABEL_OLD_KEYS/);
    expect(load({ FFMPEG_PATH: '/nonexistent/ffmpeg' })).toThrow(/FFMPEG_PATH/);
    expect(load({ LABEL_VERIFY_MAX_BYTES: 'lots' })).toThrow(/LABEL_VERIFY_MAX_BYTES/);
  });

  test('a remote video route needs ffmpeg for the mark (full) or for review frames (openai); metadata-only does not', () => {
    const remote = { GENERATION_ROUTES: 't2v=openai', OPENAI_API_KEY: 'k', PATH: '/nonexistent' };
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent'; // Bun.which looks here
    try {
      expect(load(remote)).toThrow(/FFMPEG_PATH/);
      expect(load({ ...remote, AIGC_LABEL: 'metadata' })().labels.ffmpegPath).toBeNull();
      expect(load({ ...remote, AIGC_LABEL: 'metadata', MODERATION: 'openai', MODERATION_API_KEY: 'm' })).toThrow(/FFMPEG_PATH.*MODERATION=openai/);
      expect(load({ ...remote, FFMPEG_PATH: ffmpegPath })().labels.ffmpegPath).toBe(ffmpegPath);
    } finally {
      process.env.PATH = saved;
    }
  });
});
