// AI-content labelling of every output (issue 13, GB 45438-2025), applied by the runner before a result is stored:
//   full      the visible "AI生成" mark (drawn by the engine itself, else stamped here; remote videos via ffmpeg)
//             and the metadata label
//   metadata  the metadata label only
//   off       the provider's bytes as they are
// The metadata label is the `AIGC` JSON (aigc.ts) in an XMP packet (PNG, JPEG, WebP) or an `AIGC` item of the MP4
// metadata (carriers.ts). GIF outputs become PNG (GIF has no carrier the standard names); WebM ones become MP4 (ffmpeg).
import type { LabelConfig } from '../config';
import { type MediaKind, sniffMedia } from '../media';
import { buildAigcLabel, parseAigc, serializeAigc, verifyAigc, type AigcLabel } from './aigc';
import { type LabelKind, readLabels, readSourceType, writeLabel } from './carriers';
import { burnVideoMark, sampleVideoFrames } from './ffmpeg';
import { labelImageVisible, reencodeAsPng } from './visible';

export interface LabelledFile {
  bytes: Uint8Array;
  kind: MediaKind;
}

export interface Labeller {
  readonly mode: LabelConfig['mode'];
  /** the file to store for `taskId`: marked (full, unless `marked`) and labelled; unchanged when off */
  apply(bytes: Uint8Array, kind: MediaKind, taskId: string, o: { marked: boolean; signal?: AbortSignal }): Promise<LabelledFile>;
  /** PNG frames of a video for an image-only review service (needs ffmpeg; null without it) */
  sampleFrames(bytes: Uint8Array, count: number): Promise<Uint8Array[] | null>;
}

export class LabelError extends Error {}

const carrierOf = (kind: MediaKind): LabelKind | null =>
  kind.ext === 'png' ? 'png' : kind.ext === 'jpg' ? 'jpeg' : kind.ext === 'webp' ? 'webp' : kind.ext === 'mp4' || kind.ext === 'mov' ? 'mp4' : null;

export function createLabeller(c: LabelConfig): Labeller {
  const identity = { producer: c.producer, propagator: c.propagator };

  async function visible(bytes: Uint8Array, kind: MediaKind, signal?: AbortSignal): Promise<LabelledFile> {
    if (kind.kind === 'image') {
      const out = await labelImageVisible(bytes);
      return { bytes: out.bytes, kind: sniffMedia(out.bytes)! };
    }
    if (!c.ffmpegPath) throw new LabelError('ffmpeg is needed to mark a video from a remote provider (FFMPEG_PATH)');
    const out = await burnVideoMark(bytes, c.ffmpegPath, { signal });
    return { bytes: out, kind: sniffMedia(out)! };
  }

  /** a file the metadata label can be written into: GIF → PNG, WebM → MP4 */
  async function carrierReady(bytes: Uint8Array, kind: MediaKind, signal?: AbortSignal): Promise<LabelledFile> {
    if (carrierOf(kind)) return { bytes, kind };
    if (kind.kind === 'image') {
      const png = await reencodeAsPng(bytes);
      return { bytes: png, kind: sniffMedia(png)! };
    }
    if (!c.ffmpegPath) throw new LabelError(`a ${kind.mime} output cannot carry the label without ffmpeg (FFMPEG_PATH)`);
    const mp4 = await burnVideoMark(bytes, c.ffmpegPath, { signal, markless: true });
    return { bytes: mp4, kind: sniffMedia(mp4)! };
  }

  return {
    mode: c.mode,
    async apply(bytes, kind, taskId, o) {
      if (c.mode === 'off') return { bytes, kind };
      let file: LabelledFile = { bytes, kind };
      if (c.mode === 'full' && !o.marked) file = await visible(bytes, kind, o.signal);
      file = await carrierReady(file.bytes, file.kind, o.signal);
      const aigc = serializeAigc(buildAigcLabel(identity, taskId, c.key));
      return { bytes: writeLabel(file.bytes, carrierOf(file.kind)!, aigc), kind: file.kind };
    },
    async sampleFrames(bytes, count) {
      if (!c.ffmpegPath) return null;
      return sampleVideoFrames(bytes, c.ffmpegPath, count);
    },
  };
}

/** What POST /labels/verify answers about a file. */
export interface LabelReport {
  /** png | jpeg | webp | mp4, or null when the file is none of these */
  format: LabelKind | null;
  /** an AIGC label is present */
  labelled: boolean;
  /** its ReservedCode1 is an HMAC of ours over its other fields */
  valid: boolean;
  /** how many AIGC labels the file holds (the standard asks for one) */
  copies: number;
  /** the first label's fields */
  label: AigcLabel | null;
  /** IPTC DigitalSourceType of images */
  digital_source_type: string | null;
}

/** Reads a file's label and checks its signature. Never throws on a hostile file: it is then simply unlabelled. */
export function inspectLabel(bytes: Uint8Array, keys: readonly Uint8Array[]): LabelReport {
  const kind = sniffMedia(bytes);
  const format = kind ? carrierOf(kind) : null;
  const none: LabelReport = { format, labelled: false, valid: false, copies: 0, label: null, digital_source_type: null };
  if (!format) return none;
  let values: string[];
  let source: string | null = null;
  try {
    values = readLabels(bytes, format);
    if (format !== 'mp4') source = readSourceType(bytes, format);
  } catch {
    return none;
  }
  if (values.length === 0) return { ...none, digital_source_type: source };
  const parsed = parseAigc(values[0]!);
  return {
    format,
    labelled: true,
    valid: parsed !== null && parsed.complete && parsed.label.Label === '1' && verifyAigc(parsed.label, keys),
    copies: values.length,
    label: parsed?.label ?? null,
    digital_source_type: source,
  };
}
