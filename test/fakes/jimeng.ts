// A fake of Volcengine's visual service (即梦 async tasks), written from the public API reference:
//   POST /?Action=CVSync2AsyncSubmitTask&Version=2022-08-31  → {code: 10000, data: {task_id}, message, request_id, status, time_elapsed}
//   POST /?Action=CVSync2AsyncGetResult&Version=2022-08-31   → data.status in_queue | generating | done | not_found | expired
// Every request's HMAC-SHA256 signature is verified here, independently of the adapter's signer: the canonical
// request is rebuilt from what arrived (method, path, query, the signed headers as received, the body's hash) and
// signed again with the known secret. A bad signature, an unknown access key or an X-Date more than 15 minutes
// away is refused with the gateway's `ResponseMetadata.Error` body and its documented HTTP status.
// Business errors use the service's `{code, data: null, message, request_id, status, time_elapsed}` shape.
// Outputs are real media (a PNG, an MP4 from the local engine) behind links that expire.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodePng, runLocalEngine } from '../../src/engine/local';

export const FAKE_AK = 'AKLTZmFrZWppbWVuZ2FjY2Vzc2tleTAwMDE';
export const FAKE_SK = 'WmFrZVNlY3JldEppbWVuZy0wMTIzNDU2Nzg5YWJjZGVmLXNlY3JldA==';

/** Prompts containing these words trip the fake's moderation: at submit (input text) or at done (output). */
export const INPUT_RISK_WORD = '违禁词';
export const OUTPUT_RISK_WORD = '后审不过';

const IMAGE_KEYS = new Set(['jimeng_t2i_v40', 'jimeng_t2i_v31', 'jimeng_t2i_v30', 'jimeng_i2i_v30']);
const VIDEO_KEYS = new Set(['jimeng_t2v_v30', 'jimeng_t2v_v30_1080p', 'jimeng_i2v_first_v30', 'jimeng_i2v_first_v30_1080', 'jimeng_ti2v_v30_pro']);
const NEEDS_IMAGE = new Set(['jimeng_i2i_v30', 'jimeng_i2v_first_v30', 'jimeng_i2v_first_v30_1080']);
const SKEW_MS = 15 * 60 * 1000;

export interface FakeRequest {
  action: string | null;
  /** the parsed JSON body (null when unreadable) */
  body: any;
  /** HTTP status answered */
  status: number;
  /** the gateway error code when the request was refused before the service saw it */
  authError?: string;
  /** the business code answered */
  code?: number;
}

interface FakeTask {
  id: string;
  reqKey: string;
  prompt: string;
  /** GetResult calls so far */
  polls: number;
  /** answer done from this poll on (hold = never, until released) */
  doneAfter: number;
  hold: boolean;
  expired: boolean;
}

export interface JimengFake {
  url: string;
  /** everything received, in order */
  requests: FakeRequest[];
  /** accepted submissions (code 10000) */
  submissions(): FakeRequest[];
  /** GetResult calls for one task id */
  polls(taskId: string): number;
  tasks: Map<string, FakeTask>;
  /** the PNG and MP4 every image / video task produces */
  png: Uint8Array;
  mp4: Uint8Array;
  /** how many GetResult calls answer in_queue / generating before done (default 2) */
  pollsBeforeDone: number;
  /** new tasks stay `generating` until release() */
  hold: boolean;
  release(): void;
  /** the next n service calls answer throttled: HTTP 429 + code 50429 ('http'), or HTTP 200 + code 50430 ('ok') */
  throttleNext(n: number, how: 'http' | 'ok'): void;
  /** the next n service calls answer HTTP 500 + code 50500 */
  failNext(n: number): void;
  /** output links live this long (default 1 h); expireLinks() ends all of them now */
  linkTtlMs: number;
  expireLinks(): void;
  /** every output link handed out */
  links: string[];
  stop(): void;
}

const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const enc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const requestId = () => new Date().toISOString().replace(/\D/g, '').slice(0, 14) + randomBytes(10).toString('hex').toUpperCase();

/** X-Date (YYYYMMDDTHHMMSSZ) as a time, or null. */
function parseXDate(v: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

let media: Promise<{ png: Uint8Array; mp4: Uint8Array }> | undefined;
/** A small real PNG and a real H.264 MP4 (the local engine, once per process). */
function fakeMedia() {
  media ??= (async () => {
    const w = 48;
    const h = 32;
    const data = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([(i * 7) & 255, (i * 3) & 255, 200, 255], i * 4);
    const png = await encodePng({ width: w, height: h, data });
    const mp4 = (await runLocalEngine({ type: 't2v', prompt: 'x', parameters: { width: 64, height: 64, duration: 1, fps: 8 }, references: [] })).bytes;
    return { png, mp4 };
  })();
  return media;
}

export async function startJimengFake(o: { accessKey?: string; secretKey?: string } = {}): Promise<JimengFake> {
  const ak = o.accessKey ?? FAKE_AK;
  const sk = o.secretKey ?? FAKE_SK;
  const { png, mp4 } = await fakeMedia();
  const tasks = new Map<string, FakeTask>();
  const outputs = new Map<string, { bytes: Uint8Array; mime: string; until: number }>();
  let throttle: { n: number; how: 'http' | 'ok' } = { n: 0, how: 'http' };
  let fail500 = 0;
  let seq = 7392616336519610000n;

  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const gatewayError = (status: number, action: string | null, version: string | null, code: string, codeN: number, message: string) =>
    json(status, {
      ResponseMetadata: {
        RequestId: requestId(),
        Action: action ?? '',
        Version: version ?? '',
        Service: 'cv',
        Region: 'cn-north-1',
        Error: { CodeN: codeN, Code: code, Message: message },
      },
    });
  const service = (status: number, code: number, message: string, data: unknown = null) =>
    json(status, { code, data, message, request_id: requestId(), status: code, time_elapsed: `${(Math.random() * 100).toFixed(6)}ms` });

  /** Verifies the Authorization header; null when good, else the refusal. */
  function verify(req: Request, url: URL, raw: Uint8Array): { res: Response; code: string } | null {
    const action = url.searchParams.get('Action');
    const version = url.searchParams.get('Version');
    const refuse = (status: number, code: string, codeN: number, message: string) => ({ res: gatewayError(status, action, version, code, codeN, message), code });
    const auth = req.headers.get('authorization');
    if (!auth) return refuse(401, 'MissingAuthenticationToken', 100003, 'Request is missing Authentication Token.');
    const m = /^HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return refuse(401, 'SignatureDoesNotMatch', 100010, 'The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method. Consult the service documentation for details.');
    const [, credAk, shortDate, region, svc, signedList, given] = m as unknown as string[];
    if (credAk !== ak) return refuse(401, 'InvalidAccessKey', 100009, `The accesskey [${credAk}] included in the request is invalid.`);
    const xDate = req.headers.get('x-date');
    if (!xDate) return refuse(400, 'MissingRequestInfo', 100004, 'The request is missing X-Date information.');
    const at = parseXDate(xDate);
    if (at === null || Math.abs(Date.now() - at) > SKEW_MS || xDate.slice(0, 8) !== shortDate) {
      return refuse(400, 'InvalidTimestamp', 100006, 'The Signature of the request is expired.');
    }
    const signed = signedList!.split(';');
    const mismatch = () =>
      refuse(401, 'SignatureDoesNotMatch', 100010, 'The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method. Consult the service documentation for details.');
    if (region !== 'cn-north-1' || svc !== 'cv' || !signed.includes('host') || !signed.includes('x-date')) return mismatch();
    // the body hash the client claims must be the body's
    const bodyHash = sha256Hex(raw);
    const claimed = req.headers.get('x-content-sha256');
    if (claimed !== null && claimed !== bodyHash) return mismatch();
    // rebuild the canonical request from what arrived
    const sortedNames = [...signed].sort();
    if (sortedNames.join(';') !== signedList) return mismatch();
    const canonicalHeaders = sortedNames.map((n) => `${n}:${(req.headers.get(n) ?? '').trim()}\n`).join('');
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [enc3986(k), enc3986(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonical = [req.method, url.pathname || '/', query, canonicalHeaders, signedList, bodyHash].join('\n');
    const scope = `${shortDate}/cn-north-1/cv/request`;
    const toSign = ['HMAC-SHA256', xDate, scope, sha256Hex(canonical)].join('\n');
    const kSigning = hmac(hmac(hmac(hmac(sk, shortDate!), 'cn-north-1'), 'cv'), 'request');
    const expected = createHmac('sha256', kSigning).update(toSign, 'utf8').digest();
    if (!timingSafeEqual(expected, Buffer.from(given!, 'hex'))) return mismatch();
    return null;
  }

  function link(bytes: Uint8Array, mime: string, ext: string): string {
    const token = randomBytes(12).toString('hex');
    const until = Date.now() + fake.linkTtlMs;
    outputs.set(token, { bytes, mime, until });
    // like the CDN's signed links: the query carries an expiry and a signature
    const url = `${fake.url}/tos-cn-i-fake/${token}.${ext}?x-expires=${Math.floor(until / 1000)}&x-signature=${randomBytes(8).toString('hex')}`;
    fake.links.push(url);
    return url;
  }

  const validImage = (b64: unknown) => {
    if (typeof b64 !== 'string') return false;
    const b = Buffer.from(b64, 'base64');
    const isPng = b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
    const isJpeg = b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
    return isPng || isJpeg;
  };

  function submit(body: any): Response {
    const reqKey = body?.req_key;
    if (typeof reqKey !== 'string' || !(IMAGE_KEYS.has(reqKey) || VIDEO_KEYS.has(reqKey))) return service(400, 50215, 'Input invalid for this service.');
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    const images = body.binary_data_base64 ?? [];
    if (!Array.isArray(images) || images.some((b: unknown) => !validImage(b))) return service(400, 50215, 'Input invalid for this service.');
    if (NEEDS_IMAGE.has(reqKey) && images.length !== 1) return service(400, 50215, 'Input invalid for this service.');
    if (!NEEDS_IMAGE.has(reqKey) && !prompt) return service(400, 50215, 'Input invalid for this service.');
    if (body.frames !== undefined && body.frames !== 121 && body.frames !== 241) return service(400, 50215, 'Input invalid for this service.');
    if (reqKey === 'jimeng_t2i_v40' && (body.width !== undefined || body.height !== undefined)) {
      const area = Number(body.width) * Number(body.height);
      if (!(area >= 1024 * 1024 && area <= 4096 * 4096)) return service(400, 50215, 'Input invalid for this service.');
    }
    if (prompt.includes(INPUT_RISK_WORD)) return service(400, 50412, 'Text Risk Not Pass');
    const id = String(seq++);
    tasks.set(id, { id, reqKey, prompt, polls: 0, doneAfter: fake.pollsBeforeDone, hold: fake.hold, expired: false });
    return service(200, 10000, 'Success', { task_id: id });
  }

  function result(body: any): Response {
    const t = typeof body?.task_id === 'string' ? tasks.get(body.task_id) : undefined;
    if (t && body.req_key !== t.reqKey) return service(400, 50215, 'Input invalid for this service.');
    if (!t) return service(200, 10000, 'Success', { status: 'not_found' });
    t.polls++;
    if (t.expired) return service(200, 10000, 'Success', { status: 'expired' });
    if (t.hold || t.polls <= t.doneAfter) return service(200, 10000, 'Success', { status: t.polls === 1 ? 'in_queue' : 'generating' });
    const video = VIDEO_KEYS.has(t.reqKey);
    if (t.prompt.includes(OUTPUT_RISK_WORD)) {
      return video ? service(400, 50516, 'Post Video Risk Not Pass') : service(400, 50511, 'Post Img Risk Not Pass');
    }
    if (video) return service(200, 10000, 'Success', { aigc_meta_tagged: false, status: 'done', video_url: link(mp4, 'video/mp4', 'mp4') });
    let reqJson: any = {};
    try {
      reqJson = typeof body.req_json === 'string' ? JSON.parse(body.req_json) : {};
    } catch {
      return service(400, 50215, 'Input invalid for this service.');
    }
    return reqJson.return_url
      ? service(200, 10000, 'Success', { binary_data_base64: null, image_urls: [link(png, 'image/png', 'png')], status: 'done' })
      : service(200, 10000, 'Success', { binary_data_base64: [Buffer.from(png).toString('base64')], image_urls: null, status: 'done' });
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      // output links (the CDN): 403 once expired, like a signed link past x-expires
      const out = /^\/tos-cn-i-fake\/([0-9a-f]+)\.\w+$/.exec(url.pathname);
      if (req.method === 'GET' && out) {
        const o = outputs.get(out[1]!);
        if (!o) return new Response('Not Found', { status: 404 });
        if (Date.now() > o.until) return new Response('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>', { status: 403, headers: { 'content-type': 'application/xml' } });
        return new Response(o.bytes, { headers: { 'content-type': o.mime } });
      }
      const raw = new Uint8Array(await req.arrayBuffer());
      const action = url.searchParams.get('Action');
      const version = url.searchParams.get('Version');
      let body: any = null;
      try {
        body = JSON.parse(new TextDecoder().decode(raw));
      } catch {}
      const record: FakeRequest = { action, body, status: 0 };
      fake.requests.push(record);
      const finish = (res: Response, code?: number, authError?: string) => {
        record.status = res.status;
        record.code = code;
        record.authError = authError;
        return res;
      };
      if (req.method !== 'POST' || url.pathname !== '/') return finish(new Response('Not Found', { status: 404 }));
      const bad = verify(req, url, raw);
      if (bad) return finish(bad.res, undefined, bad.code);
      if ((action !== 'CVSync2AsyncSubmitTask' && action !== 'CVSync2AsyncGetResult') || version !== '2022-08-31') {
        return finish(gatewayError(404, action, version, 'InvalidActionOrVersion', 100008, `Could not find operation ${action} for version ${version}`), undefined, 'InvalidActionOrVersion');
      }
      if (throttle.n > 0) {
        throttle.n--;
        return throttle.how === 'http'
          ? finish(service(429, 50429, 'Request Has Reached API Limit, Please Try Later'), 50429)
          : finish(service(200, 50430, 'Request Has Reached API Concurrent Limit, Please Try Later'), 50430);
      }
      if (fail500 > 0) {
        fail500--;
        return finish(service(500, 50500, 'Internal Error'), 50500);
      }
      const res = action === 'CVSync2AsyncSubmitTask' ? submit(body) : result(body);
      const answered = (await res.clone().json()) as { code: number };
      return finish(res, answered.code);
    },
  });

  const fake: JimengFake = {
    url: `http://127.0.0.1:${server.port}`,
    requests: [],
    submissions: () => fake.requests.filter((r) => r.action === 'CVSync2AsyncSubmitTask' && r.code === 10000),
    polls: (taskId) => fake.requests.filter((r) => r.action === 'CVSync2AsyncGetResult' && r.body?.task_id === taskId).length,
    tasks,
    png,
    mp4,
    pollsBeforeDone: 2,
    hold: false,
    release() {
      fake.hold = false;
      for (const t of tasks.values()) if (t.hold) {
        t.hold = false;
        t.doneAfter = t.polls; // done at the next poll
      }
    },
    throttleNext(n, how) {
      throttle = { n, how };
    },
    failNext(n) {
      fail500 = n;
    },
    linkTtlMs: 60 * 60 * 1000,
    expireLinks() {
      for (const o of outputs.values()) o.until = 0;
    },
    links: [],
    stop() {
      server.stop(true);
    },
  };
  return fake;
}
