// Videos from remote providers, through an ffmpeg binary (H.264 and friends cannot be decoded in TypeScript here):
//   burnVideoMark      the visible "AI生成" mark over every frame (a transparent PNG of the video's size, drawn by
//                      stampAigcMark, overlaid for the whole duration), re-encoded as H.264 MP4; `markless` only
//                      re-encodes (e.g. WebM → MP4, to carry the metadata label)
//   sampleVideoFrames  PNG frames spread over the duration, for review services that take images only
// Every call works in its own temp directory, removed afterwards; ffmpeg is killed when the signal aborts.

import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePngSync } from '../engine/local/png';
import { probeImageSize } from '../media';
import { stampAigcMark } from './visible';

/** Prefix of the temp directories made here (tests look for leftovers by it). */
export const TEMP_PREFIX = 'aigc-ffmpeg-';

/** The configured ffmpeg if it is an executable file, else `ffmpeg` on PATH, else null. */
export function findFfmpeg(configured?: string): string | null {
  if (configured) {
    try {
      accessSync(configured, constants.X_OK);
      if (statSync(configured).isFile()) return configured;
    } catch {
      // not there or not executable: look on PATH
    }
  }
  return Bun.which('ffmpeg');
}

export interface FfmpegOptions {
  signal?: AbortSignal;
}

/** The last lines of ffmpeg's stderr, for an error message. */
function tail(stderr: string, lines = 6): string {
  return stderr.trim().split('\n').slice(-lines).join(' | ').slice(-800);
}

/** Runs ffmpeg in `cwd`; resolves with its stderr when it exits 0, rejects with it otherwise; killed on abort. */
async function runFfmpeg(ffmpegPath: string, args: string[], cwd: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const proc = Bun.spawn([ffmpegPath, '-hide_banner', '-nostdin', '-nostats', ...args], {
    cwd,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const kill = () => proc.kill('SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    signal?.throwIfAborted();
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${tail(stderr)}`);
    return stderr;
  } finally {
    signal?.removeEventListener('abort', kill);
  }
}

interface VideoFacts {
  width: number;
  height: number;
  /** seconds, or null when the container does not say */
  duration: number | null;
  /** codec of the first audio stream, or null without audio */
  audio: string | null;
  /** the first frame as PNG (as displayed: ffmpeg applies the rotation) */
  firstFrame: string;
}

/** Size (from the first decoded frame, so rotation is applied as in the overlay), duration and audio codec. */
async function probe(ffmpegPath: string, dir: string, input: string, signal?: AbortSignal): Promise<VideoFacts> {
  let stderr: string;
  try {
    stderr = await runFfmpeg(ffmpegPath, ['-i', input, '-map', '0:v:0', '-frames:v', '1', '-f', 'image2', '-y', 'first.png'], dir, signal);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new Error(`not a readable video: ${(e as Error).message}`);
  }
  const file = Bun.file(join(dir, 'first.png'));
  if (!(await file.exists()) || file.size === 0) throw new Error(`not a readable video: no frame decoded (${tail(stderr)})`);
  const { width, height } = probeImageSize(new Uint8Array(await file.arrayBuffer()));
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null;
  const a = /Stream #0:\d+[^:\n]*: Audio: (\w+)/.exec(stderr);
  return { width, height, duration, audio: a ? a[1]! : null, firstFrame: 'first.png' };
}

/** Audio codecs an MP4 takes as they are; anything else (Vorbis, Opus from WebM) becomes AAC. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'alac', 'ac3', 'eac3']);

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The video with the visible mark over every frame, as H.264 (CRF 18) MP4 with moov first; audio kept.
 * `markless`: the same re-encode without the mark. Rejects with an Error when ffmpeg cannot read the input,
 * and with the signal's reason when aborted (ffmpeg is killed).
 */
export async function burnVideoMark(
  video: Uint8Array,
  ffmpegPath: string,
  opts: FfmpegOptions & { markless?: boolean } = {},
): Promise<Uint8Array> {
  return inTempDir(async (dir) => {
    await Bun.write(join(dir, 'input'), video);
    const facts = await probe(ffmpegPath, dir, 'input', opts.signal);
    const args = ['-i', 'input'];
    // libx264 with 4:2:0 needs even dimensions: an odd last row/column is dropped
    const even = facts.width % 2 === 0 && facts.height % 2 === 0 ? '' : ',crop=trunc(iw/2)*2:trunc(ih/2)*2';
    if (opts.markless) {
      args.push('-filter_complex', `[0:v:0]null${even}[v]`);
    } else {
      const mark: { width: number; height: number; data: Uint8Array } = {
        width: facts.width,
        height: facts.height,
        data: new Uint8Array(facts.width * facts.height * 4), // transparent: only the plate and text show
      };
      stampAigcMark(mark);
      await Bun.write(join(dir, 'mark.png'), encodePngSync(mark, 1));
      // the still image ends after one frame; overlay repeats its last frame (eof_action=repeat) to the end
      args.push('-i', 'mark.png', '-filter_complex', `[0:v:0][1:v]overlay=0:0:eof_action=repeat${even}[v]`);
    }
    args.push('-map', '[v]', '-map', '0:a:0?', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-crf', '18');
    args.push(...(facts.audio && !MP4_AUDIO.has(facts.audio) ? ['-c:a', 'aac', '-b:a', '160k'] : ['-c:a', 'copy']));
    // passthrough: every input frame out once, none duplicated or dropped to fit a constant rate
    args.push('-vsync', 'passthrough', '-movflags', '+faststart', '-f', 'mp4', '-y', 'out.mp4');
    await runFfmpeg(ffmpegPath, ['-loglevel', 'error', ...args], dir, opts.signal);
    const out = new Uint8Array(await Bun.file(join(dir, 'out.mp4')).arrayBuffer());
    if (out.length === 0) throw new Error('ffmpeg wrote an empty video');
    return out;
  });
}

/**
 * `count` PNG frames at the middles of `count` equal spans of the video's duration (the first frame alone when
 * the duration is unknown). `maxSide` scales larger frames down, keeping the aspect ratio.
 */
export async function sampleVideoFrames(
  video: Uint8Array,
  ffmpegPath: string,
  count: number,
  opts: FfmpegOptions & { maxSide?: number } = {},
): Promise<Uint8Array[]> {
  if (!(count >= 1)) return [];
  return inTempDir(async (dir) => {
    await Bun.write(join(dir, 'input'), video);
    const facts = await probe(ffmpegPath, dir, 'input', opts.signal);
    const n = facts.duration && facts.duration > 0 ? Math.floor(count) : 1;
    const times = Array.from({ length: n }, (_, i) => (n === 1 && !facts.duration ? 0 : ((i + 0.5) * facts.duration!) / n));
    // one ffmpeg: the same file opened once per sample, each input seeked to its time (accurate seek)
    const args: string[] = ['-loglevel', 'error'];
    for (const t of times) args.push('-ss', t.toFixed(3), '-i', 'input');
    const side = opts.maxSide && opts.maxSide > 0 ? Math.floor(opts.maxSide) : 0;
    times.forEach((_, i) => {
      args.push('-map', `${i}:v:0`, '-frames:v', '1');
      if (side) args.push('-vf', `scale=w='min(iw,${side})':h='min(ih,${side})':force_original_aspect_ratio=decrease`);
      args.push('-f', 'image2', '-y', `f${i}.png`);
    });
    await runFfmpeg(ffmpegPath, args, dir, opts.signal);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < times.length; i++) {
      const f = Bun.file(join(dir, `f${i}.png`));
      if ((await f.exists()) && f.size > 0) frames.push(new Uint8Array(await f.arrayBuffer()));
    }
    // a seek past the last frame writes nothing: the first frame stands in
    if (frames.length === 0) frames.push(new Uint8Array(await Bun.file(join(dir, facts.firstFrame)).arrayBuffer()));
    return frames;
  });
}
