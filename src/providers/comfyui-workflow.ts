// Workflows of the `comfyui` provider (src/providers/comfyui.ts): the built-in API-format defaults for t2i and
// i2i, the check of a deployment's own workflow files, the {{placeholder}} substitution, and the choice of the
// output file in a /history entry.
//
// An API-format workflow ("Save (API Format)" / "Export (API)" in ComfyUI) is one object keyed by node id:
//   { "<id>": { "class_type": "KSampler", "inputs": { "seed": 1, "model": ["<other id>", <output slot>] } } }
// The UI format (a `nodes` array plus `links`) cannot be queued with POST /prompt.
import { type TaskType, needsReference } from '../tasks';

export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}
export type ApiWorkflow = Record<string, ApiNode>;

/** The placeholders the provider fills in (see fillWorkflow); others are left as they are. */
export const PLACEHOLDERS = [
  'prompt',
  'negative_prompt',
  'seed',
  'width',
  'height',
  'steps',
  'strength',
  'image',
  'duration',
  'fps',
  'frames',
  'style',
  'checkpoint',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

// The built-in workflows: the standard Stable Diffusion graph of a checkpoint, two text encodings, a sampler and a
// VAE decode into SaveImage; i2i starts from the uploaded reference (LoadImage → VAEEncode) and denoises it by
// `strength`. Their checkpoint is COMFYUI_CHECKPOINT ({{checkpoint}}).
const T2I: ApiWorkflow = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: '{{checkpoint}}' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['1', 1] }, _meta: { title: 'positive' } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: '{{negative_prompt}}', clip: ['1', 1] }, _meta: { title: 'negative' } },
  '4': { class_type: 'EmptyLatentImage', inputs: { width: '{{width}}', height: '{{height}}', batch_size: 1 } },
  '5': {
    class_type: 'KSampler',
    inputs: {
      seed: '{{seed}}',
      steps: '{{steps}}',
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: 1,
      model: ['1', 0],
      positive: ['2', 0],
      negative: ['3', 0],
      latent_image: ['4', 0],
    },
  },
  '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
  '7': { class_type: 'SaveImage', inputs: { filename_prefix: 'aigc', images: ['6', 0] } },
};

const I2I: ApiWorkflow = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: '{{checkpoint}}' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['1', 1] }, _meta: { title: 'positive' } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: '{{negative_prompt}}', clip: ['1', 1] }, _meta: { title: 'negative' } },
  '4': { class_type: 'LoadImage', inputs: { image: '{{image}}' } },
  '5': { class_type: 'VAEEncode', inputs: { pixels: ['4', 0], vae: ['1', 2] } },
  '6': {
    class_type: 'KSampler',
    inputs: {
      seed: '{{seed}}',
      steps: '{{steps}}',
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: '{{strength}}',
      model: ['1', 0],
      positive: ['2', 0],
      negative: ['3', 0],
      latent_image: ['5', 0],
    },
  },
  '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['1', 2] } },
  '8': { class_type: 'SaveImage', inputs: { filename_prefix: 'aigc', images: ['7', 0] } },
};

/** A copy of the built-in workflow of t2i or i2i. */
export function defaultWorkflow(type: 't2i' | 'i2i'): ApiWorkflow {
  return structuredClone(type === 't2i' ? T2I : I2I);
}

const EXACT = /^\{\{([a-z0-9_]+)\}\}$/;
const ANYWHERE = /\{\{([a-z0-9_]+)\}\}/g;

/** Whether `{{name}}` appears anywhere in the workflow's values. */
export function usesPlaceholder(wf: ApiWorkflow, name: Placeholder): boolean {
  const needle = `{{${name}}}`;
  const walk = (v: unknown): boolean =>
    typeof v === 'string' ? v.includes(needle) : Array.isArray(v) ? v.some(walk) : v !== null && typeof v === 'object' ? Object.values(v).some(walk) : false;
  return walk(wf);
}

/**
 * Checks that `raw` (a parsed workflow file) is an API-format workflow fit for `type`; returns it, or throws an
 * Error whose message says what is wrong (the caller names the file and the variable).
 */
export function checkWorkflow(raw: unknown, type: TaskType): ApiWorkflow {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('is not a JSON object of nodes');
  const obj = raw as Record<string, unknown>;
  if (Array.isArray(obj.nodes) && 'links' in obj) {
    throw new Error('is a UI-format workflow; export it from ComfyUI in the API format ("Export (API)")');
  }
  const ids = Object.keys(obj);
  if (ids.length === 0) throw new Error('has no nodes');
  for (const id of ids) {
    const node = obj[id] as Partial<ApiNode> | null;
    if (!node || typeof node !== 'object' || typeof node.class_type !== 'string' || !node.inputs || typeof node.inputs !== 'object') {
      throw new Error(`node "${id}" is not an API-format node ({"class_type": ..., "inputs": {...}})`);
    }
  }
  const wf = obj as ApiWorkflow;
  if (!usesPlaceholder(wf, 'prompt')) throw new Error('has no "{{prompt}}" placeholder for the prompt');
  if (needsReference(type) && !usesPlaceholder(wf, 'image')) {
    throw new Error('has no "{{image}}" placeholder for the uploaded reference image (e.g. the "image" input of LoadImage)');
  }
  return wf;
}

/**
 * The workflow with its placeholders filled: a string value that is exactly `{{name}}` becomes the value itself,
 * with its JSON type (a number stays a number); `{{name}}` inside a longer string is replaced as text. Values are
 * inserted once, never scanned again (a prompt containing "{{seed}}" stays as written). Unknown names stay.
 */
export function fillWorkflow(wf: ApiWorkflow, values: Partial<Record<Placeholder, unknown>>): ApiWorkflow {
  const known = (name: string) => Object.hasOwn(values, name) && values[name as Placeholder] !== undefined;
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const exact = EXACT.exec(v);
      if (exact) return known(exact[1]) ? values[exact[1] as Placeholder] : v;
      return v.replace(ANYWHERE, (whole, name: string) => (known(name) ? String(values[name as Placeholder]) : whole));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(wf) as ApiWorkflow;
}

/** One file an output node reported in /history: fetched with GET /view?filename=&subfolder=&type=. */
export interface OutputFile {
  node: string;
  filename: string;
  subfolder: string;
  type: string;
}

const IMAGE_FILE = /\.(png|jpe?g|webp|gif)$/i;
const VIDEO_FILE = /\.(mp4|m4v|mov|webm|mkv)$/i;

/**
 * The file to return from a /history entry's `outputs` ({ "<node id>": { <kind>: [{filename, subfolder, type}] } }).
 * Nodes name their lists differently: SaveImage/PreviewImage `images`; the core SaveVideo/SaveWEBM also `images`
 * (with `animated: [true]` beside them); VideoHelperSuite's VHS_VideoCombine `gifs` (with `format: "video/h264-mp4"`);
 * other packs `videos`/`video`. So every list of file entries is read and the file is chosen by its extension:
 * an image for t2i/i2i, a video for t2v/i2v. Saved outputs (`type: "output"`) win over previews (`"temp"`).
 */
export function pickOutput(outputs: unknown, want: 'image' | 'video'): OutputFile | null {
  if (!outputs || typeof outputs !== 'object') return null;
  const found: OutputFile[] = [];
  for (const [node, out] of Object.entries(outputs as Record<string, unknown>)) {
    if (!out || typeof out !== 'object') continue;
    for (const list of Object.values(out as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (!item || typeof item !== 'object' || typeof item.filename !== 'string') continue;
        const format = typeof item.format === 'string' ? item.format : '';
        const isVideo = VIDEO_FILE.test(item.filename) || (format.startsWith('video/') && !IMAGE_FILE.test(item.filename));
        const isImage = !isVideo && IMAGE_FILE.test(item.filename);
        if ((want === 'video' && isVideo) || (want === 'image' && isImage)) {
          found.push({
            node,
            filename: item.filename,
            subfolder: typeof item.subfolder === 'string' ? item.subfolder : '',
            type: typeof item.type === 'string' ? item.type : 'output',
          });
        }
      }
    }
  }
  return found.find((f) => f.type === 'output') ?? found[0] ?? null;
}
