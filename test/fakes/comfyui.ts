// A fake ComfyUI server for the comfyui provider's tests, written from ComfyUI's own routes and messages
// (server.py, execution.py, main.py of comfyanonymous/ComfyUI):
//   POST /upload/image (multipart `image`, `type`, `subfolder`, `overwrite`) → {name, subfolder, type}
//   POST /prompt {prompt, client_id, prompt_id?} → {prompt_id, number, node_errors}; 400 {error, node_errors} when the
//        workflow fails validation (unknown class, missing input, a value out of range or not in its list, a missing
//        input image); a client's prompt_id is taken as is (as ComfyUI does)
//   GET /queue → {queue_running, queue_pending} of [number, prompt_id, prompt, extra_data, outputs_to_execute]
//   GET /prompt → {exec_info: {queue_remaining}}; GET /history[/{prompt_id}] → {prompt_id: {prompt, outputs, status, meta}}
//   POST /queue {delete: [ids]} | {clear: true}; POST /interrupt [{prompt_id}]; POST /history {delete | clear}
//   GET /view?filename=&subfolder=&type= → the file (404 when it is not there, e.g. cleaned up)
//   GET /ws?clientId= → `status` at once (with `sid`), then a prompt's events to the client that queued it:
//        execution_start, execution_cached, executing {node}, progress {value, max} + binary preview frames,
//        executed, execution_success | execution_error | execution_interrupted (broadcast), executing {node: null}
// Every route also answers under /api (as ComfyUI registers both). One prompt runs at a time, in `number` order.
// The server has no auth of its own; with `token` set the fake plays a reverse proxy that wants `Bearer <token>`.
// Test knobs: holding/release (a running prompt waits halfway through its sampler), failNext (429/5xx answers),
// failExecution, expireOutputsAfterMs, socketsEnabled, checkpoints, submitForeign (someone else's prompt).
import type { Server, ServerWebSocket } from 'bun';
import { encodePng, runLocalEngine } from '../../src/engine/local';

type Json = any;
type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface RecordedRequest {
  method: string;
  /** without the /api prefix */
  path: string;
  /** whether it came under /api */
  api: boolean;
  query: Record<string, string>;
  /** the JSON body, or for an upload {name, type, subfolder, size} */
  body: Json;
  /** whether an Authorization header came (its value is not kept) */
  authorized: boolean;
}

interface Job {
  number: number;
  promptId: string;
  prompt: Workflow;
  extra: { client_id?: string; create_time: number };
  outputs: string[];
  interrupted: boolean;
}

interface StoredFile {
  bytes: Uint8Array;
  mime: string;
  createdAt: number;
}

type Sock = ServerWebSocket<{ clientId: string }>;

// ---- media: a real PNG and a real MP4, made once per run --------------------------------------------------------
let media: Promise<{ png: Uint8Array; mp4: Uint8Array }> | undefined;
function fakeMedia() {
  media ??= (async () => {
    const w = 16;
    const data = new Uint8Array(w * w * 4);
    for (let i = 0; i < w * w; i++) data.set([(i * 7) & 255, (i * 3) & 255, 200, 255], i * 4);
    const png = await encodePng({ width: w, height: w, data });
    const video = await runLocalEngine({ type: 't2v', prompt: 'x', parameters: { width: 64, height: 64, duration: 1, fps: 8 }, references: [] });
    return { png, mp4: video.bytes };
  })();
  return media;
}

// ---- node definitions the fake validates against (a few core nodes and VideoHelperSuite's combine) -------------
type InputSpec =
  | { kind: 'INT' | 'FLOAT'; min: number; max: number }
  | { kind: 'STRING' | 'BOOLEAN' }
  | { kind: 'COMBO'; values: () => string[] }
  | { kind: 'LINK'; type: string }
  | { kind: 'IMAGE_FILE' };
interface NodeDef {
  required: Record<string, InputSpec>;
  returns: string[];
  output?: boolean;
}

const INT = (min: number, max: number): InputSpec => ({ kind: 'INT', min, max });
const FLOAT = (min: number, max: number): InputSpec => ({ kind: 'FLOAT', min, max });
const LINK = (type: string): InputSpec => ({ kind: 'LINK', type });
const STRING: InputSpec = { kind: 'STRING' };
const COMBO = (values: string[] | (() => string[])): InputSpec => ({ kind: 'COMBO', values: typeof values === 'function' ? values : () => values });
const MAX_RES = 16384;
const SAMPLERS = ['euler', 'euler_ancestral', 'dpmpp_2m', 'uni_pc'];
const SCHEDULERS = ['normal', 'karras', 'simple', 'beta'];

export class FakeComfyUI {
  readonly url: string;
  readonly requests: RecordedRequest[] = [];
  /** the prompts accepted by POST /prompt, in order */
  readonly accepted: { promptId: string; clientId?: string; prompt: Workflow }[] = [];
  /** uploaded input images */
  readonly uploads: { name: string; bytes: Uint8Array }[] = [];
  /** the /ws connections by client id, in order */
  readonly connections: string[] = [];

  /** checkpoints the server has (CheckpointLoaderSimple.ckpt_name) */
  checkpoints = ['sd_xl_base_1.0.safetensors', 'wan2.1_t2v_1.3B.safetensors'];
  /** time per sampler step */
  stepMs = 5;
  /** while true, a running prompt waits halfway through its sampler until release() */
  holding = false;
  /** a node's exception during execution (e.g. out of memory), or null */
  failExecution: string | null = null;
  /** outputs are cleaned up (GET /view → 404) this long after they were written; null = kept */
  expireOutputsAfterMs: number | null = null;
  /** false: /ws answers 404 (no socket; clients must poll) */
  socketsEnabled = true;
  /** false: a client's prompt_id is ignored and the server picks its own (ComfyUI before client ids) */
  acceptsPromptId = true;
  /** POST /prompt queues the prompt, then answers only after this long (an answer lost in a crash) */
  stallPromptAnswerMs = 0;

  private server!: Server<{ clientId: string }>;
  private sockets = new Map<string, Sock>();
  private pending: Job[] = [];
  private running: Job | null = null;
  private runningNode: string | null = null;
  private history = new Map<string, Json>();
  private inputs = new Map<string, StoredFile>();
  private files = new Map<string, StoredFile>();
  private failures: { route: string; status: number; left: number }[] = [];
  private number = 0;
  private counter = 0;
  private releases = 0;
  private waitingCount = 0;
  private stopped = false;
  private defs: Record<string, NodeDef>;

  constructor(
    private media: { png: Uint8Array; mp4: Uint8Array },
    private token: string | null,
  ) {
    this.defs = {
      CheckpointLoaderSimple: { required: { ckpt_name: COMBO(() => this.checkpoints) }, returns: ['MODEL', 'CLIP', 'VAE'] },
      CLIPTextEncode: { required: { text: STRING, clip: LINK('CLIP') }, returns: ['CONDITIONING'] },
      EmptyLatentImage: { required: { width: INT(16, MAX_RES), height: INT(16, MAX_RES), batch_size: INT(1, 4096) }, returns: ['LATENT'] },
      EmptyHunyuanLatentVideo: {
        required: { width: INT(16, MAX_RES), height: INT(16, MAX_RES), length: INT(1, MAX_RES), batch_size: INT(1, 4096) },
        returns: ['LATENT'],
      },
      KSampler: {
        required: {
          model: LINK('MODEL'),
          seed: INT(0, Number.MAX_SAFE_INTEGER),
          steps: INT(1, 10000),
          cfg: FLOAT(0, 100),
          sampler_name: COMBO(SAMPLERS),
          scheduler: COMBO(SCHEDULERS),
          positive: LINK('CONDITIONING'),
          negative: LINK('CONDITIONING'),
          latent_image: LINK('LATENT'),
          denoise: FLOAT(0, 1),
        },
        returns: ['LATENT'],
      },
      VAEDecode: { required: { samples: LINK('LATENT'), vae: LINK('VAE') }, returns: ['IMAGE'] },
      VAEEncode: { required: { pixels: LINK('IMAGE'), vae: LINK('VAE') }, returns: ['LATENT'] },
      LoadImage: { required: { image: { kind: 'IMAGE_FILE' } }, returns: ['IMAGE', 'MASK'] },
      SaveImage: { required: { images: LINK('IMAGE'), filename_prefix: STRING }, returns: [], output: true },
      PreviewImage: { required: { images: LINK('IMAGE') }, returns: [], output: true },
      CreateVideo: { required: { images: LINK('IMAGE'), fps: FLOAT(1, 120) }, returns: ['VIDEO'] },
      SaveVideo: {
        required: { video: LINK('VIDEO'), filename_prefix: STRING, format: COMBO(['auto', 'mp4']), codec: COMBO(['auto', 'h264']) },
        returns: [],
        output: true,
      },
      VHS_VideoCombine: {
        required: {
          images: LINK('IMAGE'),
          frame_rate: FLOAT(1, 1000),
          loop_count: INT(0, 100),
          filename_prefix: STRING,
          format: COMBO(['image/gif', 'image/webp', 'video/h264-mp4', 'video/webm']),
          pingpong: { kind: 'BOOLEAN' },
          save_output: { kind: 'BOOLEAN' },
        },
        returns: ['VHS_FILENAMES'],
        output: true,
      },
    };
    this.server = Bun.serve<{ clientId: string }, never>({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req, server) => this.handle(req, server),
      websocket: {
        open: (ws) => this.onOpen(ws),
        message: () => {},
        close: (ws) => {
          if (this.sockets.get(ws.data.clientId) === ws) this.sockets.delete(ws.data.clientId);
        },
      },
    });
    this.url = `http://127.0.0.1:${this.server.port}`;
  }

  get png() {
    return this.media.png;
  }
  get mp4() {
    return this.media.mp4;
  }
  /** prompts waiting at the hold point */
  get waiting() {
    return this.waitingCount;
  }
  /** how many requests of `method path` came (path without /api; a prefix match when it ends with '*') */
  count(method: string, path: string) {
    return this.requests.filter((r) => r.method === method && (path.endsWith('*') ? r.path.startsWith(path.slice(0, -1)) : r.path === path)).length;
  }
  /** where a prompt is: 'pending' | 'running' | 'done' | null */
  state(promptId: string) {
    if (this.running?.promptId === promptId) return 'running';
    if (this.pending.some((j) => j.promptId === promptId)) return 'pending';
    return this.history.has(promptId) ? 'done' : null;
  }

  /** The next `times` requests of `route` ("POST /prompt") answer `status` (429 with Retry-After, or 5xx). */
  failNext(route: string, status: number, times = 1) {
    this.failures.push({ route, status, left: times });
  }

  /** Lets the prompts waiting at the hold point go on (holding stays as it is for later prompts). */
  release() {
    this.releases++;
  }

  /** Queues someone else's prompt (a small t2i graph, no socket): it occupies the server like any other. */
  submitForeign(): string {
    const promptId = crypto.randomUUID();
    const prompt: Workflow = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: this.checkpoints[0] } },
      '2': { class_type: 'CLIPTextEncode', inputs: { text: 'someone else', clip: ['1', 1] } },
      '3': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
      '4': {
        class_type: 'KSampler',
        inputs: { model: ['1', 0], seed: 1, steps: 4, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['2', 0], negative: ['2', 0], latent_image: ['3', 0], denoise: 1 },
      },
      '5': { class_type: 'VAEDecode', inputs: { samples: ['4', 0], vae: ['1', 2] } },
      '6': { class_type: 'SaveImage', inputs: { images: ['5', 0], filename_prefix: 'other' } },
    };
    this.enqueue({ number: this.number++, promptId, prompt, extra: { create_time: Date.now() }, outputs: ['6'], interrupted: false });
    return promptId;
  }

  /** Back to defaults between tests (the queue and history stay). */
  reset() {
    this.holding = false;
    this.release();
    this.failExecution = null;
    this.expireOutputsAfterMs = null;
    this.socketsEnabled = true;
    this.stallPromptAnswerMs = 0;
    this.acceptsPromptId = true;
    this.failures = [];
    this.checkpoints = ['sd_xl_base_1.0.safetensors', 'wan2.1_t2v_1.3B.safetensors'];
  }

  async stop() {
    this.stopped = true;
    this.release();
    for (const s of this.sockets.values()) s.close();
    await this.server.stop(true);
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------------

  private async handle(req: Request, server: Server<{ clientId: string }>): Promise<Response | undefined> {
    const u = new URL(req.url);
    const path = u.pathname.startsWith('/api/') ? u.pathname.slice(4) : u.pathname;
    const query = Object.fromEntries(u.searchParams);
    const rec: RecordedRequest = { method: req.method, path, api: path !== u.pathname, query, body: null, authorized: req.headers.has('authorization') };
    this.requests.push(rec);

    // the reverse proxy in front of the server
    if (this.token && req.headers.get('authorization') !== `Bearer ${this.token}`) {
      return new Response('401: Unauthorized', { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const route = `${req.method} ${path.startsWith('/history/') ? '/history/{prompt_id}' : path}`;
    const failure = this.failures.find((f) => f.route === route && f.left > 0);
    if (failure) {
      failure.left--;
      await req.arrayBuffer().catch(() => {});
      if (failure.status === 429) {
        return new Response('<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n', {
          status: 429,
          headers: { 'content-type': 'text/html', 'retry-after': '1' },
        });
      }
      return new Response(`${failure.status}: Server Error`, { status: failure.status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }

    if (path === '/ws' && req.method === 'GET') {
      if (!this.socketsEnabled) return new Response('404: Not Found', { status: 404 });
      const clientId = query.clientId || crypto.randomUUID().replaceAll('-', '');
      if (server.upgrade(req, { data: { clientId } })) return undefined;
      return new Response('Expected websocket', { status: 400 });
    }
    if (path === '/prompt' && req.method === 'POST') return this.postPrompt(req, rec);
    if (path === '/prompt' && req.method === 'GET') return Response.json({ exec_info: { queue_remaining: this.remaining() } });
    if (path === '/queue' && req.method === 'GET') {
      const item = (j: Job) => [j.number, j.promptId, j.prompt, j.extra, j.outputs];
      return Response.json({ queue_running: this.running ? [item(this.running)] : [], queue_pending: this.pending.map(item) });
    }
    if (path === '/queue' && req.method === 'POST') {
      const body: Json = (rec.body = await req.json());
      if (body.clear) this.pending = [];
      for (const id of body.delete ?? []) this.pending = this.pending.filter((j) => j.promptId !== id);
      this.broadcastStatus();
      return new Response(null, { status: 200 });
    }
    if (path === '/interrupt' && req.method === 'POST') {
      let body: Json = {};
      try {
        body = await req.json();
      } catch {}
      rec.body = body;
      // a prompt_id interrupts only that prompt, if it is the one running; none = whatever runs
      if (this.running && (!body.prompt_id || body.prompt_id === this.running.promptId)) this.running.interrupted = true;
      return new Response(null, { status: 200 });
    }
    if (path === '/history' && req.method === 'GET') return Response.json(Object.fromEntries(this.history));
    if (path.startsWith('/history/') && req.method === 'GET') {
      const id = decodeURIComponent(path.slice('/history/'.length));
      return Response.json(this.history.has(id) ? { [id]: structuredClone(this.history.get(id)) } : {});
    }
    if (path === '/history' && req.method === 'POST') {
      const body: Json = (rec.body = await req.json());
      if (body.clear) this.history.clear();
      for (const id of body.delete ?? []) this.history.delete(id);
      return new Response(null, { status: 200 });
    }
    if (path === '/upload/image' && req.method === 'POST') return this.upload(req, rec);
    if (path === '/view' && req.method === 'GET') return this.view(query);
    if (path === '/system_stats' && req.method === 'GET') {
      return Response.json({ system: { os: 'posix', comfyui_version: '0.3.60', python_version: '3.12.3' }, devices: [] });
    }
    return new Response('404: Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }

  private async upload(req: Request, rec: RecordedRequest): Promise<Response> {
    let form: Awaited<ReturnType<Request['formData']>>;
    try {
      form = await req.formData();
    } catch {
      return new Response(null, { status: 400 });
    }
    const image = form.get('image');
    if (!(image instanceof File) || !image.name) return new Response(null, { status: 400 });
    const type = String(form.get('type') ?? 'input');
    if (type !== 'input' && type !== 'temp' && type !== 'output') return new Response(null, { status: 400 });
    const subfolder = String(form.get('subfolder') ?? '');
    if (subfolder.includes('..') || image.name.includes('/') || image.name.includes('..')) return new Response(null, { status: 400 });
    const bytes = new Uint8Array(await image.arrayBuffer());
    const overwrite = form.get('overwrite') === 'true' || form.get('overwrite') === '1';
    // an existing name gets " (1)", " (2)"… unless the same bytes are already there (ComfyUI compares hashes)
    let name = image.name;
    const dot = name.lastIndexOf('.');
    for (let i = 1; !overwrite; i++) {
      const existing = this.inputs.get(join(subfolder, name));
      if (!existing || Buffer.from(existing.bytes).equals(Buffer.from(bytes))) break;
      name = dot > 0 ? `${image.name.slice(0, dot)} (${i})${image.name.slice(dot)}` : `${image.name} (${i})`;
    }
    this.inputs.set(join(subfolder, name), { bytes, mime: image.type, createdAt: Date.now() });
    this.uploads.push({ name, bytes });
    rec.body = { name, type, subfolder, size: bytes.byteLength };
    return Response.json({ name, subfolder, type });
  }

  private view(q: Record<string, string>): Response {
    if (!q.filename) return new Response('404: Not Found', { status: 404 });
    if (q.filename.startsWith('/') || q.filename.includes('..')) return new Response(null, { status: 400 });
    const type = q.type ?? 'output';
    if (!['output', 'input', 'temp'].includes(type)) return new Response(null, { status: 400 });
    if ((q.subfolder ?? '').includes('..')) return new Response(null, { status: 403 });
    const store = type === 'input' ? this.inputs : this.files;
    const key = type === 'input' ? join(q.subfolder ?? '', q.filename) : `${type}:${join(q.subfolder ?? '', q.filename)}`;
    const f = store.get(key);
    const expired = f && type !== 'input' && this.expireOutputsAfterMs !== null && Date.now() - f.createdAt > this.expireOutputsAfterMs;
    if (!f || expired) return new Response('404: Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    return new Response(f.bytes, { headers: { 'content-type': f.mime, 'content-disposition': `filename="${q.filename}"` } });
  }

  // ---- POST /prompt and validation ----------------------------------------------------------------------------

  private async postPrompt(req: Request, rec: RecordedRequest): Promise<Response> {
    let body: Json;
    try {
      body = rec.body = await req.json();
    } catch {
      return new Response('500 Internal Server Error', { status: 500 });
    }
    const noPrompt = { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} };
    if (!body || typeof body !== 'object' || !('prompt' in body)) return Response.json({ error: noPrompt, node_errors: {} }, { status: 400 });
    const number = typeof body.number === 'number' ? body.number : body.front ? -this.number++ : this.number++;
    const promptId = String((this.acceptsPromptId && body.prompt_id) || crypto.randomUUID());
    const prompt = structuredClone(body.prompt) as Workflow;
    const valid = this.validate(prompt);
    if (!valid.ok) return Response.json({ error: valid.error, node_errors: valid.nodeErrors }, { status: 400 });
    const extra: Job['extra'] = { ...(body.extra_data ?? {}), create_time: Date.now() };
    if ('client_id' in body) extra.client_id = body.client_id;
    this.accepted.push({ promptId, clientId: extra.client_id, prompt });
    this.enqueue({ number, promptId, prompt, extra, outputs: valid.outputs, interrupted: false });
    if (this.stallPromptAnswerMs) await Bun.sleep(this.stallPromptAnswerMs);
    return Response.json({ prompt_id: promptId, number, node_errors: valid.nodeErrors });
  }

  private validate(prompt: Workflow): { ok: true; outputs: string[]; nodeErrors: Json } | { ok: false; error: Json; nodeErrors: Json } {
    const invalid = (message: string, details: string) => ({ ok: false as const, error: { type: 'invalid_prompt', message, details, extra_info: {} }, nodeErrors: [] });
    if (!prompt || typeof prompt !== 'object') return invalid('Cannot execute because the prompt is not an object.', '');
    const outputs: string[] = [];
    for (const [id, node] of Object.entries(prompt)) {
      if (!node || typeof node.class_type !== 'string') return invalid('Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`);
      const def = this.defs[node.class_type];
      if (!def) return invalid(`Cannot execute because node ${node.class_type} does not exist.`, `Node ID '#${id}'`);
      if (def.output) outputs.push(id);
    }
    if (outputs.length === 0) return { ok: false, error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, nodeErrors: [] };

    const errorsOf = new Map<string, Json[]>();
    const check = (id: string): boolean => {
      if (errorsOf.has(id)) return errorsOf.get(id)!.length === 0;
      errorsOf.set(id, []);
      const node = prompt[id];
      const def = this.defs[node.class_type];
      const errors: Json[] = [];
      let upstreamOk = true;
      for (const [name, spec] of Object.entries(def.required)) {
        if (!(name in (node.inputs ?? {}))) {
          errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: { input_name: name } });
          continue;
        }
        const val = node.inputs[name];
        const bad = (type: string, message: string, details: string) =>
          errors.push({ type, message, details, extra_info: { input_name: name, received_value: val } });
        if (spec.kind === 'LINK') {
          if (!Array.isArray(val) || val.length !== 2) {
            bad('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', name);
            continue;
          }
          const from = prompt[String(val[0])];
          if (!from) {
            bad('exception_during_validation', 'Exception when validating node', `'${val[0]}'`);
            continue;
          }
          const got = this.defs[from.class_type].returns[Number(val[1])];
          if (got !== spec.type) {
            bad('return_type_mismatch', 'Return type mismatch between linked nodes', `${name}, received_type(${got}) mismatch input_type(${spec.type})`);
            continue;
          }
          if (!check(String(val[0]))) upstreamOk = false;
          continue;
        }
        // widget values: converted as ComfyUI does (int("12") works, int("12.5") does not), then range-checked
        if (spec.kind === 'INT' || spec.kind === 'FLOAT') {
          const n = typeof val === 'number' ? val : typeof val === 'string' && (spec.kind === 'INT' ? /^[+-]?\d+$/ : /^[+-]?\d+(\.\d+)?$/).test(val.trim()) ? Number(val) : NaN;
          if (Number.isNaN(n)) {
            bad('invalid_input_type', `Failed to convert an input value to a ${spec.kind} value`, `${name}, ${String(val)}, invalid literal`);
          } else if (n < spec.min) {
            bad('value_smaller_than_min', `Value ${n} smaller than min of ${spec.min}`, name);
          } else if (n > spec.max) {
            bad('value_bigger_than_max', `Value ${n} bigger than max of ${spec.max}`, name);
          }
        } else if (spec.kind === 'COMBO') {
          const list = spec.values();
          if (!list.includes(String(val))) bad('value_not_in_list', 'Value not in list', `${name}: '${String(val)}' not in ${JSON.stringify(list)}`);
        } else if (spec.kind === 'IMAGE_FILE') {
          if (typeof val !== 'string' || !this.inputs.has(val)) {
            bad('custom_validation_failed', 'Custom validation failed for node', `${name} - Invalid image file: ${String(val)}`);
          }
        }
      }
      errorsOf.set(id, errors);
      return errors.length === 0 && upstreamOk;
    };
    const good = outputs.filter((o) => check(o));
    const nodeErrors: Json = {};
    for (const [id, errors] of errorsOf) {
      if (errors.length) nodeErrors[id] = { errors, dependent_outputs: outputs.filter((o) => !good.includes(o)), class_type: prompt[id].class_type };
    }
    if (good.length === 0) {
      const details = [...errorsOf.values()].flat().map((e) => `${e.message}: ${e.details}`).join('\n');
      return { ok: false, error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details, extra_info: {} }, nodeErrors };
    }
    return { ok: true, outputs: good, nodeErrors };
  }

  // ---- the queue and the execution ---------------------------------------------------------------------------

  private remaining() {
    return this.pending.length + (this.running ? 1 : 0);
  }

  private enqueue(job: Job) {
    this.pending.push(job);
    this.broadcastStatus();
    this.pump();
  }

  private pump() {
    if (this.running || this.stopped || this.pending.length === 0) return;
    this.pending.sort((a, b) => a.number - b.number);
    const job = this.pending.shift()!;
    this.running = job;
    this.broadcastStatus();
    this.execute(job)
      .catch((e) => console.error('fake comfyui: execution crashed', e))
      .finally(() => {
        this.running = null;
        this.runningNode = null;
        this.broadcastStatus();
        this.pump();
      });
  }

  /** Runs a prompt's nodes (inputs first), as the executor does, with its socket events and history entry. */
  private async execute(job: Job) {
    const sid = job.extra.client_id;
    const messages: [string, Json][] = [];
    const add = (event: string, data: Json, broadcast = false) => {
      const d = { ...data, timestamp: Date.now() };
      messages.push([event, d]);
      this.send(broadcast ? undefined : sid, event, d);
    };
    add('execution_start', { prompt_id: job.promptId });
    add('execution_cached', { nodes: [], prompt_id: job.promptId });

    const order: string[] = [];
    const visit = (id: string) => {
      if (order.includes(id)) return;
      for (const v of Object.values(job.prompt[id].inputs)) if (Array.isArray(v) && v.length === 2 && job.prompt[String(v[0])]) visit(String(v[0]));
      order.push(id);
    };
    job.outputs.forEach(visit);

    const outputs: Json = {};
    const meta: Json = {};
    const executed: string[] = [];
    let success = true;
    for (const id of order) {
      const node = job.prompt[id];
      const fail = (event: 'execution_interrupted' | 'execution_error', extra: Json = {}) => {
        success = false;
        add(event, { prompt_id: job.promptId, node_id: id, node_type: node.class_type, executed: [...executed], ...extra }, event === 'execution_interrupted');
      };
      if (job.interrupted || this.stopped) {
        fail('execution_interrupted');
        break;
      }
      this.runningNode = id;
      this.send(sid, 'executing', { node: id, display_node: id, prompt_id: job.promptId });
      if (node.class_type === 'KSampler') {
        const steps = Number(node.inputs.steps);
        const holdAt = Math.ceil(steps / 2);
        for (let value = 1; value <= steps && !job.interrupted && !this.stopped; value++) {
          await Bun.sleep(this.stepMs);
          this.send(sid, 'progress', { value, max: steps, prompt_id: job.promptId, node: id });
          this.sendPreview(sid);
          if (value === holdAt && this.holding) await this.waitForRelease(job);
        }
        if (job.interrupted || this.stopped) {
          fail('execution_interrupted');
          break;
        }
        if (this.failExecution) {
          fail('execution_error', {
            exception_message: this.failExecution,
            exception_type: 'torch.OutOfMemoryError',
            traceback: ['  File "/ComfyUI/execution.py", line 496, in execute\n', '    output_data, output_ui = get_output_data(obj, input_data_all)\n'],
            current_inputs: {},
            current_outputs: [],
          });
          break;
        }
      }
      const ui = this.saveOutputs(node);
      if (ui) {
        outputs[id] = ui;
        meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
        this.send(sid, 'executed', { node: id, display_node: id, output: ui, prompt_id: job.promptId });
      }
      executed.push(id);
    }
    if (success) add('execution_success', { prompt_id: job.promptId });
    this.history.set(job.promptId, {
      prompt: [job.number, job.promptId, job.prompt, job.extra, job.outputs],
      outputs,
      status: { status_str: success ? 'success' : 'error', completed: success, messages },
      meta,
    });
    this.send(sid, 'executing', { node: null, prompt_id: job.promptId });
  }

  private async waitForRelease(job: Job) {
    const seen = this.releases;
    this.waitingCount++;
    try {
      while (this.releases === seen && !job.interrupted && !this.stopped) await Bun.sleep(5);
    } finally {
      this.waitingCount--;
    }
  }

  /** The files an output node writes, as its `ui` dict (the shape /history and `executed` carry). */
  private saveOutputs(node: Workflow[string]): Json | null {
    const n = String(++this.counter).padStart(5, '0');
    const split = (prefix: string) => {
      const at = prefix.lastIndexOf('/');
      return at < 0 ? { subfolder: '', name: prefix } : { subfolder: prefix.slice(0, at), name: prefix.slice(at + 1) };
    };
    const store = (type: string, subfolder: string, filename: string, bytes: Uint8Array, mime: string) =>
      this.files.set(`${type}:${join(subfolder, filename)}`, { bytes, mime, createdAt: Date.now() });
    switch (node.class_type) {
      case 'SaveImage': {
        const { subfolder, name } = split(String(node.inputs.filename_prefix ?? 'ComfyUI'));
        const filename = `${name}_${n}_.png`;
        store('output', subfolder, filename, this.media.png, 'image/png');
        return { images: [{ filename, subfolder, type: 'output' }] };
      }
      case 'PreviewImage': {
        const filename = `ComfyUI_temp_abcde_${n}_.png`;
        store('temp', '', filename, this.media.png, 'image/png');
        return { images: [{ filename, subfolder: '', type: 'temp' }] };
      }
      case 'SaveVideo': {
        // the core node reports its video under `images`, flagged animated
        const { subfolder, name } = split(String(node.inputs.filename_prefix ?? 'video/ComfyUI'));
        const filename = `${name}_${n}_.mp4`;
        store('output', subfolder, filename, this.media.mp4, 'video/mp4');
        return { images: [{ filename, subfolder, type: 'output' }], animated: [true] };
      }
      case 'VHS_VideoCombine': {
        const { subfolder, name } = split(String(node.inputs.filename_prefix ?? 'AnimateDiff'));
        const filename = `${name}_${n}.mp4`;
        store('output', subfolder, filename, this.media.mp4, 'video/mp4');
        const entry = {
          filename,
          subfolder,
          type: 'output',
          format: String(node.inputs.format ?? 'video/h264-mp4'),
          frame_rate: Number(node.inputs.frame_rate),
          workflow: filename.replace(/\.mp4$/, '.png'),
          fullpath: `/ComfyUI/output/${join(subfolder, filename)}`,
        };
        return { gifs: [entry] };
      }
      default:
        return null;
    }
  }

  // ---- the socket --------------------------------------------------------------------------------------------

  private onOpen(ws: Sock) {
    const sid = ws.data.clientId;
    const previous = this.sockets.get(sid);
    if (previous && previous !== ws) previous.close();
    this.sockets.set(sid, ws);
    this.connections.push(sid);
    ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: this.remaining() } }, sid } }));
    // a client reconnecting while its prompt runs is told the current node (without a prompt id, as ComfyUI does)
    if (this.running?.extra.client_id === sid && this.runningNode) ws.send(JSON.stringify({ type: 'executing', data: { node: this.runningNode } }));
  }

  private send(sid: string | undefined, type: string, data: Json) {
    const text = JSON.stringify({ type, data });
    if (sid === undefined) for (const s of this.sockets.values()) s.send(text);
    else this.sockets.get(sid)?.send(text);
  }

  private broadcastStatus() {
    this.send(undefined, 'status', { status: { exec_info: { queue_remaining: this.remaining() } } });
  }

  /** A binary preview frame: event type 1 (PREVIEW_IMAGE), image type 2 (PNG), both big-endian u32, then the image. */
  private sendPreview(sid: string | undefined) {
    const s = sid && this.sockets.get(sid);
    if (!s) return;
    const frame = new Uint8Array(8 + this.media.png.byteLength);
    const view = new DataView(frame.buffer);
    view.setUint32(0, 1);
    view.setUint32(4, 2);
    frame.set(this.media.png, 8);
    s.sendBinary(frame);
  }
}

const join = (a: string, b: string) => (a ? `${a}/${b}` : b);

/** Starts a fake ComfyUI on a free port; with `token`, it answers 401 to requests without `Bearer <token>`. */
export async function startFakeComfyUI(o: { token?: string } = {}): Promise<FakeComfyUI> {
  return new FakeComfyUI(await fakeMedia(), o.token ?? null);
}
