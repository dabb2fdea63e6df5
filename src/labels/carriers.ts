// One entry point for the GB 45438 implicit label in a file: write it (exactly one copy afterwards, by a
// byte splice, never a re-encode) and read back every copy found. Images carry an XMP packet (TC260:AIGC +
// IPTC DigitalSourceType); MP4 carries the label JSON itself as an `AIGC` mdta item in moov/udta/meta.
// The readers are also run on user uploads (verify endpoint): malformed input throws, never hangs.

import { readJpegXmp, writeJpegXmp } from './jpeg';
import { readMp4Aigc, writeMp4Aigc } from './mp4';
import { readPngXmp, writePngXmp } from './png';
import { readWebpXmp, writeWebpXmp } from './webp';
import { assertPrintableAscii, buildXmp, readXmpAigc, readXmpSourceType } from './xmp';

export type LabelKind = 'png' | 'jpeg' | 'webp' | 'mp4';
export type ImageLabelKind = Exclude<LabelKind, 'mp4'>;

const XMP_CARRIERS: Record<ImageLabelKind, { read: (b: Uint8Array) => string[]; write: (b: Uint8Array, xmp: string) => Uint8Array }> = {
  png: { read: readPngXmp, write: writePngXmp },
  jpeg: { read: readJpegXmp, write: writeJpegXmp },
  webp: { read: readWebpXmp, write: writeWebpXmp },
};

function carrier(kind: LabelKind) {
  if (kind === 'mp4') throw new Error('internal: mp4 has no XMP carrier');
  const c = XMP_CARRIERS[kind];
  if (!c) throw new Error(`labels: unsupported kind '${String(kind)}'`);
  return c;
}

/** `bytes` carrying exactly one implicit label `aigc` (printable ASCII, e.g. the label JSON); previous copies removed. */
export function writeLabel(bytes: Uint8Array, kind: LabelKind, aigc: string): Uint8Array {
  assertPrintableAscii(aigc);
  if (kind === 'mp4') return writeMp4Aigc(bytes, aigc);
  return carrier(kind).write(bytes, buildXmp(aigc));
}

/** Every XMP packet of an image file, in file order (none for MP4). */
export function readXmpPackets(bytes: Uint8Array, kind: LabelKind): string[] {
  return kind === 'mp4' ? [] : carrier(kind).read(bytes);
}

/** Every AIGC label value in the file, in file order: a correctly labelled file yields exactly one. */
export function readLabels(bytes: Uint8Array, kind: LabelKind): string[] {
  if (kind === 'mp4') return readMp4Aigc(bytes);
  const out: string[] = [];
  for (const xmp of carrier(kind).read(bytes)) {
    const v = readXmpAigc(xmp);
    if (v !== null) out.push(v);
  }
  return out;
}

/** The IPTC DigitalSourceType of the first XMP packet that has one (images only; null for MP4 or none). */
export function readSourceType(bytes: Uint8Array, kind: LabelKind): string | null {
  if (kind === 'mp4') return null;
  for (const xmp of carrier(kind).read(bytes)) {
    const v = readXmpSourceType(xmp);
    if (v !== null) return v;
  }
  return null;
}
