// A fake OpenAI-compatible server (Images and Videos APIs), written from OpenAI's public API reference:
//   POST /v1/images/generations (JSON) and /v1/images/edits (multipart) → { created, data: [{ b64_json } | { url }], … }
//   POST /v1/videos (JSON, or multipart with `input_reference`) → a Video object
//   GET /v1/videos/{id} → { id, object: "video", model, status: queued|in_progress|completed|failed, progress, … }
//   GET /v1/videos/{id}/content → the MP4 bytes; DELETE /v1/videos/{id} → { id, object: "video.deleted", deleted }
// Errors are OpenAI's `{"error":{"message","type","param","code"}}` bodies: a wrong or missing key is 401
// invalid_api_key, a rate limit is 429 rate_limit_exceeded with the x-ratelimit-* and retry-after headers, a prompt
// the safety system blocks is 400 moderation_blocked (gpt-image / sora) or content_policy_violation (dall-e).
// Image links (dall-e style `url` answers) are signed storage links that expire (403 AuthenticationFailed XML,
// as Azure Blob Storage answers); video content expires at `expires_at` (404). Every request is recorded.
import { openaiAuthError, openaiError } from './openai-errors';
import { encodePng, runLocalEngine } from '../../src/engine/local';
import { probeImageSize } from '../../src/media';

export interface RecordedRequest {
  method: string;
  /** the path, e.g. /v1/videos/video_123 */
  path: string;
  query: string;
  authorization: string | null;
  contentType: string;
  /** a JSON body, or the text fields of a multipart body */
  fields: Record<string, unknown>;
  /** multipart files by field name */
  files: Record<string, { name: string; type: string; bytes: Uint8Array }>;
}

interface FakeVideo {
  id: string;
  model: string;
  prompt: string;
  size: string;
  seconds: string;
  status: 'queued' | 'in_progress' | 'completed' | 'failed';
  progress: number;
  polls: number;
  createdAt: number;
  completedAt: number | null;
  expiresAt: number | null;
  /** when the content stops being served (ms) */
  expiresMs: number | null;
  error: { code: string; message: string } | null;
  deleted: boolean;
}

export interface FakeOpenAI {
  /** e.g. http://127.0.0.1:1234/v1 (OPENAI_BASE_URL) */
  baseUrl: string;
  origin: string;
  apiKey: string;
  requests: RecordedRequest[];
  /** the image bytes served for each image request's prompt */
  imagesByPrompt: Map<string, Uint8Array>;
  /** every image link handed out */
  issuedLinks: string[];
  /** the bytes of every video's content */
  mp4: Uint8Array;
  videos: Map<string, FakeVideo>;
  /** answer images as `b64_json` (the GPT image models) or as `url` (dall-e's default) */
  imageFormat: 'b64_json' | 'url';
  /** how long an image link and a video's content stay downloadable */
  linkTtlMs: number;
  /** image requests wait this long before answering (a slow, synchronous generation) */
  imageDelayMs: number;
  /** GETs of a video until it completes (when not held) */
  pollsToComplete: number;
  /** while true, videos stay in_progress (their progress still grows, up to 90) */
  hold: boolean;
  /** the next requests matching `path` (a regexp on "METHOD /path") are answered with these */
  failNext(match: RegExp, kind: '429' | '500', times?: number): void;
  count(method: string, path: RegExp): number;
  stop(): Promise<void>;
}


const IMAGE_SIZES: [RegExp, string[]][] = [
  [/^dall-e-2/, ['256x256', '512x512', '1024x1024']],
  [/^dall-e-3/, ['1024x1024', '1792x1024', '1024x1792']],
  [/^gpt-image-1/, ['1024x1024', '1536x1024', '1024x1536', 'auto']],
];
const SORA_SIZES: [RegExp, string[]][] = [
  [/^sora-2-pro/, ['720x1280', '1280x720', '1024x1792', '1792x1024']],
  [/^sora-2/, ['720x1280', '1280x720']],
];
const sizesOf = (table: [RegExp, string[]][], model: string) => table.find(([re]) => re.test(model))?.[1] ?? null;
const listValues = (v: string[]) => v.map((x) => `'${x}'`).join(', ');

let mp4Cache: Promise<Uint8Array> | undefined;
/** A real MP4 from the local engine (made once per test process). */
export function fakeMp4(): Promise<Uint8Array> {
  mp4Cache ??= runLocalEngine({ type: 't2v', prompt: 'x', parameters: { width: 64, height: 64, duration: 1, fps: 8 }, references: [] }).then((o) => o.bytes);
  return mp4Cache;
}

/** A small real PNG, different for every n. */
export function fakePng(n: number): Promise<Uint8Array> {
  const width = 24;
  const height = 16;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = (n * 37 + i) & 255;
    data[i * 4 + 1] = (n * 91) & 255;
    data[i * 4 + 2] = (i * 7) & 255;
    data[i * 4 + 3] = 255;
  }
  return encodePng({ width, height, data });
}

export async function startFakeOpenAI(o: { apiKey?: string } = {}): Promise<FakeOpenAI> {
  const apiKey = o.apiKey ?? 'sk-fake-0123456789abcdefTESTKEY';
  const mp4 = await fakeMp4();
  const failures: { match: RegExp; kind: '429' | '500'; times: number }[] = [];
  const links = new Map<string, { bytes: Uint8Array; expires: number }>();
  let seq = 0;

  async function parseBody(req: Request): Promise<Pick<RecordedRequest, 'fields' | 'files'>> {
    const type = req.headers.get('content-type') ?? '';
    const fields: Record<string, unknown> = {};
    const files: RecordedRequest['files'] = {};
    if (type.includes('application/json')) {
      Object.assign(fields, await req.json().catch(() => ({ __invalid: true })));
    } else if (type.includes('multipart/form-data')) {
      const form = await req.formData();
      for (const [k, v] of form.entries()) {
        if (typeof v === 'string') fields[k] = v;
        else files[k] = { name: v.name, type: v.type, bytes: new Uint8Array(await v.arrayBuffer()) };
      }
    }
    return { fields, files };
  }

  const authError = (auth: string | null) => openaiAuthError(auth, apiKey);

  const videoJson = (v: FakeVideo) => ({
    id: v.id,
    object: 'video',
    model: v.model,
    status: v.status,
    progress: v.progress,
    created_at: v.createdAt,
    completed_at: v.completedAt,
    expires_at: v.expiresAt,
    prompt: v.prompt,
    size: v.size,
    seconds: v.seconds,
    remixed_from_video_id: null,
    error: v.error,
  });

  const refused = (prompt: string) => /forbidden/i.test(prompt);

  async function images(endpoint: 'generations' | 'edits', r: RecordedRequest, origin: string): Promise<Response> {
    const f = r.fields;
    if (f.__invalid) return openaiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.", 'invalid_request_error', null);
    const model = typeof f.model === 'string' ? f.model : 'dall-e-2';
    const prompt = f.prompt;
    if (typeof prompt !== 'string' || prompt === '') return openaiError(400, "Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt');
    if (endpoint === 'edits' && !r.files.image && !r.files['image[]']) return openaiError(400, "Missing required parameter: 'image'.", 'invalid_request_error', 'missing_required_parameter', 'image');
    if (model.startsWith('gpt-image') && 'response_format' in f) return openaiError(400, "Unknown parameter: 'response_format'.", 'invalid_request_error', 'unknown_parameter', 'response_format');
    const sizes = sizesOf(IMAGE_SIZES, model);
    if (f.size !== undefined && sizes && !sizes.includes(String(f.size))) {
      return openaiError(400, `Invalid value: '${f.size}'. Supported values are: ${listValues(sizes)}.`, 'invalid_request_error', 'invalid_value', 'size');
    }
    if (model.startsWith('gpt-image') && f.quality !== undefined && !['low', 'medium', 'high', 'auto'].includes(String(f.quality))) {
      return openaiError(400, `Invalid value: '${f.quality}'. Supported values are: 'low', 'medium', 'high', and 'auto'.`, 'invalid_request_error', 'invalid_value', 'quality');
    }
    if (fake.imageDelayMs) await Bun.sleep(fake.imageDelayMs);
    if (refused(prompt)) {
      return model.startsWith('dall-e')
        ? openaiError(400, 'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.', 'invalid_request_error', 'content_policy_violation')
        : openaiError(400, 'Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_0123456789abcdef.', 'image_generation_user_error', 'moderation_blocked');
    }
    const png = await fakePng(++seq);
    fake.imagesByPrompt.set(prompt, png);
    const created = Math.floor(Date.now() / 1000);
    if (fake.imageFormat === 'url') {
      const name = `img-${crypto.randomUUID()}.png`;
      links.set(name, { bytes: png, expires: Date.now() + fake.linkTtlMs });
      const se = new Date(Date.now() + fake.linkTtlMs).toISOString();
      const url = `${origin}/private/org-fake/user-fake/${name}?st=${encodeURIComponent(new Date().toISOString())}&se=${encodeURIComponent(se)}&sp=r&sv=2021-08-06&sr=b&sig=${crypto.randomUUID()}`;
      fake.issuedLinks.push(url);
      return Response.json({ created, data: [{ url, revised_prompt: prompt }] });
    }
    return Response.json({
      created,
      background: 'opaque',
      data: [{ b64_json: Buffer.from(png).toString('base64') }],
      output_format: 'png',
      quality: 'medium',
      size: typeof f.size === 'string' ? f.size : '1024x1024',
      usage: { input_tokens: 50, input_tokens_details: { image_tokens: endpoint === 'edits' ? 40 : 0, text_tokens: 10 }, output_tokens: 1056, total_tokens: 1106 },
    });
  }

  function createVideo(r: RecordedRequest): Response {
    const f = r.fields;
    const model = typeof f.model === 'string' ? f.model : 'sora-2';
    const prompt = f.prompt;
    if (typeof prompt !== 'string' || prompt === '') return openaiError(400, "Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt');
    const sizes = sizesOf(SORA_SIZES, model);
    const size = typeof f.size === 'string' ? f.size : '720x1280';
    if (sizes && !sizes.includes(size)) return openaiError(400, `Invalid value: '${size}'. Supported values are: ${listValues(sizes)}.`, 'invalid_request_error', 'invalid_value', 'size');
    const seconds = f.seconds === undefined ? '4' : String(f.seconds);
    if (sizes && !['4', '8', '12'].includes(seconds)) return openaiError(400, `Invalid value: '${seconds}'. Supported values are: '4', '8', and '12'.`, 'invalid_request_error', 'invalid_value', 'seconds');
    const ref = r.files.input_reference;
    if (ref && sizes) {
      const [w, h] = size.split('x').map(Number);
      const got = probeImageSize(ref.bytes);
      if (got.width !== w || got.height !== h) return openaiError(400, 'Inpaint image must match the requested width and height', 'invalid_request_error', null);
    }
    if (refused(prompt)) return openaiError(400, 'Your request was blocked by our moderation system.', 'invalid_request_error', 'moderation_blocked');
    const v: FakeVideo = {
      id: `video_${crypto.randomUUID().replace(/-/g, '')}`,
      model,
      prompt,
      size,
      seconds,
      status: 'queued',
      progress: 0,
      polls: 0,
      createdAt: Math.floor(Date.now() / 1000),
      completedAt: null,
      expiresAt: null,
      expiresMs: null,
      error: null,
      deleted: false,
    };
    fake.videos.set(v.id, v);
    return Response.json(videoJson(v));
  }

  /** Each GET moves a video on: queued → in_progress (progress grows) → completed (or failed, for "explodes"). */
  function advance(v: FakeVideo) {
    if (v.status === 'completed' || v.status === 'failed') return;
    v.polls++;
    v.status = 'in_progress';
    v.progress = Math.min(90, v.polls * 15);
    if (fake.hold || v.polls < fake.pollsToComplete) return;
    if (/explodes/i.test(v.prompt)) {
      v.status = 'failed';
      v.error = { code: 'moderation_blocked', message: 'The generated video was blocked by our moderation system.' };
      return;
    }
    v.status = 'completed';
    v.progress = 100;
    v.completedAt = Math.floor(Date.now() / 1000);
    v.expiresMs = Date.now() + fake.linkTtlMs;
    v.expiresAt = Math.floor(v.expiresMs / 1000);
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const u = new URL(req.url);
      const body = await parseBody(req);
      const r: RecordedRequest = {
        method: req.method,
        path: u.pathname,
        query: u.search,
        authorization: req.headers.get('authorization'),
        contentType: req.headers.get('content-type') ?? '',
        ...body,
      };
      fake.requests.push(r);
      const line = `${req.method} ${u.pathname}`;

      // the signed storage links of image answers: no API key, and they expire
      const link = /^\/private\/[^/]+\/[^/]+\/([^/]+)$/.exec(u.pathname);
      if (link && req.method === 'GET') {
        const l = links.get(link[1]);
        if (!l || Date.now() > l.expires || !u.searchParams.get('sig')) {
          return new Response(
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\nTime:' +
              new Date().toISOString() +
              '</Message><AuthenticationErrorDetail>Signed expiry time has to be after signed start time</AuthenticationErrorDetail></Error>',
            { status: 403, headers: { 'content-type': 'application/xml' } },
          );
        }
        return new Response(l.bytes, { headers: { 'content-type': 'image/png' } });
      }

      const denied = authError(r.authorization);
      if (denied) return denied;

      const f = failures.find((x) => x.match.test(line));
      if (f) {
        if (--f.times <= 0) failures.splice(failures.indexOf(f), 1);
        if (f.kind === '429') {
          return openaiError(
            429,
            'Rate limit reached for gpt-image-1 in organization org-fake on images per minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
            'requests',
            'rate_limit_exceeded',
            null,
            { 'retry-after': '1', 'x-ratelimit-limit-requests': '5', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' },
          );
        }
        return openaiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
      }

      if (line === 'POST /v1/images/generations') return images('generations', r, u.origin);
      if (line === 'POST /v1/images/edits') return images('edits', r, u.origin);
      if (line === 'POST /v1/videos') return createVideo(r);
      const m = /^\/v1\/videos\/([^/]+)(\/content)?$/.exec(u.pathname);
      if (m) {
        const v = fake.videos.get(decodeURIComponent(m[1]));
        const notFound = () => openaiError(404, `Video with id '${m[1]}' not found.`, 'invalid_request_error', null, 'video_id');
        if (!v || v.deleted) return notFound();
        if (req.method === 'GET' && !m[2]) {
          advance(v);
          return Response.json(videoJson(v));
        }
        if (req.method === 'GET' && m[2]) {
          if (v.status !== 'completed') return openaiError(400, 'Video is not ready yet, use GET /v1/videos/{video_id} to check status.', 'invalid_request_error', null);
          if (v.expiresMs !== null && Date.now() > v.expiresMs) return notFound();
          return new Response(fake.mp4, { headers: { 'content-type': 'video/mp4' } });
        }
        if (req.method === 'DELETE' && !m[2]) {
          v.deleted = true;
          return Response.json({ id: v.id, object: 'video.deleted', deleted: true });
        }
      }
      return openaiError(404, `Invalid URL (${req.method} ${u.pathname})`, 'invalid_request_error', null);
    },
  });

  const origin = `http://127.0.0.1:${server.port}`;
  const fake: FakeOpenAI = {
    baseUrl: `${origin}/v1`,
    origin,
    apiKey,
    requests: [],
    imagesByPrompt: new Map(),
    issuedLinks: [],
    mp4,
    videos: new Map(),
    imageFormat: 'b64_json',
    linkTtlMs: 60 * 60 * 1000,
    imageDelayMs: 0,
    pollsToComplete: 3,
    hold: false,
    failNext(match, kind, times = 1) {
      failures.push({ match, kind, times });
    },
    count(method, path) {
      return fake.requests.filter((r) => r.method === method && path.test(r.path)).length;
    },
    async stop() {
      await server.stop(true);
    },
  };
  return fake;
}
