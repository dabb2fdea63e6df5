// A fake DashScope (Alibaba Cloud Model Studio) asynchronous task API, written from its public reference:
//   POST /api/v1/services/aigc/{text2image|image2image}/image-synthesis, /video-generation/video-synthesis
//     (Authorization: Bearer <key>, X-DashScope-Async: enable) → { output: { task_id, task_status: "PENDING" }, request_id }
//   GET  /api/v1/tasks/{task_id} → output.task_status PENDING / RUNNING / SUCCEEDED / FAILED / CANCELED / UNKNOWN
//   POST /api/v1/tasks/{task_id}/cancel (PENDING tasks only)
// Errors are { code, message, request_id } (401 InvalidApiKey, 400 InvalidParameter / DataInspectionFailed,
// 429 Throttling.RateQuota); results are signed OSS links that answer 403 "Request has expired" after their deadline.
// It records every request so tests can count submissions and cancels. Real media: a PNG and an MP4 from the local
// engine (sampleMedia, shared with the other fakes).
import { randomUUID } from 'node:crypto';
import { encodePng, runLocalEngine } from '../../src/engine/local';
import { sniffMedia } from '../../src/media';

let media: Promise<{ png: Uint8Array<ArrayBuffer>; mp4: Uint8Array<ArrayBuffer> }> | undefined;

/** A real 16×16 PNG and a real 1 s 64×64 H.264 MP4 (made once). */
export function sampleMedia() {
  media ??= (async () => {
    const data = new Uint8Array(16 * 16 * 4);
    for (let i = 0; i < 16 * 16; i++) data.set([(i * 7) & 255, (i * 13) & 255, 200, 255], i * 4);
    const png = await encodePng({ width: 16, height: 16, data });
    const video = await runLocalEngine({ type: 't2v', prompt: 'x', parameters: { width: 64, height: 64, duration: 1, fps: 8 }, references: [] });
    return { png: new Uint8Array(png), mp4: new Uint8Array(video.bytes) };
  })();
  return media;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** the Authorization header matched the key */
  authorized: boolean;
  /** parsed JSON body, if any */
  body: any;
}

interface Task {
  id: string;
  kind: 'image' | 'video';
  status: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
  polls: number;
  submitTime: string;
  prompt: string;
  /** fail at the end with this code/message (an output inspection) */
  failWith?: { code: string; message: string };
  linkExpiresAt?: number;
}

export interface FakeDashScope {
  /** base URL (DASHSCOPE_BASE_URL) */
  url: string;
  key: string;
  requests: RecordedRequest[];
  /** while true, tasks stay PENDING */
  hold: boolean;
  /** polls of a task before it is done (the first poll turns it RUNNING) */
  pollsToFinish: number;
  /** how long a result link stays valid after the task succeeded */
  linkTtlMs: number;
  /** answer the next n submissions with 429 Throttling */
  throttle(n: number): void;
  /** makes every result link expired now */
  expireLinks(): void;
  submissions(): RecordedRequest[];
  cancels(): RecordedRequest[];
  polls(): RecordedRequest[];
  /** the bytes a succeeded task of that kind serves */
  bytes(kind: 'image' | 'video'): Uint8Array<ArrayBuffer>;
  stop(): Promise<void>;
}

const SUBMIT_PATHS: Record<string, 'image' | 'video'> = {
  '/api/v1/services/aigc/text2image/image-synthesis': 'image',
  '/api/v1/services/aigc/image2image/image-synthesis': 'image',
  '/api/v1/services/aigc/video-generation/video-synthesis': 'video',
};

/** DashScope's time format: "2025-01-08 16:03:59.840" (Beijing time in the real service; UTC here). */
const stamp = (d = new Date()) => d.toISOString().replace('T', ' ').replace('Z', '');

function isImageDataUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = /^data:(image\/[a-z+]+);base64,(.+)$/s.exec(v);
  if (!m) return false;
  const kind = sniffMedia(new Uint8Array(Buffer.from(m[2], 'base64')));
  return kind?.kind === 'image';
}

export async function startFakeDashScope(o: { key?: string } = {}): Promise<FakeDashScope> {
  const { png, mp4 } = await sampleMedia();
  const key = o.key ?? `sk-${randomUUID().replace(/-/g, '')}`;
  const tasks = new Map<string, Task>();
  let throttled = 0;

  const json = (status: number, body: unknown) => Response.json(body, { status });
  const error = (status: number, code: string, message: string) => json(status, { code, message, request_id: randomUUID() });

  const fake: FakeDashScope = {
    url: '',
    key,
    requests: [],
    hold: false,
    pollsToFinish: 2,
    linkTtlMs: 24 * 3600_000,
    throttle: (n) => {
      throttled = n;
    },
    expireLinks() {
      for (const t of tasks.values()) if (t.linkExpiresAt) t.linkExpiresAt = Date.now() - 1;
    },
    submissions: () => fake.requests.filter((r) => r.method === 'POST' && r.path in SUBMIT_PATHS),
    cancels: () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/cancel')),
    polls: () => fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/tasks/')),
    bytes: (kind) => (kind === 'image' ? png : mp4),
    stop: async () => server.stop(true),
  };

  function taskView(t: Task) {
    const output: Record<string, unknown> = { task_id: t.id, task_status: t.status, submit_time: t.submitTime };
    if (t.status !== 'PENDING') output.scheduled_time = t.submitTime;
    if (t.status === 'SUCCEEDED' || t.status === 'FAILED' || t.status === 'CANCELED') output.end_time = stamp();
    const link = `${fake.url}/oss/${t.id}.${t.kind === 'image' ? 'png' : 'mp4'}?Expires=${Math.floor((t.linkExpiresAt ?? 0) / 1000)}&OSSAccessKeyId=LTAI5tFakeAccessKey&Signature=fakeSig%3D`;
    if (t.status === 'SUCCEEDED') {
      if (t.kind === 'image') {
        output.results = [{ orig_prompt: t.prompt, actual_prompt: `${t.prompt}，高清写实`, url: link }];
        output.task_metrics = { TOTAL: 1, SUCCEEDED: 1, FAILED: 0 };
        return { request_id: randomUUID(), output, usage: { image_count: 1 } };
      }
      output.video_url = link;
      output.orig_prompt = t.prompt;
      return { request_id: randomUUID(), output, usage: { video_duration: 5, video_ratio: '1280*720', video_count: 1 } };
    }
    if (t.status === 'FAILED' && t.failWith) Object.assign(output, t.failWith);
    return { request_id: randomUUID(), output };
  }

  /** Checks a submission's body as the service does; an error Response, or null when acceptable. */
  function validate(path: string, body: any): Response | null {
    if (!body || typeof body !== 'object') return error(400, 'InvalidParameter', 'Required body invalid, please check the request body format.');
    if (typeof body.model !== 'string' || !body.model) return error(400, 'BadRequest.EmptyModel', 'Required parameter "model" missing from request.');
    const input = body.input;
    if (!input || typeof input !== 'object') return error(400, 'BadRequest.EmptyInput', 'Required input parameter missing from request.');
    if (path.includes('text2image') && typeof input.prompt !== 'string') return error(400, 'InvalidParameter', 'Field required: input.prompt');
    if (path.includes('image2image')) {
      if (body.model.startsWith('wanx2.1-imageedit')) {
        if (typeof input.function !== 'string') return error(400, 'InvalidParameter', 'Field required: input.function');
        if (!isImageDataUrl(input.base_image_url)) return error(400, 'InvalidParameter', 'The image format is not supported: input.base_image_url');
      } else if (!Array.isArray(input.images) || !input.images.every(isImageDataUrl)) {
        return error(400, 'InvalidParameter', 'Field required: input.images');
      }
    }
    if (path.includes('video-synthesis')) {
      const i2v = /i2v/.test(body.model);
      if (i2v && !isImageDataUrl(input.img_url)) return error(400, 'InvalidParameter', 'Field required: input.img_url');
      if (!i2v && typeof input.prompt !== 'string') return error(400, 'InvalidParameter', 'Field required: input.prompt');
    }
    const size = body.parameters?.size;
    if (size !== undefined && !/^\d+\*\d+$/.test(String(size))) return error(400, 'InvalidParameter', `The size ${size} is not supported.`);
    return null;
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      const text = req.method === 'GET' ? '' : await req.text();
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const authorized = req.headers.get('authorization') === `Bearer ${key}`;
      fake.requests.push({ method: req.method, path, authorized, body });

      // result links: signed OSS URLs, no DashScope key
      const link = /^\/oss\/([^/.]+)\.(png|mp4)$/.exec(path);
      if (link && req.method === 'GET') {
        const t = tasks.get(link[1]);
        if (!t || t.status !== 'SUCCEEDED') return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404, headers: { 'content-type': 'application/xml' } });
        if (Date.now() > (t.linkExpiresAt ?? 0)) {
          return new Response('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>', {
            status: 403,
            headers: { 'content-type': 'application/xml' },
          });
        }
        const bytes = t.kind === 'image' ? png : mp4;
        return new Response(bytes, { headers: { 'content-type': t.kind === 'image' ? 'image/png' : 'video/mp4' } });
      }

      if (!req.headers.get('authorization')) return error(401, 'InvalidApiKey', 'No API-key provided.');
      if (!authorized) return error(401, 'InvalidApiKey', 'Invalid API-key provided.');

      const kind = SUBMIT_PATHS[path];
      if (kind && req.method === 'POST') {
        if (req.headers.get('x-dashscope-async') !== 'enable') return error(403, 'AccessDenied', 'current user api does not support synchronous calls');
        if (throttled > 0) {
          throttled--;
          return error(429, 'Throttling.RateQuota', 'Requests rate limit exceeded, please try again later.');
        }
        const bad = validate(path, body);
        if (bad) return bad;
        const prompt = String(body.input.prompt ?? '');
        if (/forbidden/i.test(prompt)) return error(400, 'DataInspectionFailed', 'Input data may contain inappropriate content.');
        const t: Task = { id: randomUUID(), kind, status: 'PENDING', polls: 0, submitTime: stamp(), prompt };
        if (/unsafe-output/i.test(prompt)) t.failWith = { code: 'DataInspectionFailed', message: 'Output data may contain inappropriate content.' };
        tasks.set(t.id, t);
        return json(200, { output: { task_status: 'PENDING', task_id: t.id }, request_id: randomUUID() });
      }

      const cancel = /^\/api\/v1\/tasks\/([^/]+)\/cancel$/.exec(path);
      if (cancel && req.method === 'POST') {
        const t = tasks.get(cancel[1]);
        if (!t || t.status !== 'PENDING') {
          return error(400, 'UnsupportedOperation', 'Failed to cancel the task, please confirm if the task is in PENDING status.');
        }
        t.status = 'CANCELED';
        return json(200, { request_id: randomUUID() });
      }

      const get = /^\/api\/v1\/tasks\/([^/]+)$/.exec(path);
      if (get && req.method === 'GET') {
        const t = tasks.get(get[1]);
        if (!t) return json(200, { request_id: randomUUID(), output: { task_id: get[1], task_status: 'UNKNOWN' } });
        if ((t.status === 'PENDING' || t.status === 'RUNNING') && !fake.hold) {
          t.polls++;
          if (t.polls >= fake.pollsToFinish) {
            if (t.failWith) t.status = 'FAILED';
            else {
              t.status = 'SUCCEEDED';
              t.linkExpiresAt = Date.now() + fake.linkTtlMs;
            }
          } else t.status = 'RUNNING';
        }
        return json(200, taskView(t));
      }
      return error(404, 'NotFound', 'Not found.');
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
