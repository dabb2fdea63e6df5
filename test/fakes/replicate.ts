// A fake Replicate HTTP API, written from its public reference:
//   POST /v1/models/{owner}/{name}/predictions { input } and POST /v1/predictions { version, input }
//        (Authorization: Bearer <token>) → 201 { id, model, version, input, logs, output: null, error: null,
//        status: "starting", created_at, data_removed, urls: { get, cancel, stream, web } }
//   GET  /v1/predictions/{id}   starting → processing (tqdm progress in `logs`) → succeeded (output URLs) | failed
//   POST /v1/predictions/{id}/cancel → the prediction, status "canceled"
//   POST /v1/files (multipart: content, filename, type) → 201 { id, urls: { get } }
// Errors are problem details: 401 { title: "Unauthenticated", detail, status }, 422 { title: "Input validation
// failed", detail, status, invalid_fields }, 404 { detail: "Not found." }, 429 { detail: "Request was throttled. …" }
// with Retry-After. Output files live under /delivery and answer 404 once removed (`data_removed: true`).
import { randomBytes } from 'node:crypto';
import { sniffMedia } from '../../src/media';
import { sampleMedia } from './dashscope';

export interface RecordedRequest {
  method: string;
  path: string;
  authorized: boolean;
  body: any;
}

interface Prediction {
  id: string;
  model: string;
  version: string;
  kind: 'image' | 'video';
  input: any;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  polls: number;
  logs: string;
  error: string | null;
  createdAt: string;
  completedAt?: string;
  dataRemoved: boolean;
}

export interface FakeReplicate {
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** while true, predictions stay `processing` with `heldProgress`% in their logs */
  hold: boolean;
  heldProgress: number;
  /** polls before a prediction ends (the first turns it processing) */
  pollsToFinish: number;
  throttle(n: number): void;
  /** removes every prediction's output now (as Replicate does an hour after it) */
  removeOutputs(): void;
  /** names of files uploaded with /v1/files */
  uploads: { id: string; filename: string; type: string; size: number }[];
  submissions(): RecordedRequest[];
  polls(): RecordedRequest[];
  cancels(): RecordedRequest[];
  bytes(kind: 'image' | 'video'): Uint8Array<ArrayBuffer>;
  stop(): Promise<void>;
}

/** Replicate ids look like "gm3qorzdhgbfurvjtvhg6dckhu". */
const newId = () => [...randomBytes(26)].map((b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31]).join('');

export async function startFakeReplicate(o: { token?: string } = {}): Promise<FakeReplicate> {
  const { png, mp4 } = await sampleMedia();
  const token = o.token ?? `r8_${randomBytes(18).toString('hex')}`;
  const store = new Map<string, Prediction>();
  const files = new Map<string, Uint8Array>();
  let throttled = 0;
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers });

  const fake: FakeReplicate = {
    url: '',
    token,
    requests: [],
    hold: false,
    heldProgress: 45,
    pollsToFinish: 3,
    uploads: [],
    throttle: (n) => {
      throttled = n;
    },
    removeOutputs() {
      for (const p of store.values()) if (p.status === 'succeeded') p.dataRemoved = true;
    },
    submissions: () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions')),
    polls: () => fake.requests.filter((r) => r.method === 'GET' && /^\/v1\/predictions\/[^/]+$/.test(r.path)),
    cancels: () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/cancel')),
    bytes: (kind) => (kind === 'image' ? png : mp4),
    stop: async () => server.stop(true),
  };

  const outputOf = (p: Prediction) => {
    if (p.status !== 'succeeded' || p.dataRemoved) return null;
    // image models answer a list of files, the video models one file
    return p.kind === 'image' ? [`${fake.url}/delivery/xezq/${p.id}/out-0.png`] : `${fake.url}/delivery/xezq/${p.id}/output.mp4`;
  };

  const view = (p: Prediction) => ({
    id: p.id,
    model: p.model,
    version: p.version,
    input: p.dataRemoved ? {} : p.input,
    logs: p.dataRemoved ? '' : p.logs,
    output: outputOf(p),
    data_removed: p.dataRemoved,
    error: p.error,
    status: p.status,
    created_at: p.createdAt,
    ...(p.status !== 'starting' ? { started_at: p.createdAt } : {}),
    ...(p.completedAt ? { completed_at: p.completedAt, metrics: { predict_time: 0.42 } } : {}),
    urls: {
      cancel: `${fake.url}/v1/predictions/${p.id}/cancel`,
      get: `${fake.url}/v1/predictions/${p.id}`,
      stream: `${fake.url}/stream/${p.id}`,
      web: `https://replicate.com/p/${p.id}`,
    },
  });

  const invalid = (field: string, description: string) =>
    json(422, { title: 'Input validation failed', detail: `- ${field}: ${description}\n`, status: 422, invalid_fields: [{ type: 'invalid', field, description }] });

  /** A file input: a data URL of an image, or a file uploaded here. */
  const isFileInput = (v: unknown) => {
    if (typeof v !== 'string') return false;
    const m = /^data:image\/[a-z+]+;base64,(.+)$/s.exec(v);
    if (m) return sniffMedia(new Uint8Array(Buffer.from(m[1], 'base64')))?.kind === 'image';
    const f = new RegExp(`^${fake.url}/v1/files/([a-z0-9]+)$`).exec(v);
    return !!f && files.has(f[1]);
  };

  function validate(model: string, input: any): Response | null {
    if (!input || typeof input !== 'object') return invalid('input', 'Invalid type. Expected: object, given: null');
    if (typeof input.prompt !== 'string') return invalid('input', 'prompt is required');
    if (model.endsWith('flux-schnell') && input.num_inference_steps !== undefined && input.num_inference_steps > 4) {
      return invalid('input.num_inference_steps', 'Must be less than or equal to 4');
    }
    if (/i2v|flux-dev/.test(model) && input.image !== undefined && !isFileInput(input.image)) return invalid('input.image', 'Does not match format \'uri\'');
    if (/i2v/.test(model) && input.image === undefined) return invalid('input', 'image is required');
    return null;
  }

  function advance(p: Prediction) {
    if (p.status !== 'starting' && p.status !== 'processing') return;
    if (fake.hold) {
      p.status = 'processing';
      p.logs = `Using seed: 1234\n${String(fake.heldProgress).padStart(3)}%|████▌     | ${Math.round(fake.heldProgress / 5)}/20 [00:02<00:03, 4.1it/s]\n`;
      return;
    }
    p.polls++;
    if (p.polls < fake.pollsToFinish) {
      p.status = 'processing';
      p.logs = `Using seed: 1234\n  0%|          | 0/4 [00:00<?, ?it/s]\n 50%|█████     | 2/4 [00:00<00:00, 4.2it/s]\n`;
      return;
    }
    p.completedAt = new Date().toISOString();
    if (/forbidden/.test(p.input.prompt)) {
      p.status = 'failed';
      p.error = 'NSFW content detected. Try running it again, or try a different prompt.';
    } else if (/crash-model/.test(p.input.prompt)) {
      p.status = 'failed';
      p.error = 'CUDA out of memory. Tried to allocate 2.00 GiB';
    } else {
      p.status = 'succeeded';
      p.logs += '100%|██████████| 4/4 [00:01<00:00, 4.0it/s]\n';
    }
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      const type = req.headers.get('content-type') ?? '';
      let body: any = null;
      let form: Awaited<ReturnType<Request["formData"]>> | null = null;
      if (req.method === 'POST' && type.startsWith('multipart/form-data')) form = await req.formData();
      else if (req.method === 'POST') {
        const text = await req.text();
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = text;
        }
      }
      const header = req.headers.get('authorization') ?? '';
      const authorized = header === `Bearer ${token}` || header === `Token ${token}`;
      fake.requests.push({ method: req.method, path, authorized, body: form ? '(multipart)' : body });

      const delivery = /^\/delivery\/xezq\/([^/]+)\/(out-0\.png|output\.mp4)$/.exec(path);
      if (delivery && req.method === 'GET') {
        const p = store.get(delivery[1]);
        if (!p || p.status !== 'succeeded' || p.dataRemoved) return new Response('Not Found', { status: 404 });
        return new Response(p.kind === 'image' ? png : mp4, { headers: { 'content-type': p.kind === 'image' ? 'image/png' : 'video/mp4' } });
      }

      if (!authorized) return json(401, { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });

      if (req.method === 'POST' && path === '/v1/files' && form) {
        const content = form.get('content');
        if (!(content instanceof Blob)) return json(400, { title: 'Bad request', detail: 'content is required', status: 400 });
        const id = newId();
        const bytes = new Uint8Array(await content.arrayBuffer());
        files.set(id, bytes);
        fake.uploads.push({ id, filename: String(form.get('filename') ?? ''), type: String(form.get('type') ?? ''), size: bytes.byteLength });
        return json(201, {
          id,
          name: form.get('filename'),
          content_type: form.get('type') ?? 'application/octet-stream',
          size: bytes.byteLength,
          etag: id,
          checksums: {},
          metadata: {},
          created_at: new Date().toISOString(),
          expires_at: new Date(Date.now() + 86_400_000).toISOString(),
          urls: { get: `${fake.url}/v1/files/${id}` },
        });
      }

      const create = /^\/v1\/models\/([\w.-]+)\/([\w.-]+)\/predictions$/.exec(path);
      if (req.method === 'POST' && (create || path === '/v1/predictions')) {
        if (throttled > 0) {
          throttled--;
          return json(429, { detail: 'Request was throttled. Your rate limit resets in ~1s.', status: 429 }, { 'retry-after': '1' });
        }
        let model: string;
        let version: string;
        if (create) {
          model = `${create[1]}/${create[2]}`;
          version = 'hidden';
        } else {
          const v = /^(?:([\w.-]+\/[\w.-]+):)?([0-9a-f]{64})$/.exec(String(body?.version ?? ''));
          if (!v) return invalid('version', 'Invalid version or not permitted');
          model = v[1] ?? 'someone/some-model';
          version = v[2];
        }
        if (model.startsWith('missing/')) return json(404, { title: 'Not found', detail: 'The requested resource could not be found.', status: 404 });
        const bad = validate(model, body?.input);
        if (bad) return bad;
        const p: Prediction = {
          id: newId(),
          model,
          version,
          kind: /t2v|i2v|video/.test(model) ? 'video' : 'image',
          input: body.input,
          status: 'starting',
          polls: 0,
          logs: '',
          error: null,
          createdAt: new Date().toISOString(),
          dataRemoved: false,
        };
        store.set(p.id, p);
        return json(201, view(p));
      }

      const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(path);
      if (cancel && req.method === 'POST') {
        const p = store.get(cancel[1]);
        if (!p) return json(404, { detail: 'Not found.', status: 404 });
        if (p.status === 'starting' || p.status === 'processing') {
          p.status = 'canceled';
          p.completedAt = new Date().toISOString();
        }
        return json(200, view(p));
      }

      const get = /^\/v1\/predictions\/([^/]+)$/.exec(path);
      if (get && req.method === 'GET') {
        const p = store.get(get[1]);
        if (!p) return json(404, { detail: 'Not found.', status: 404 });
        advance(p);
        return json(200, view(p));
      }
      return json(404, { detail: 'Not found.', status: 404 });
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
