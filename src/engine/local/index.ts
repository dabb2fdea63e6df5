// Built-in procedural generation engine (pure TS + WASM, no native addons, no model weights).
// Public API — see README.md in this folder for behaviour, size rules and measured timings.

import type { ImageKind, RGBAImage } from '../../media/types';
import { decodeImage as decodeImageImpl, probeImageSize as probeImpl, sniffImage as sniffImpl } from '../../media/image';
import { encodePngSync } from './png';
import { applyEffect, blendRGBA, fxHashStylise, fxTint, resizeRGBA } from './effects';
import { detectColors, detectEffects, detectMotion, type EffectName } from './prompt';
import { Scene, specFromPrompt } from './scene';
import { encodeMp4 } from './video';
import { prepareSource, renderAnimFrame, type AnimPlan } from './animate';
import { Rng, clamp, hashString, mix2, numParam, resolveSeed, strParam } from './util';
import { stampAigcMark } from '../../labels/visible';

export type { ImageKind, RGBAImage } from '../../media/types';

/** Magic-number sniffing only. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  return sniffImpl(bytes);
}

/** Full decode (GIF: first frame). Throws an Error on corrupt/truncated data. */
export async function decodeImage(bytes: Uint8Array): Promise<RGBAImage> {
  return decodeImageImpl(bytes);
}

/** Cheap header parse for width/height without full decode (throws if malformed). */
export function probeImageSize(bytes: Uint8Array): { kind: ImageKind; width: number; height: number } {
  return probeImpl(bytes);
}

export async function encodePng(img: RGBAImage): Promise<Uint8Array> {
  return encodePngSync(img);
}

export interface EngineInput {
  type: 't2i' | 'i2i' | 't2v' | 'i2v';
  prompt: string;
  parameters: Record<string, unknown>;
  references: Uint8Array[];
  /** videos: called as frames are rendered, with the share done (0–1) */
  onProgress?: (done: number) => void;
  /** draw the visible AI-content mark ("AI生成", GB 45438-2025) on the image / every video frame before encoding */
  visibleLabel?: boolean;
  /** videos: return this many frames (spread over the clip) as PNG in `sampleFrames`, for content review */
  sampleFrames?: number;
  /** videos: encode on a second thread while the next frames render (video.ts); false = on this thread. Default true */
  encoderThread?: boolean;
}

export interface EngineOutput {
  bytes: Uint8Array;
  ext: 'png' | 'mp4';
  mime: 'image/png' | 'video/mp4';
  width: number;
  height: number;
  frames?: number;
  /** the sampled frames (PNG) when `sampleFrames` asked for them */
  sampleFrames?: Uint8Array[];
}

/** Which frames of `frames` to sample: the middles of `n` equal spans. */
function sampleIndices(frames: number, n: number): Set<number> {
  const out = new Set<number>();
  for (let k = 0; k < Math.min(n, frames); k++) out.add(Math.min(frames - 1, Math.floor(((k + 0.5) * frames) / n)));
  return out;
}

/** Called for each rendered frame: keeps the sampled ones as PNG (the pixels the encoder gets, mark included). */
function frameSampler(input: EngineInput, W: number, H: number, frames: number) {
  const pick = sampleIndices(frames, input.sampleFrames ?? 0);
  const samples: Uint8Array[] = [];
  return {
    samples,
    take(i: number, buf: Uint8Array) {
      if (pick.has(i)) samples.push(encodePngSync({ width: W, height: H, data: new Uint8Array(buf) }));
    },
  };
}

// ------------------------------------------------------------------ parameters

const DIM_MIN = 16;
const DIM_MAX = 4096;

function dims(p: Record<string, unknown>, defW: number, defH: number): [number, number] {
  const w = numParam(p, 'width');
  const h = numParam(p, 'height');
  const W = Math.round(clamp(w ?? h ?? defW, DIM_MIN, DIM_MAX));
  const H = Math.round(clamp(h ?? w ?? defH, DIM_MIN, DIM_MAX));
  return [W, H];
}

/** Video frame size: H.264 4:2:0 needs even dimensions; the encoder pads to 16 internally and crops via SPS. */
function evenDim(v: number): number {
  return Math.max(16, Math.round(v / 2) * 2);
}

function videoTiming(p: Record<string, unknown>) {
  const duration = clamp(numParam(p, 'duration') ?? 4, 0.25, 60);
  const fps = Math.round(clamp(numParam(p, 'fps') ?? 24, 1, 60));
  const frames = Math.max(1, Math.round(duration * fps));
  return { fps, frames };
}

/** `steps` controls fBm octave count (detail): 1..100 → 4..7, default 30 → 6. */
function detailFromSteps(p: Record<string, unknown>): number {
  const s = numParam(p, 'steps') ?? 30;
  return Math.round(clamp(3 + s / 10, 4, 7));
}

function effectsFor(prompt: string, style: string): EffectName[] {
  const out: EffectName[] = [];
  for (const e of [...detectEffects(style), ...detectEffects(prompt)]) if (!out.includes(e)) out.push(e);
  return out;
}

/** Apply prompt-driven effects to an image, blended by strength; falls back to tint or hash stylisation. */
function stylise(img: RGBAImage, prompt: string, style: string, strength: number, seed: number, fallback: boolean): RGBAImage {
  const effects = effectsFor(prompt, style);
  let cur = img.data;
  if (effects.length > 0) {
    for (const e of effects) cur = applyEffect(e, { width: img.width, height: img.height, data: cur }, seed);
  } else {
    const colors = detectColors(prompt);
    if (colors.length > 0) cur = fxTint(cur, colors[0]!.rgb, 0.65);
    else if (fallback) cur = fxHashStylise(cur, mix2(hashString(prompt + '\u0000' + style), seed));
    else return img;
  }
  return { width: img.width, height: img.height, data: blendRGBA(img.data, cur, strength) };
}

// ------------------------------------------------------------------ tasks

function buildScene(input: EngineInput, W: number, H: number, video: boolean, videoEnd?: number) {
  const p = input.parameters ?? {};
  const prompt = input.prompt ?? '';
  const seed = resolveSeed(prompt, p);
  const promptHash = hashString(prompt);
  const spec = specFromPrompt(prompt, strParam(p, 'negative_prompt'), mix2(promptHash, seed));
  return { scene: new Scene(spec, { width: W, height: H, seed, promptHash, detail: detailFromSteps(p), video, videoEnd }), seed };
}

async function runT2I(input: EngineInput): Promise<EngineOutput> {
  const [W, H] = dims(input.parameters ?? {}, 1024, 1024);
  const { scene, seed } = buildScene(input, W, H, false);
  const data = new Uint8Array(W * H * 4);
  scene.render(data, 0);
  let img: RGBAImage = { width: W, height: H, data };
  const style = strParam(input.parameters ?? {}, 'style');
  if (effectsFor(input.prompt ?? '', style).length > 0) img = stylise(img, input.prompt ?? '', style, 0.85, seed, false);
  if (input.visibleLabel) stampAigcMark(img);
  // deflate level 1 instead of 3: same pixels, ~6 % larger file, about half the PNG time (issue 15)
  return { bytes: encodePngSync(img, 1), ext: 'png', mime: 'image/png', width: W, height: H };
}

async function keyImage(input: EngineInput): Promise<RGBAImage> {
  const ref = input.references?.[0];
  if (!ref || ref.length === 0) throw new Error(`${input.type}: a reference image is required`);
  return decodeImageImpl(ref);
}

async function runI2I(input: EngineInput): Promise<EngineOutput> {
  const p = input.parameters ?? {};
  const prompt = input.prompt ?? '';
  const seed = resolveSeed(prompt, p);
  let img = await keyImage(input);
  const w = numParam(p, 'width');
  const h = numParam(p, 'height');
  if (w !== undefined || h !== undefined) {
    const tw = Math.round(clamp(w ?? (img.width * (h as number)) / img.height, DIM_MIN, DIM_MAX));
    const th = Math.round(clamp(h ?? (img.height * (w as number)) / img.width, DIM_MIN, DIM_MAX));
    if (tw !== img.width || th !== img.height) img = resizeRGBA(img, tw, th);
  }
  const strength = clamp(numParam(p, 'strength') ?? 0.75, 0, 1);
  const out = stylise(img, prompt, strParam(p, 'style'), strength, seed, true);
  if (input.visibleLabel) stampAigcMark(out);
  return { bytes: encodePngSync(out), ext: 'png', mime: 'image/png', width: out.width, height: out.height };
}

async function runT2V(input: EngineInput): Promise<EngineOutput> {
  const p = input.parameters ?? {};
  const [w0, h0] = dims(p, 512, 512);
  const W = evenDim(w0),
    H = evenDim(h0);
  const { fps, frames } = videoTiming(p);
  const { scene } = buildScene(input, W, H, true, (frames - 1) / fps);
  const sampler = frameSampler(input, W, H, frames);
  const bytes = await encodeMp4({ width: W, height: H, fps, frames }, (i, buf) => {
    input.onProgress?.(i / frames);
    scene.render(buf, i / fps);
    if (input.visibleLabel) stampAigcMark({ width: W, height: H, data: buf });
    sampler.take(i, buf);
  }, { encoderThread: input.encoderThread });
  return { bytes, ext: 'mp4', mime: 'video/mp4', width: W, height: H, frames, sampleFrames: sampler.samples };
}

async function runI2V(input: EngineInput): Promise<EngineOutput> {
  const p = input.parameters ?? {};
  const prompt = input.prompt ?? '';
  const seed = resolveSeed(prompt, p);
  const key = await keyImage(input);
  let W: number, H: number;
  if (numParam(p, 'width') !== undefined || numParam(p, 'height') !== undefined) {
    [W, H] = dims(p, 512, 512);
  } else {
    // fit the key frame's aspect ratio into a 512×512 box
    const s = 512 / Math.max(key.width, key.height);
    W = key.width * s;
    H = key.height * s;
  }
  W = evenDim(W);
  H = evenDim(H);
  const { fps, frames } = videoTiming(p);
  const strength = clamp(numParam(p, 'strength') ?? 0.75, 0, 1);
  const style = strParam(p, 'style');
  const motion = detectMotion(prompt) ?? (input.references.length > 1 ? 'fade' : 'zoom-in');
  const images: RGBAImage[] = [key];
  if (motion === 'fade') for (const r of input.references.slice(1, 6)) images.push(await decodeImageImpl(r));
  const sources = images.map((im) => {
    // shrink huge inputs first so the effects run on a small image
    const lim = Math.max(W, H) * 1.5;
    const sc = Math.min(1, lim / Math.max(im.width, im.height));
    const small = sc < 1 ? resizeRGBA(im, Math.max(1, Math.round(im.width * sc)), Math.max(1, Math.round(im.height * sc))) : im;
    const styled = effectsFor(prompt, style).length > 0 ? stylise(small, prompt, style, strength, seed, false) : small;
    return prepareSource(styled, W, H);
  });
  const rng = new Rng(mix2(seed, hashString(prompt)));
  const plan: AnimPlan = { motion, sources, fx: 0.5 + rng.range(-0.18, 0.18), fy: 0.5 + rng.range(-0.15, 0.15) };
  const sampler = frameSampler(input, W, H, frames);
  const bytes = await encodeMp4({ width: W, height: H, fps, frames }, (i, buf) => {
    input.onProgress?.(i / frames);
    renderAnimFrame(plan, buf, W, H, i, frames);
    if (input.visibleLabel) stampAigcMark({ width: W, height: H, data: buf });
    sampler.take(i, buf);
  }, { encoderThread: input.encoderThread });
  return { bytes, ext: 'mp4', mime: 'video/mp4', width: W, height: H, frames, sampleFrames: sampler.samples };
}

export async function runLocalEngine(input: EngineInput): Promise<EngineOutput> {
  switch (input.type) {
    case 't2i':
      return runT2I(input);
    case 'i2i':
      return runI2I(input);
    case 't2v':
      return runT2V(input);
    case 'i2v':
      return runI2V(input);
    default:
      throw new Error(`unsupported task type: ${(input as { type: string }).type}`);
  }
}
