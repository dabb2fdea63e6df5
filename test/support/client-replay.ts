// A replay of what the two desktop client builds in use (osiaex/PICTUREDECK, Client/) really send, and how they judge
// the answers. Facts from the client research (report + raw captures of a Qt port of the client's network code):
//
//   build A = ea888a6 (older)                        build L = e33ac15 (latest)
//   Content-Type: application/json on EVERY request   Content-Type only when there is a JSON body (dict)
//     (GET and DELETE too, with no body)
//   upload: the local file PATH as a JSON string      upload: Qt multipart (quoted `boundary_.oOo._…`, MIME-Version)
//   result_url used verbatim; `generated_outputs/…`   only the path of result_url; `/api/v1` put in front of it
//     goes to the host root                             (only `outputs/…` would skip it)
//   any HTTP >= 400 is "网络错误" (401 included)        HTTP 401 and 422 log the user out; other >= 400 "网络错误"
//   delete record: POST /user/generation_list          delete record: DELETE /user/generation_list/{task_id}
//   change e-mail: {"email"}                           change e-mail: {"new_email"}
//   favorites export at the root keeps the root id     (fixed)
//     as parent → a dangling parent_temp_id on import
//
// Common to both: `Authorization: Bearer <token>` whenever a token is stored; JSON bodies are Python's
// `json.dumps(data or {})` (", " and ": " separators, \uXXXX escapes, dict order); Qt adds `Connection: Keep-Alive`,
// `Accept-Encoding`, `Accept-Language` and `User-Agent: Mozilla/5.0`; every request gives up after 3 s; success is
// exactly the integer `code === 200`; the answer's JSON is only read for HTTP < 400; polls run every 2 s on a timer
// (no in-flight guard) until `completed` or `failed`; the change-password answer is ignored (the old token is kept);
// logout sends no request; a result already in the local cache is not downloaded again.
//
// Not reproducible with fetch (and harmless): fetch sends the header lines sorted by name (Qt: the app's headers,
// then Content-Length, Connection, Accept-Encoding, Accept-Language, User-Agent), adds `Accept: */*`, and gives a
// DELETE `Content-Length: 0` (Qt sends no Content-Length on GET/DELETE). Names, values and bodies are the client's.
// Host, Accept-Encoding and Accept-Language depend on the machine (the values of the captures are used).
//
// Steps marked `extra` are checks the real client never sends (verification only, e.g. "this token is now HTTP 401").
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export type Build = 'A' | 'L';

export interface StepLog {
  build: Build;
  step: string;
  method: string;
  /** path and query as sent */
  path: string;
  /** HTTP status; 0 when no answer came (timeout, connection error) */
  status: number;
  /** the body's `code` for JSON answers */
  code: number | null;
  ms: number;
  /** a verification request that the real client never sends */
  extra: boolean;
  /** the HTTP status an extra check expects (401, 404); otherwise any status < 400 */
  expectStatus?: number;
  /** the body code the flow expects (200, or a refusal the client shows: 400, 429) */
  expectCode?: number;
  note?: string;
}

export interface Download {
  taskId: string;
  type: string;
  path: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface ReplayLog {
  build: Build;
  account: string;
  email: string;
  steps: StepLog[];
  /** every result the client downloaded (the first t2v is the default 4 s video) */
  downloads: Download[];
  /** task ids by role: t2i, i2i (L), t2v (the first video), busy (the other videos), probe */
  tasks: Record<string, string>;
  /** whether earlier tasks were still processing when the probe's POST /generation was answered */
  busyAtProbe: boolean;
}

export interface ReplayOptions {
  /** the client's poll timer: 2000 ms (a shorter value only makes tests quicker) */
  pollIntervalMs?: number;
  /** the client's per-request timeout: 3000 ms */
  timeoutMs?: number;
  /** videos queued before the "workers are busy" probe (the test env has 2 workers) */
  busyTasks?: number;
  /** how long one task may take to finish, in ms */
  taskTimeoutMs?: number;
  /** the image build L uploads (default test/fixtures/sample.jpg) */
  image?: string;
  /** called after every request */
  onStep?: (s: StepLog) => void;
}

export class ReplayError extends Error {
  constructor(
    message: string,
    readonly steps: StepLog[] = [],
  ) {
    super(message);
  }
}

const fail = (message: string): never => {
  throw new ReplayError(message);
};
function check(cond: unknown, message: string): asserts cond {
  if (!cond) fail(message);
}

// ---------------------------------------------------------------------------------------------------------------
// Python and Qt encodings

/** Python truthiness, for `data or {}`. */
const pyFalsy = (v: unknown) =>
  v === null || v === undefined || v === false || v === 0 || v === '' ||
  (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v as object).length === 0);

/** Python's `json.dumps(v)` with its defaults: ", " / ": " separators, ensure_ascii (\uXXXX, lower-case hex). */
export function pyJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    check(Number.isFinite(v), 'pyJson: not a finite number');
    return String(v);
  }
  if (typeof v === 'string') {
    let out = '"';
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      const ch = v[i];
      if (ch === '"') out += '\\"';
      else if (ch === '\\') out += '\\\\';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`; // UTF-16 units = Python's pairs
      else out += ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  // insertion order, as a Python dict (no integer-like keys are ever sent, which JS would reorder)
  return `{${Object.entries(v as object).map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`).join(', ')}}`;
}

/** Python's `mimetypes.guess_type` for the types the client's file dialog offers. */
function guessMime(path: string): string {
  const ext = path.toLowerCase().split('.').pop();
  return ext === 'png' ? 'image/png' : ext === 'jpg' || ext === 'jpeg' ? 'image/jpeg' : 'application/octet-stream';
}

/**
 * A QHttpMultiPart boundary: `boundary_.oOo._` + 24 random bytes in base64 (32 characters). Qt's may or may not
 * contain `/` and `+`; this one always has both, the case a server is most likely to get wrong.
 */
export function qtBoundary(): string {
  for (;;) {
    const b64 = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64');
    if (b64.includes('/') && b64.includes('+')) return `boundary_.oOo._${b64}`;
  }
}

/** Build L's upload body: one part `file`, the basename as filename (raw UTF-8), the guessed type, the bytes. */
export function qtMultipart(path: string, boundary = qtBoundary()): { boundary: string; body: Uint8Array } {
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${basename(path)}"\r\n` +
    `Content-Type: ${guessMime(path)}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), readFileSync(path), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { boundary, body: new Uint8Array(body) };
}

/** Python's `urlparse(u).path`. */
function pyUrlPath(u: string): string {
  let s = u.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, '');
  if (s.startsWith('//')) {
    const i = s.slice(2).search(/[/?#]/);
    s = i === -1 ? '' : s.slice(2 + i);
  }
  return s.split(/[?#]/)[0];
}

/** The client's BASE_URL (`…/api/v1`) from a server origin or from a BASE_URL. */
export function apiBase(baseUrl: string): string {
  const b = baseUrl.replace(/\/+$/, '');
  return b.endsWith('/api/v1') ? b : `${b}/api/v1`;
}

// ---------------------------------------------------------------------------------------------------------------
// The client's network layer (http_client + request_service of each build)

/** What Qt adds after the application's headers (Host and Content-Length come from the transport). */
const QT_HEADERS: [string, string][] = [
  ['Connection', 'Keep-Alive'],
  ['Accept-Encoding', 'zstd, br, gzip, deflate'],
  ['Accept-Language', 'en-US,*'],
  ['User-Agent', 'Mozilla/5.0'],
];

type Method = 'GET' | 'POST' | 'DELETE';

export interface Reply {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  ms: number;
  path: string;
}

export interface Envelope {
  code: number;
  message: string;
  data?: any;
}

interface Expect {
  /** a verification request the client never sends */
  extra?: boolean;
  /** an extra check's expected HTTP status (the client's rules are not applied then) */
  status?: number;
  /** the expected body code (default 200) */
  code?: number;
  /** an extra check's absolute URL, instead of the client's URL rule */
  url?: string;
}

export class QtClient {
  /** session.get_token() */
  token: string | null = null;
  readonly base: string;
  readonly origin: string;
  /** the last answer (for its headers) */
  last?: Reply;

  constructor(
    readonly build: Build,
    baseUrl: string,
    readonly steps: StepLog[] = [],
    readonly opts: { timeoutMs?: number; onStep?: (s: StepLog) => void } = {},
  ) {
    this.base = apiBase(baseUrl);
    this.origin = this.base.slice(0, this.base.lastIndexOf('/api/v1')); // BASE_URL.rsplit('/api/v1', 1)[0]
  }

  /** http_client.request's URL rule: SPECIAL_PREFIXES skip /api/v1 (A: generated_outputs, L: outputs). */
  url(endpoint: string): string {
    const rel = endpoint.replace(/^\/+/, '');
    const special = this.build === 'A' ? ['generated_outputs'] : ['outputs'];
    return special.some((p) => rel.startsWith(p)) ? `${this.origin}/${rel}` : `${this.base}/${rel}`;
  }

  /** The endpoint a result_url is downloaded from, or null when the client sends nothing. */
  downloadEndpoint(resultUrl: string | null | undefined): string | null {
    if (this.build === 'A') return resultUrl ?? null; // verbatim; None raises inside a try ⇒ no request
    return resultUrl ? pyUrlPath(resultUrl) : null; // `if not image_url: return`, then urlparse(...).path
  }

  /** request_service.get_content_type for each build. */
  contentType(data: unknown): 'application/json' | 'multipart/form-data' | null {
    if (this.build === 'A') return 'application/json'; // everything it sends is JSON-serialisable, None and paths too
    if (typeof data === 'string') return existsSync(data) && statSync(data).isFile() ? 'multipart/form-data' : 'application/json';
    return data !== null && typeof data === 'object' && !Array.isArray(data) ? 'application/json' : null;
  }

  /** One request as the client sends it, judged by the client's transport rules (status, timeout). */
  async send(step: string, method: Method, endpoint: string, data: unknown = null, expect: Expect = {}): Promise<Reply> {
    return (await this.exchange(step, method, endpoint, data, expect, true)).reply;
  }

  /** A request whose JSON answer a handler reads: `json.loads(...)`, then `result.get("code") == 200`. */
  async call(step: string, method: Method, endpoint: string, data: unknown = null, expect: Expect = {}): Promise<Envelope> {
    const { reply, entry } = await this.exchange(step, method, endpoint, data, expect, false);
    const where = `${this.build} ${step}: ${method} ${reply.path}`;
    try {
      let body: Envelope;
      try {
        body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(reply.bytes));
      } catch (e) {
        throw new ReplayError(`${where}: 处理响应时发生错误 (not JSON: ${(e as Error).message})`, this.steps);
      }
      entry.code = typeof body?.code === 'number' ? body.code : null;
      const want = expect.code ?? 200;
      entry.expectCode = want;
      if (body?.code !== want) {
        throw new ReplayError(`${where}: expected code ${want}, got ${JSON.stringify(body?.code)} (${body?.message})`, this.steps);
      }
      if (typeof body.message !== 'string') throw new ReplayError(`${where}: message is not a string`, this.steps);
      return body;
    } finally {
      this.opts.onStep?.(entry);
    }
  }

  /** Sends, logs the step and applies the status rules; `report` = tell onStep now (else the caller does). */
  private async exchange(step: string, method: Method, endpoint: string, data: unknown, expect: Expect, report: boolean) {
    const url = expect.url ?? this.url(endpoint);
    const type = this.contentType(data);
    const headers: [string, string][] = [];
    let body: string | Uint8Array | undefined;
    if (type === 'multipart/form-data') {
      // the app sets no Content-Type; Qt adds it (quoted boundary) and MIME-Version after Authorization
      if (this.token) headers.push(['Authorization', `Bearer ${this.token}`]);
      const mp = qtMultipart(data as string);
      headers.push(['Content-Type', `multipart/form-data; boundary="${mp.boundary}"`], ['MIME-Version', '1.0']);
      body = mp.body;
    } else {
      if (type) headers.push(['Content-Type', type]);
      if (this.token) headers.push(['Authorization', `Bearer ${this.token}`]);
      if (method === 'POST') body = type === 'application/json' ? pyJson(pyFalsy(data) ? {} : data) : '';
    }
    headers.push(...QT_HEADERS);
    const path = new URL(url).pathname + new URL(url).search;
    const entry: StepLog = { build: this.build, step, method, path, status: 0, code: null, ms: 0, extra: !!expect.extra };
    if (expect.status !== undefined) entry.expectStatus = expect.status;
    const timeoutMs = this.opts.timeoutMs ?? 3000;
    const started = performance.now();
    let reply: Reply;
    try {
      const res = await fetch(url, { method, headers, body, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
      const bytes = new Uint8Array(await res.arrayBuffer());
      reply = { status: res.status, headers: res.headers, bytes, ms: Math.round(performance.now() - started), path };
    } catch (e) {
      entry.ms = Math.round(performance.now() - started);
      this.steps.push(entry);
      this.opts.onStep?.(entry);
      const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
      throw new ReplayError(`${this.build} ${step}: ${method} ${path}: ${timedOut ? `请求超时 (no answer within ${timeoutMs} ms)` : `网络错误: ${(e as Error).message}`}`, this.steps);
    }
    entry.status = reply.status;
    entry.ms = reply.ms;
    this.last = reply;
    this.steps.push(entry);
    const where = `${this.build} ${step}: ${method} ${path}`;
    let refused: string | undefined;
    if (expect.status !== undefined) {
      if (reply.status !== expect.status) refused = `${where}: expected HTTP ${expect.status}, got ${reply.status}`;
    } else if (this.build === 'L' && (reply.status === 401 || reply.status === 422)) {
      refused = `${where}: HTTP ${reply.status} — build L logs the user out`;
    } else if (reply.status >= 400) {
      refused = `${where}: HTTP ${reply.status} — the client shows 网络错误 and never reads the body`;
    }
    if (report || refused) this.opts.onStep?.(entry);
    if (refused) throw new ReplayError(refused, this.steps);
    return { reply, entry };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks on what the client reads

const TYPES = ['t2i', 'i2i', 't2v', 'i2v'];
const URL_SAFE = /^[A-Za-z0-9._~-]+$/;
const RESULT_URL = /^\/generated_outputs\/[A-Za-z0-9._~-]+\.(png|jpg|jpeg|webp|mp4)$/;

function isPng(b: Uint8Array) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return sig.every((x, i) => b[i] === x) && String.fromCharCode(...b.subarray(12, 16)) === 'IHDR';
}

/** Top-level MP4 boxes, or null when the bytes are not a well-formed box sequence. */
function mp4Boxes(b: Uint8Array): string[] | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const types: string[] = [];
  for (let at = 0; at < b.byteLength; ) {
    if (at + 8 > b.byteLength) return null;
    let size = dv.getUint32(at);
    if (size === 1) size = Number(dv.getBigUint64(at + 8));
    else if (size === 0) size = b.byteLength - at;
    if (size < 8 || at + size > b.byteLength) return null;
    types.push(String.fromCharCode(...b.subarray(at + 4, at + 8)));
    at += size;
  }
  return types;
}

function checkMedia(where: string, reply: Reply, resultUrl: string) {
  const type = reply.headers.get('content-type') ?? '';
  check(reply.status === 200, `${where}: HTTP ${reply.status}`);
  check(reply.headers.get('content-length') === String(reply.bytes.byteLength), `${where}: Content-Length does not match the bytes`);
  if (resultUrl.endsWith('.png')) {
    check(type === 'image/png', `${where}: Content-Type ${type}, expected image/png`);
    check(isPng(reply.bytes), `${where}: not a PNG`);
  } else if (resultUrl.endsWith('.mp4')) {
    check(type === 'video/mp4', `${where}: Content-Type ${type}, expected video/mp4`);
    const boxes = mp4Boxes(reply.bytes);
    check(boxes?.[0] === 'ftyp' && boxes.includes('moov') && boxes.includes('mdat'), `${where}: not an MP4 (${boxes})`);
  } else fail(`${where}: unexpected result extension in ${resultUrl}`);
}

/** The fields each build's RecordWidget reads, from history or from POST /generation. */
function checkRecord(build: Build, where: string, r: any) {
  check(r && typeof r === 'object', `${where}: record is not an object`);
  check(TYPES.includes(r.type), `${where}: type ${JSON.stringify(r.type)} is not one of ${TYPES}`);
  check(typeof r.prompt === 'string', `${where}: prompt`);
  check(r.parameters === undefined || (typeof r.parameters === 'object' && r.parameters !== null && !Array.isArray(r.parameters)), `${where}: parameters is not an object`);
  check(typeof r.task_id === 'string' && URL_SAFE.test(r.task_id), `${where}: task_id ${JSON.stringify(r.task_id)} is not URL-safe`);
  if (r.result_url !== undefined && r.result_url !== null) {
    check(RESULT_URL.test(r.result_url), `${where}: result_url ${JSON.stringify(r.result_url)} has no real media extension`);
  }
  if (build === 'L') {
    check(typeof r.status === 'string', `${where}: status`);
    for (const k of ['review_status', 'review_message']) check(r[k] === undefined || r[k] === null || typeof r[k] === 'string', `${where}: ${k}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The flow

interface FavNode {
  id: number;
  parent_id: number | null;
  name: string;
  node_type: 'folder' | 'file';
  refer_url?: string;
  [k: string]: unknown;
}

class Session {
  readonly c: QtClient;
  /** the local SQLite cache of downloaded result urls (local_records.db) */
  readonly cache = new Set<string>();
  /** FavTreeView.node_map, in the order the client learnt the nodes */
  nodes = new Map<number, FavNode>();
  /** RecordWidgets: task_id → result_url */
  records = new Map<string, { type: string; resultUrl: string | null }>();
  /** last polled status per task */
  status = new Map<string, string>();
  /** poll timers still running (stopped all at once when the replay fails) */
  private timers = new Set<ReturnType<typeof setInterval>>();
  private stopped = false;

  constructor(
    readonly log: ReplayLog,
    baseUrl: string,
    readonly o: Required<Omit<ReplayOptions, 'onStep'>> & Pick<ReplayOptions, 'onStep'>,
    readonly localDir: string,
  ) {
    this.c = new QtClient(log.build, baseUrl, log.steps, { timeoutMs: o.timeoutMs, onStep: o.onStep });
  }

  get build() {
    return this.log.build;
  }

  get root(): FavNode {
    const r = [...this.nodes.values()].find((n) => n.parent_id === null);
    return r ?? fail(`${this.build}: favorites have no root`);
  }

  async login(account: string, password: string) {
    const res = await this.c.call('login', 'POST', '/auth/login', { account, password });
    const d = res.data;
    check(typeof d?.token === 'string' && d.token.length > 0, `${this.build} login: no data.token`);
    check(typeof d.account === 'string' && typeof d.email === 'string', `${this.build} login: data.account/email`);
    this.c.token = d.token; // session.set_session(token, account, email)
  }

  /** MainWindow.__init__: history, a download for every record not cached, then the favorites tree. */
  async openMainWindow(label: string) {
    const list = await this.c.call(`${label}: history`, 'GET', '/user/generation_list');
    check(Array.isArray(list.data), `${this.build} history: data is not a list`);
    let previous = '';
    for (const r of list.data) {
      checkRecord(this.build, `${this.build} history record`, r);
      check(typeof r.created_at === 'string' && r.created_at >= previous, `${this.build} history: not oldest first`);
      previous = r.created_at;
      this.records.set(r.task_id, { type: r.type, resultUrl: r.result_url ?? null });
      if (r.result_url && !this.cache.has(r.result_url)) await this.download(`${label}: download`, r.task_id, r.type, r.result_url);
    }
    await this.loadFavorites(`${label}: favorites`);
    return list.data as any[];
  }

  async loadFavorites(step: string, extra = false): Promise<FavNode[]> {
    const res = await this.c.call(step, 'GET', '/user/favorite_list', null, { extra });
    check(Array.isArray(res.data), `${this.build} ${step}: data is not a list`);
    const list = res.data as FavNode[];
    check(list[0]?.parent_id === null && list[0].name === '/', `${this.build} ${step}: the root "/" is not first`);
    for (const n of list) {
      check(Number.isInteger(n.id) && (n.parent_id === null || Number.isInteger(n.parent_id)), `${this.build} ${step}: ids are not integers`);
      check(n.node_type === 'folder' || n.node_type === 'file', `${this.build} ${step}: node_type`);
      check((n.node_type === 'file') === ('refer_url' in n), `${this.build} ${step}: refer_url on a folder or missing on a file`);
    }
    if (!extra) this.nodes = new Map(list.map((n) => [n.id, n]));
    return list;
  }

  /** Extra: the server's tree is exactly the client's local tree. */
  async verifyFavorites(step: string) {
    const server = await this.loadFavorites(step, true);
    const shape = (n: FavNode) => JSON.stringify([n.id, n.parent_id, n.name, n.node_type, n.refer_url ?? null]);
    const got = server.map(shape).sort();
    const want = [...this.nodes.values()].map(shape).sort();
    check(JSON.stringify(got) === JSON.stringify(want), `${this.build} ${step}: server tree ${got} differs from the client's ${want}`);
  }

  async generate(type: string, prompt: string, image?: string): Promise<string> {
    const body: Record<string, unknown> = { type, prompt, parameters: {} };
    if (image !== undefined) body.image = image;
    const res = await this.c.call(`generate ${type}`, 'POST', '/generation', body);
    checkRecord(this.build, `${this.build} generate ${type}`, res.data);
    check(res.data.type === type, `${this.build} generate: type echoed as ${res.data.type}`);
    check(res.data.status === undefined || res.data.status === 'processing', `${this.build} generate: status ${res.data.status}`);
    this.records.set(res.data.task_id, { type, resultUrl: null });
    this.status.set(res.data.task_id, 'processing');
    return res.data.task_id;
  }

  /** start_polling_generation: one poll at once, then one every interval (no in-flight guard) until terminal. */
  poll(taskId: string, type: string): Promise<any> {
    const deadline = Date.now() + this.o.taskTimeoutMs;
    return new Promise((resolve, reject) => {
      let done = false;
      const inflight = new Set<Promise<void>>();
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        this.timers.delete(timer);
        Promise.allSettled([...inflight]).then(settle);
      };
      const tick = () => {
        if (this.stopped) return finish(() => reject(new ReplayError('stopped')));
        if (done) return;
        if (Date.now() > deadline) return finish(() => reject(new ReplayError(`${this.build} poll ${type}: ${taskId} not done after ${this.o.taskTimeoutMs} ms`, this.log.steps)));
        const p = (async () => {
          try {
            const res = await this.c.call(`poll ${type}`, 'GET', `/generation/${taskId}`);
            const d = res.data;
            check(d?.task_id === taskId, `${this.build} poll: task_id ${d?.task_id}`);
            check(['processing', 'completed', 'failed'].includes(d.status), `${this.build} poll: status ${JSON.stringify(d.status)}`);
            if (done) return;
            this.status.set(taskId, d.status);
            if (d.status === 'completed') {
              check(typeof d.result_url === 'string' && RESULT_URL.test(d.result_url), `${this.build} poll: result_url ${JSON.stringify(d.result_url)}`);
              finish(() => resolve(d));
            } else if (d.status === 'failed') {
              finish(() => reject(new ReplayError(`${this.build} poll ${type}: 生成失败 (${d.error ?? d.review_message ?? res.message})`, this.log.steps)));
            }
          } catch (e) {
            finish(() => reject(e));
          }
        })();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      };
      const timer = setInterval(tick, this.o.pollIntervalMs);
      this.timers.add(timer);
      tick();
    });
  }

  /** RecordWidget.request_image: the build's download URL, the bytes saved to local_result/ and cached. */
  async download(step: string, taskId: string, type: string, resultUrl: string): Promise<Reply | null> {
    const endpoint = this.c.downloadEndpoint(resultUrl);
    if (endpoint === null) return null;
    const reply = await this.c.send(step, 'GET', endpoint);
    checkMedia(`${this.build} ${step}: GET ${reply.path}`, reply, resultUrl);
    writeFileSync(join(this.localDir, basename(resultUrl)), reply.bytes);
    this.cache.add(resultUrl);
    this.records.set(taskId, { type, resultUrl });
    this.log.downloads.push({ taskId, type, path: reply.path, contentType: reply.headers.get('content-type') ?? '', bytes: reply.bytes });
    return reply;
  }

  /** Generate, poll until completed, download: one RecordWidget's life. */
  async generateAndFetch(type: string, prompt: string, image?: string) {
    const taskId = await this.generate(type, prompt, image);
    return this.fetchResult(taskId, type);
  }

  async fetchResult(taskId: string, type: string) {
    const done = await this.poll(taskId, type);
    const reply = await this.download(`download ${type}`, taskId, type, done.result_url);
    return { taskId, resultUrl: done.result_url as string, reply };
  }

  /** Extra: the other build's path form (A: host root, L: under /api/v1) serves the same bytes. */
  async downloadOtherForm(resultUrl: string, bytes: Uint8Array) {
    const url = (this.build === 'A' ? this.c.base : this.c.origin) + resultUrl;
    const reply = await this.c.send('download, the other build\'s path', 'GET', resultUrl, null, { extra: true, url });
    checkMedia(`${this.build} download (other form) ${reply.path}`, reply, resultUrl);
    check(Buffer.compare(reply.bytes, bytes) === 0, `${this.build}: ${reply.path} serves other bytes than the client's path form`);
  }

  // favorites (FavTreeView)

  async addNode(parentId: number, name: string, nodeType: 'folder' | 'file', referUrl?: string): Promise<number> {
    const body: Record<string, unknown> = { parent_id: parentId, name, node_type: nodeType };
    if (nodeType === 'file') body.refer_url = referUrl;
    const res = await this.c.call(`favorites: add ${nodeType}`, 'POST', '/user/favorite_list', body);
    check(Number.isInteger(res.data?.id), `${this.build} add ${nodeType}: data.id ${JSON.stringify(res.data?.id)} is not an integer`);
    this.nodes.set(res.data.id, { id: res.data.id, ...body } as FavNode);
    return res.data.id;
  }

  /** collect_descendants: every node below `id`, depth first. */
  descendants(id: number): number[] {
    const out: number[] = [];
    for (const n of this.nodes.values()) {
      if (n.parent_id === id) out.push(n.id, ...this.descendants(n.id));
    }
    return out;
  }

  /** Export (no HTTP): the JSON file the client writes, read back as the import would read it. */
  exportFolder(id: number): FavNode[] {
    const current = this.nodes.get(id) ?? fail(`${this.build}: no node ${id}`);
    let result: FavNode[];
    if (current.parent_id !== null) {
      result = [{ ...current, parent_id: null }, ...this.descendants(id).map((n) => this.nodes.get(n)!)];
    } else if (this.build === 'L') {
      result = this.descendants(id).map((n) => ({ ...this.nodes.get(n)! }));
      for (const child of result) if (child.parent_id === current.id) child.parent_id = null;
    } else {
      // build A compares the parent with "/" (never true): the root's children keep the root's id as parent
      result = this.descendants(id).map((n) => this.nodes.get(n)!);
    }
    return JSON.parse(JSON.stringify(result, null, 4));
  }

  /** Import into `folderId` through POST /favorite_list/batch; the client maps ids with mapping[str(temp_id)]. */
  async importNodes(step: string, exported: FavNode[], folderId: number, expectCode = 200) {
    const items = exported.map((node) => {
      const item: Record<string, unknown> = { ...node };
      delete item.id;
      item.temp_id = node.id; // node["temp_id"] = node.pop("id")
      if (node.parent_id === null) item.parent_id = folderId;
      else {
        delete item.parent_id;
        item.parent_temp_id = node.parent_id; // node["parent_temp_id"] = node.pop("parent_id")
      }
      return item;
    });
    const res = await this.c.call(step, 'POST', '/user/favorite_list/batch', { items }, { code: expectCode });
    if (expectCode !== 200) return null;
    const mapping = res.data?.mapping;
    check(mapping && typeof mapping === 'object', `${this.build} ${step}: no data.mapping`);
    const added: FavNode[] = [];
    for (const item of items) {
      const id = mapping[String(item.temp_id)];
      check(Number.isInteger(id), `${this.build} ${step}: mapping["${item.temp_id}"] is ${JSON.stringify(id)} (处理响应时发生错误)`);
      const parentId = 'parent_temp_id' in item ? mapping[String(item.parent_temp_id)] : item.parent_id;
      check(Number.isInteger(parentId), `${this.build} ${step}: mapping["${item.parent_temp_id}"] missing`);
      const node = { ...exported.find((n) => n.id === item.temp_id)!, id, parent_id: parentId } as FavNode;
      this.nodes.set(id, node);
      added.push(node);
    }
    return added;
  }

  async deleteNode(id: number) {
    const subtree = [id, ...this.descendants(id)];
    const res = await this.c.call('favorites: delete node', 'DELETE', `/user/favorite_list/${id}`);
    check(Array.isArray(res.data) && res.data[0]?.id === id, `${this.build} delete node: data[0] is not the node`);
    const removed = res.data.map((n: { id: number }) => n.id).sort((a: number, b: number) => a - b);
    check(JSON.stringify(removed) === JSON.stringify([...subtree].sort((a, b) => a - b)), `${this.build} delete node: removed ${removed}, expected ${subtree}`);
    for (const n of subtree) this.nodes.delete(n);
  }

  /** HistoryPage: delete a record, then drop local favorite nodes with that refer_url. */
  async deleteRecord(taskId: string, resultUrl: string) {
    const res =
      this.build === 'A'
        ? await this.c.call('history: delete record', 'POST', '/user/generation_list', { result_url: resultUrl })
        : await this.c.call('history: delete record', 'DELETE', `/user/generation_list/${taskId}`);
    check(res.data?.result_url === resultUrl, `${this.build} delete record: data.result_url ${res.data?.result_url}`);
    this.records.delete(taskId);
    for (const n of [...this.nodes.values()]) if (n.refer_url === resultUrl) this.nodes.delete(n.id);
  }

  /** Stops every poll timer (the replay failed). */
  stopAll() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }

  /** Extra requests with a given token (the client itself would hold none or another). */
  async withToken<T>(token: string | null, fn: () => Promise<T>): Promise<T> {
    const kept = this.c.token;
    this.c.token = token;
    try {
      return await fn();
    } finally {
      this.c.token = kept;
    }
  }
}

const uniqueName = (build: Build) => `rp${build}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

/** Replays build A's or L's real request sequence against a running server; throws a ReplayError on any deviation. */
export async function replayBuild(build: Build, baseUrl: string, opts: ReplayOptions = {}): Promise<ReplayLog> {
  const o = {
    pollIntervalMs: opts.pollIntervalMs ?? 2000,
    timeoutMs: opts.timeoutMs ?? 3000,
    busyTasks: opts.busyTasks ?? 1,
    taskTimeoutMs: opts.taskTimeoutMs ?? 120_000,
    image: opts.image ?? join(import.meta.dir, '..', 'fixtures', 'sample.jpg'),
    onStep: opts.onStep,
  };
  const account = uniqueName(build);
  const log: ReplayLog = { build, account, email: `${account}@example.com`, steps: [], downloads: [], tasks: {}, busyAtProbe: false };
  // the client's local_result/ folders (this install's, and a fresh install's at the end), removed afterwards
  const localDir = mkdtempSync(join(tmpdir(), `replay-${build}-`));
  const freshDir = mkdtempSync(join(tmpdir(), `replay-${build}-`));
  const s = new Session(log, baseUrl, o, localDir);
  const c = s.c;
  const password = 'User@1234';
  const newPassword = 'User@5678';
  try {
    // 1–2. register, login, main window
    await c.call('register', 'POST', '/auth/register', { account, email: log.email, password });
    await s.login(account, password);
    const first = await s.openMainWindow('main window');
    check(first.length === 0, `${build}: a new account has history`);

    // 5. upload
    let fileId: string | undefined;
    if (build === 'A') {
      // the local path as a JSON string, never the file: refused (code 400), and the client goes no further
      await c.call('upload (path as JSON string)', 'POST', '/upload', o.image, { code: 400 });
      await c.call('upload (non-ASCII path)', 'POST', '/upload', join(localDir, '猫 图.png'), { code: 400 });
      const after = await c.call('history after the refused upload', 'GET', '/user/generation_list', null, { extra: true });
      check(after.data.length === 0, `${build}: the refused upload created a record`);
    } else {
      const res = await c.call('upload (multipart)', 'POST', '/upload', o.image);
      fileId = res.data?.file_id;
      check(typeof fileId === 'string' && fileId.length > 0, `${build} upload: no data.file_id`);
    }

    // 6–8. t2i: generate, poll, download (+ the other path form serves the same file)
    const t2i = await s.generateAndFetch('t2i', '油画风格的海边日落 sunset');
    log.tasks.t2i = t2i.taskId;
    await s.downloadOtherForm(t2i.resultUrl, t2i.reply!.bytes);

    if (build === 'L') {
      // the user saves the PNG result and uploads it again under a non-ASCII name (raw UTF-8 filename)
      const png = join(localDir, '猫 图.png');
      writeFileSync(png, t2i.reply!.bytes);
      await c.call('upload (multipart, non-ASCII filename)', 'POST', '/upload', png);
      const i2i = await s.generateAndFetch('i2i', '让上传的照片呈现出油画效果', fileId);
      log.tasks.i2i = i2i.taskId;
    }

    // t2v (4 s by default) and more videos to keep the workers busy; each task is polled on its own timer
    const videos: Promise<unknown>[] = [];
    for (let i = 0; i <= o.busyTasks; i++) {
      const id = await s.generate('t2v', i === 0 ? '海浪拍打礁石 ocean waves' : `城市夜景 city lights ${i}`);
      if (i === 0) log.tasks.t2v = id;
      else log.tasks[`busy${i}`] = id;
      const fetched = s.fetchResult(id, 't2v');
      fetched.catch(() => {}); // awaited below; a failure must not be an unhandled rejection meanwhile
      videos.push(fetched);
      await Bun.sleep(10);
    }
    // a POST /generation while the workers are busy: answered within the client's 3 s
    const probe = await s.generate('t2i', '雪山 snowy mountains');
    log.tasks.probe = probe;
    const waiting = [log.tasks.t2v, ...Array.from({ length: o.busyTasks }, (_, i) => log.tasks[`busy${i + 1}`])];
    log.busyAtProbe = waiting.some((id) => s.status.get(id) === 'processing');
    log.steps.findLast((st) => st.step === 'generate t2i')!.note = `workers busy: ${waiting.filter((id) => s.status.get(id) === 'processing').length} of ${waiting.length} videos still processing`;
    videos.push(s.fetchResult(probe, 't2i'));
    await Promise.all(videos);

    // history: the client reads it when its main window opens (results cached ⇒ no downloads)
    const records = await s.openMainWindow('main window again');
    const expected = Object.values(log.tasks);
    check(expected.every((id) => records.some((r) => r.task_id === id)), `${build}: history misses a task`);
    check(records.every((r) => r.status === 'completed' && r.result_url), `${build}: a finished task has no result_url in history`);

    // favorites: folder / sub-folder / files, export + import through the batch endpoint, delete a node
    const t2vUrl = s.records.get(log.tasks.t2v)!.resultUrl!;
    const folder = await s.addNode(s.root.id, '我的收藏', 'folder');
    const sub = await s.addNode(folder, '子目录', 'folder');
    await s.addNode(folder, '海边日落.png', 'file', t2i.resultUrl);
    await s.addNode(sub, '海浪.mp4', 'file', t2vUrl);
    await s.verifyFavorites('favorites: check the tree');
    const copy = await s.importNodes('favorites: import an exported folder', s.exportFolder(folder), s.root.id);
    await s.verifyFavorites('favorites: check after import');
    if (build === 'L') {
      await s.importNodes('favorites: import a root export', s.exportFolder(s.root.id), s.root.id);
    } else {
      // A's root export keeps the root id as parent ⇒ a dangling parent_temp_id: the whole batch is refused
      await s.importNodes('favorites: import a root export (dangling parent_temp_id)', s.exportFolder(s.root.id), s.root.id, 400);
    }
    await s.verifyFavorites('favorites: check after root import');
    await s.deleteNode(copy![0].id);
    await s.verifyFavorites('favorites: check after delete');

    // delete the t2i record: favorites pointing at it go too, and its file is 404 for this user
    await s.deleteRecord(t2i.taskId, t2i.resultUrl);
    await s.verifyFavorites('favorites: check after the record was deleted');
    const left = await c.call('history after delete', 'GET', '/user/generation_list', null, { extra: true });
    check(!left.data.some((r: any) => r.task_id === t2i.taskId), `${build}: the deleted record is still listed`);
    await c.send('deleted record file', 'GET', c.downloadEndpoint(t2i.resultUrl)!, null, { extra: true, status: 404 });

    // change password: the client ignores the answer and keeps using its old token
    await c.call('change password', 'POST', '/user/reset-password', { old_password: password, new_password: newPassword });
    await s.openMainWindow('old token after password change');
    await c.call('poll with the old token', 'GET', `/generation/${log.tasks.t2v}`, null, { extra: true });

    // change e-mail: A sends {"email"}, L {"new_email"}; both read data.email
    const newEmail = `new.${log.email}`;
    const emailRes = await c.call('change e-mail', 'POST', '/user/reset-email', build === 'A' ? { email: newEmail } : { new_email: newEmail });
    check(emailRes.data?.email === newEmail, `${build} change e-mail: data.email ${emailRes.data?.email}`);
    log.email = newEmail;

    // logout: the client only forgets its token; the server-side logout is an extra check
    const token = c.token!;
    await c.call('server logout', 'POST', '/auth/logout', null, { extra: true });
    c.token = null;
    await s.withToken(token, async () => {
      await c.send('history with the logged-out token', 'GET', '/user/generation_list', null, { extra: true, status: 401 });
      await c.send('poll with the logged-out token', 'GET', `/generation/${log.tasks.t2v}`, null, { extra: true, status: 401 });
      await c.send('download with the logged-out token', 'GET', c.downloadEndpoint(t2vUrl)!, null, { extra: true, status: 401 });
    });

    // forgot password twice within 60 s: the second is HTTP 200, code 429, Retry-After and the wait in the message
    await c.call('forgot password', 'POST', '/auth/forgot-password', { email: newEmail });
    const again = await c.call('forgot password again', 'POST', '/auth/forgot-password', { email: newEmail }, { code: 429 });
    const retryAfter = c.last!.headers.get('retry-after') ?? '';
    check(/^\d+$/.test(retryAfter) && +retryAfter >= 1 && +retryAfter <= 60, `${build} forgot again: Retry-After ${JSON.stringify(retryAfter)}`);
    check(/\d+\s*秒/.test(again.message), `${build} forgot again: the message does not say how long to wait: ${again.message}`);

    // a fresh install logs in with the new password: empty cache ⇒ every record is downloaded by the build's path
    const fresh = new Session(log, baseUrl, o, freshDir);
    await fresh.login(account, newPassword);
    const finalList = await fresh.openMainWindow('fresh install');
    check(finalList.length === expected.length - 1, `${build}: fresh install sees ${finalList.length} records`);
    return log;
  } catch (e) {
    s.stopAll();
    if (e instanceof ReplayError) throw new ReplayError(e.message, log.steps);
    throw new ReplayError(`${build}: ${(e as Error).stack ?? e}`, log.steps);
  } finally {
    for (const dir of [localDir, freshDir]) rmSync(dir, { recursive: true, force: true });
  }
}
