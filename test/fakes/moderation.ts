// A fake OpenAI-compatible moderation server, written from OpenAI's public API reference:
//   POST /v1/moderations { model, input: string | string[] | [{type:"text",text} | {type:"image_url",image_url:{url}}] }
//   → { id: "modr-…", model, results: [{ flagged, categories, category_scores, category_applied_input_types }] }
//   one result per input (a string, each string of an array, or the whole multimodal array); omni-moderation takes
//   one image per request (400 too_many_images otherwise).
// Errors are OpenAI's `{"error":{"message","type","param","code"}}` bodies: a wrong or missing key is 401
// invalid_api_key (quoting the key's ends, as OpenAI does), a rate limit 429 rate_limit_exceeded with retry-after,
// an unknown model 404 model_not_found, bad input 400.
// Test rules: a text containing `flagWord` (default "murder") is flagged `violence` (0.97); one containing
// `reviewWord` (default "brawl") scores `violence` 0.62 without being flagged; a mostly red image (blood) is
// flagged `violence/graphic` (0.91). `down` makes every request answer 503, or hang until the client gives up.
// Every request is recorded.
import { openaiAuthError, openaiError } from './openai-errors';
import { decodeImage } from '../../src/media';

export interface RecordedModeration {
  authorization: string | null;
  contentType: string;
  /** the parsed JSON body (null when it was not JSON) */
  body: { model?: unknown; input?: unknown } | null;
}

export interface FakeModeration {
  /** e.g. http://127.0.0.1:1234/v1 (MODERATION_BASE_URL) */
  baseUrl: string;
  apiKey: string;
  requests: RecordedModeration[];
  flagWord: string;
  reviewWord: string;
  /** false: normal; '503': every request answers 503; 'hang': requests are never answered */
  down: false | '503' | 'hang';
  /** the next `times` requests answer 429 (retry-after `retryAfter` seconds) or 500 */
  failNext(kind: '429' | '500', times?: number, retryAfter?: string): void;
  stop(): Promise<void>;
}

/** omni-moderation's categories, and whether each is scored on images too. */
const CATEGORIES: [string, boolean][] = [
  ['harassment', false],
  ['harassment/threatening', false],
  ['hate', false],
  ['hate/threatening', false],
  ['illicit', false],
  ['illicit/violent', false],
  ['self-harm', true],
  ['self-harm/instructions', true],
  ['self-harm/intent', true],
  ['sexual', true],
  ['sexual/minors', false],
  ['violence', true],
  ['violence/graphic', true],
];

const MODELS = new Map([
  ['omni-moderation-latest', 'omni-moderation-2024-09-26'],
  ['omni-moderation-2024-09-26', 'omni-moderation-2024-09-26'],
  ['text-moderation-latest', 'text-moderation-007'],
  ['text-moderation-stable', 'text-moderation-007'],
]);


/** Share of pixels that are clearly red. */
async function redShare(url: string): Promise<number | null> {
  const m = /^data:image\/[a-z+.-]+;base64,(.+)$/i.exec(url);
  if (!m) return null;
  try {
    const img = await decodeImage(new Uint8Array(Buffer.from(m[1], 'base64')));
    let red = 0;
    const n = img.width * img.height;
    for (let i = 0; i < n; i++) {
      const [r, g, b] = [img.data[i * 4], img.data[i * 4 + 1], img.data[i * 4 + 2]];
      if (r >= 180 && g <= 80 && b <= 80) red++;
    }
    return red / n;
  } catch {
    return null;
  }
}

export async function startFakeModeration(o: { apiKey?: string } = {}): Promise<FakeModeration> {
  const apiKey = o.apiKey ?? 'sk-mod-fake-0123456789abcdefTESTKEY';
  const failures: { kind: '429' | '500'; times: number; retryAfter: string }[] = [];
  let seq = 0;

  const authError = (auth: string | null) => openaiAuthError(auth, apiKey);

  /** One result for one input: its texts and its image URLs. */
  async function classify(texts: string[], images: string[]): Promise<Record<string, unknown> | Response> {
    const categories: Record<string, boolean> = {};
    const scores: Record<string, number> = {};
    const applied: Record<string, string[]> = {};
    for (const [name, onImages] of CATEGORIES) {
      categories[name] = false;
      scores[name] = 0.00001;
      applied[name] = [...(texts.length ? ['text'] : []), ...(images.length && onImages ? ['image'] : [])];
    }
    const text = texts.join('\n').toLowerCase();
    if (text.includes(fake.flagWord.toLowerCase())) {
      categories.violence = true;
      scores.violence = 0.97;
    } else if (text.includes(fake.reviewWord.toLowerCase())) {
      scores.violence = 0.62;
    }
    for (const url of images) {
      const share = await redShare(url);
      if (share === null) return openaiError(400, 'Invalid image URL or data: the image could not be decoded.', 'invalid_request_error', 'invalid_image', 'input');
      if (share >= 0.5) {
        categories['violence/graphic'] = true;
        scores['violence/graphic'] = Math.max(scores['violence/graphic'], 0.91);
      }
    }
    return { flagged: Object.values(categories).some(Boolean), categories, category_scores: scores, category_applied_input_types: applied };
  }

  async function moderations(body: RecordedModeration['body']): Promise<Response> {
    if (!body) {
      return openaiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.", 'invalid_request_error', null);
    }
    const asked = typeof body.model === 'string' ? body.model : 'omni-moderation-latest';
    const model = MODELS.get(asked);
    if (!model) return openaiError(404, `The model \`${asked}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    const input = body.input;
    if (input === undefined || input === null || input === '') return openaiError(400, "Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input');
    // inputs: a string; an array of strings (one result each); an array of parts (one result)
    const groups: { texts: string[]; images: string[] }[] = [];
    if (typeof input === 'string') groups.push({ texts: [input], images: [] });
    else if (Array.isArray(input) && input.every((x) => typeof x === 'string')) for (const t of input) groups.push({ texts: [t], images: [] });
    else if (Array.isArray(input)) {
      const g = { texts: [] as string[], images: [] as string[] };
      for (const part of input as Record<string, any>[]) {
        if (part?.type === 'text' && typeof part.text === 'string') g.texts.push(part.text);
        else if (part?.type === 'image_url' && typeof part.image_url?.url === 'string') g.images.push(part.image_url.url);
        else return openaiError(400, "Invalid value for 'input': expected a string, an array of strings, or an array of text and image_url objects.", 'invalid_request_error', 'invalid_value', 'input');
      }
      groups.push(g);
    } else {
      return openaiError(400, "Invalid type for 'input': expected a string or an array.", 'invalid_request_error', 'invalid_type', 'input');
    }
    const images = groups.reduce((n, g) => n + g.images.length, 0);
    if (images > 0 && !asked.startsWith('omni-')) return openaiError(400, `Model ${asked} does not support image inputs.`, 'invalid_request_error', 'invalid_value', 'input');
    if (images > 1) return openaiError(400, `Number of images (${images}) exceeds maximum of 1`, 'invalid_request_error', 'too_many_images', 'input');
    const results: Record<string, unknown>[] = [];
    for (const g of groups) {
      const r = await classify(g.texts, g.images);
      if (r instanceof Response) return r;
      results.push(r);
    }
    return Response.json({ id: `modr-${++seq}${crypto.randomUUID().slice(0, 8)}`, model, results });
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const text = await req.text();
      let body: RecordedModeration['body'] = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      fake.requests.push({ authorization: req.headers.get('authorization'), contentType: req.headers.get('content-type') ?? '', body });

      if (fake.down === 'hang') {
        // never answers; ends when the client aborts
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve(), { once: true }));
        return new Response(null, { status: 499 });
      }
      if (fake.down === '503') return openaiError(503, 'The server is overloaded or not ready yet.', 'server_error', null);

      const denied = authError(req.headers.get('authorization'));
      if (denied) return denied;

      const f = failures[0];
      if (f) {
        if (--f.times <= 0) failures.shift();
        if (f.kind === '429') {
          return openaiError(
            429,
            'Rate limit reached for omni-moderation-latest in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.',
            'requests',
            'rate_limit_exceeded',
            null,
            { 'retry-after': f.retryAfter, 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '120ms' },
          );
        }
        return openaiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
      }

      if (req.method === 'POST' && u.pathname === '/v1/moderations') return moderations(body);
      return openaiError(404, `Invalid URL (${req.method} ${u.pathname})`, 'invalid_request_error', null);
    },
  });

  const fake: FakeModeration = {
    baseUrl: `http://127.0.0.1:${server.port}/v1`,
    apiKey,
    requests: [],
    flagWord: 'murder',
    reviewWord: 'brawl',
    down: false,
    failNext(kind, times = 1, retryAfter = '1') {
      failures.push({ kind, times, retryAfter });
    },
    async stop() {
      await server.stop(true);
    },
  };
  return fake;
}
