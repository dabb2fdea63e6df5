// A fake fal.ai queue API, written from its public reference:
//   POST /{model_id}                               (Authorization: Key <key>) → { status: "IN_QUEUE", request_id,
//        response_url, status_url, cancel_url, queue_position }; the three URLs use only owner/app of the model id
//   GET  /{owner}/{app}/requests/{id}/status       202 { status: "IN_QUEUE", queue_position } / { status: "IN_PROGRESS" },
//                                                  200 { status: "COMPLETED" }
//   GET  /{owner}/{app}/requests/{id}              the model output ({ images: [{ url, … }], has_nsfw_concepts } or
//        { video: { url, … } }), or the model's error: 422 { detail: [{ loc, msg, type: "content_policy_violation" }] }
//   PUT  /{owner}/{app}/requests/{id}/cancel       202 { status: "CANCELLATION_REQUESTED" } / 400 ALREADY_COMPLETED / 404
// Model input errors are 422 { detail: [{ loc, msg, type }] }; a bad key is 401 { detail }; outputs live on a CDN
// path that answers 404 after its deadline. Every request is recorded.
import { randomUUID } from 'node:crypto';
import { sniffMedia } from '../../src/media';
import { sampleMedia } from './dashscope';

export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  authorized: boolean;
  body: any;
}

interface QueuedRequest {
  id: string;
  model: string;
  kind: 'image' | 'video';
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';
  position: number;
  polls: number;
  canceled: boolean;
  input: any;
  linkExpiresAt?: number;
}

export interface FakeFal {
  /** FAL_QUEUE_URL */
  url: string;
  key: string;
  requests: RecordedRequest[];
  /** while true, requests stay IN_QUEUE at their position */
  hold: boolean;
  /** queue position of a new request (it moves up one per status poll, then runs) */
  queueAhead: number;
  /** status polls in IN_PROGRESS before COMPLETED */
  pollsRunning: number;
  linkTtlMs: number;
  throttle(n: number): void;
  expireLinks(): void;
  submissions(): RecordedRequest[];
  statusPolls(): RecordedRequest[];
  cancels(): RecordedRequest[];
  bytes(kind: 'image' | 'video'): Uint8Array<ArrayBuffer>;
  stop(): Promise<void>;
}

const isImageDataUri = (v: unknown) => {
  if (typeof v !== 'string') return false;
  const m = /^data:image\/[a-z+]+;base64,(.+)$/s.exec(v);
  return !!m && sniffMedia(new Uint8Array(Buffer.from(m[1], 'base64')))?.kind === 'image';
};

export async function startFakeFal(o: { key?: string } = {}): Promise<FakeFal> {
  const { png, mp4 } = await sampleMedia();
  // fal keys are "<key id>:<key secret>"
  const key = o.key ?? `${randomUUID()}:${randomUUID().replace(/-/g, '')}`;
  const store = new Map<string, QueuedRequest>();
  let throttled = 0;
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers });

  const fake: FakeFal = {
    url: '',
    key,
    requests: [],
    hold: false,
    queueAhead: 0,
    pollsRunning: 1,
    linkTtlMs: 7 * 24 * 3600_000,
    throttle: (n) => {
      throttled = n;
    },
    expireLinks() {
      for (const r of store.values()) if (r.linkExpiresAt) r.linkExpiresAt = Date.now() - 1;
    },
    submissions: () => fake.requests.filter((r) => r.method === 'POST'),
    statusPolls: () => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/status')),
    cancels: () => fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/cancel')),
    bytes: (kind) => (kind === 'image' ? png : mp4),
    stop: async () => server.stop(true),
  };

  const validation = (loc: string[], msg: string, type: string) => json(422, { detail: [{ loc, msg, type }] }, { 'x-fal-retryable': 'false' });

  function validate(model: string, input: any): Response | null {
    if (!input || typeof input !== 'object') return validation(['body'], 'Input should be a valid dictionary', 'dict_type');
    if (typeof input.prompt !== 'string' || !input.prompt) return validation(['body', 'prompt'], 'Field required', 'missing');
    const needsImage = /image-to-image|i2v|image-to-video/.test(model);
    if (needsImage && !isImageDataUri(input.image_url)) return validation(['body', 'image_url'], 'Could not load the image from the URL', 'image_load_error');
    if (input.image_size !== undefined && (typeof input.image_size !== 'object' || !Number.isInteger(input.image_size.width))) {
      return validation(['body', 'image_size'], 'Input should be a valid ImageSize', 'model_type');
    }
    if (input.num_inference_steps !== undefined && (input.num_inference_steps < 1 || input.num_inference_steps > 50)) {
      return validation(['body', 'num_inference_steps'], 'Input should be less than or equal to 50', 'less_than_equal');
    }
    return null;
  }

  function output(r: QueuedRequest) {
    const file = `${fake.url}/files/${r.id}.${r.kind === 'image' ? 'png' : 'mp4'}`;
    if (r.kind === 'image') {
      const nsfw = /nsfw-output/.test(r.input.prompt);
      return {
        images: [{ url: file, width: 16, height: 16, content_type: 'image/png' }],
        timings: { inference: 0.42 },
        seed: r.input.seed ?? 1234,
        has_nsfw_concepts: [nsfw],
        prompt: r.input.prompt,
      };
    }
    return { video: { url: file, content_type: 'video/mp4', file_name: `${r.id}.mp4`, file_size: mp4.byteLength }, seed: r.input.seed ?? 1234 };
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      const text = req.method === 'POST' ? await req.text() : '';
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const authorized = req.headers.get('authorization') === `Key ${key}`;
      fake.requests.push({ method: req.method, path, search: url.search, authorized, body });

      const file = /^\/files\/([^/.]+)\.(png|mp4)$/.exec(path);
      if (file && req.method === 'GET') {
        const r = store.get(file[1]);
        if (!r || r.status !== 'COMPLETED' || Date.now() > (r.linkExpiresAt ?? 0)) return json(404, { detail: 'File not found' });
        return new Response(r.kind === 'image' ? png : mp4, { headers: { 'content-type': r.kind === 'image' ? 'image/png' : 'video/mp4' } });
      }

      if (!req.headers.get('authorization')) return json(401, { detail: 'Missing authorization header' });
      if (!authorized) return json(401, { detail: 'No user found for Key ID and Secret' });

      const m = /^\/([\w.-]+)\/([\w.-]+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(path);
      if (m) {
        const r = store.get(m[3]);
        if (!r || !r.model.startsWith(`${m[1]}/${m[2]}`)) return json(404, { detail: 'Request not found', status: 'NOT_FOUND' });
        const base = `${fake.url}/${m[1]}/${m[2]}/requests/${r.id}`;
        if (m[4] === '/cancel' && req.method === 'PUT') {
          if (r.status === 'COMPLETED') return json(400, { status: 'ALREADY_COMPLETED' });
          r.canceled = true;
          r.status = 'COMPLETED';
          return json(202, { status: 'CANCELLATION_REQUESTED' });
        }
        if (m[4] === '/status' && req.method === 'GET') {
          if (r.status === 'IN_QUEUE' && !fake.hold) {
            if (r.position > 0) r.position--;
            else r.status = 'IN_PROGRESS';
          } else if (r.status === 'IN_PROGRESS') {
            r.polls++;
            if (r.polls >= fake.pollsRunning) {
              r.status = 'COMPLETED';
              r.linkExpiresAt = Date.now() + fake.linkTtlMs;
            }
          }
          const logs = url.searchParams.get('logs') === '1' ? [] : null;
          if (r.status === 'IN_QUEUE') return json(202, { status: 'IN_QUEUE', queue_position: r.position, response_url: base, logs });
          if (r.status === 'IN_PROGRESS') return json(202, { status: 'IN_PROGRESS', response_url: base, logs });
          return json(200, { status: 'COMPLETED', response_url: base, logs, metrics: { inference_time: 0.42 } });
        }
        if (!m[4] && req.method === 'GET') {
          if (r.status !== 'COMPLETED') return json(400, { detail: 'Request is still in progress' });
          if (r.canceled) return json(400, { detail: 'Request was cancelled' });
          if (/forbidden/.test(r.input.prompt)) {
            return json(
              422,
              {
                detail: [
                  {
                    loc: ['body', 'prompt'],
                    msg: 'The content was flagged by a content checker.',
                    type: 'content_policy_violation',
                    url: 'https://docs.fal.ai/errors#content_policy_violation',
                    input: r.input.prompt,
                  },
                ],
              },
              { 'x-fal-retryable': 'false' },
            );
          }
          return json(200, output(r));
        }
        return json(405, { detail: 'Method Not Allowed' });
      }

      // submit: POST /{owner}/{app}[/path…]
      const model = path.slice(1);
      if (req.method === 'POST' && /^[\w.-]+\/[\w.-]+(\/[\w.-]+)*$/.test(model)) {
        if (throttled > 0) {
          throttled--;
          return json(429, { detail: 'Rate limit exceeded. Please retry shortly.' });
        }
        if (!/^fal-ai\//.test(model)) return json(404, { detail: `Application '${model.split('/')[1]}' not found` });
        const bad = validate(model, body);
        if (bad) return bad;
        const r: QueuedRequest = {
          id: randomUUID(),
          model,
          kind: /video|t2v|i2v/.test(model) ? 'video' : 'image',
          status: 'IN_QUEUE',
          position: fake.queueAhead,
          polls: 0,
          canceled: false,
          input: body,
        };
        store.set(r.id, r);
        const [owner, app] = model.split('/');
        const base = `${fake.url}/${owner}/${app}/requests/${r.id}`;
        return json(200, {
          status: 'IN_QUEUE',
          request_id: r.id,
          response_url: base,
          status_url: `${base}/status`,
          cancel_url: `${base}/cancel`,
          queue_position: r.position,
        });
      }
      return json(404, { detail: 'Not Found' });
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
