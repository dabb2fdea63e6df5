// JPEG carrier of the XMP label: an APP1 segment starting `http://ns.adobe.com/xap/1.0/\0`, placed right
// after SOI (after a leading APP0 JFIF/JFXX and an Exif APP1 that directly follows, since Exif readers expect
// those first). Writing removes every standard and extended XMP APP1 up to EOI and splices the new segment
// in; reading walks every marker segment, skipping entropy-coded data, and rejects a file without EOI.
// Bytes after the first EOI (e.g. an MPF secondary image with its own XMP) are kept untouched and not read.

import { decodeXmpText, encodeUtf8, spliceBytes, startsWithAscii, type Edit } from './xmp';

const XMP_HEADER = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXT_HEADER = 'http://ns.adobe.com/xmp/extension/\0';
/** Largest XMP packet a single APP1 can carry: 65535 − 2 (length) − 29 (header). */
export const MAX_JPEG_XMP = 0xffff - 2 - XMP_HEADER.length;

interface Segment {
  marker: number;
  start: number; // first 0xFF of the marker (including fill bytes)
  data: number; // payload start (after the length field); = end for standalone markers
  end: number;
}

/** Marker segments from SOI to the first EOI. Throws on anything malformed or truncated. */
function walkSegments(b: Uint8Array): Segment[] {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new Error('jpeg: not a JPEG file (no SOI marker)');
  const out: Segment[] = [{ marker: 0xd8, start: 0, data: 2, end: 2 }];
  let o = 2;
  for (;;) {
    if (o + 1 >= b.length) throw new Error('jpeg: truncated (no EOI marker)');
    if (b[o] !== 0xff) throw new Error(`jpeg: expected a marker at offset ${o}`);
    const start = o;
    while (o + 1 < b.length && b[o + 1] === 0xff) o++; // fill bytes
    if (o + 1 >= b.length) throw new Error('jpeg: truncated (no EOI marker)');
    const m = b[o + 1]!;
    o += 2;
    if (m === 0xd9) {
      out.push({ marker: m, start, data: o, end: o });
      return out;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      out.push({ marker: m, start, data: o, end: o });
      continue;
    }
    if (m === 0xd8 || m === 0x00) throw new Error(`jpeg: unexpected marker 0x${m.toString(16)} at offset ${start}`);
    if (o + 2 > b.length) throw new Error('jpeg: truncated segment header');
    const len = (b[o]! << 8) | b[o + 1]!;
    if (len < 2) throw new Error(`jpeg: invalid segment length at offset ${start}`);
    if (o + len > b.length) throw new Error(`jpeg: segment at offset ${start} runs past the end of the file`);
    out.push({ marker: m, start, data: o + 2, end: o + len });
    o += len;
    if (m === 0xda) o = skipEntropyData(b, o);
  }
}

/** Offset of the first real marker after entropy-coded data (stuffed 0xFF00 and RSTn belong to the data). */
function skipEntropyData(b: Uint8Array, from: number): number {
  let p = from;
  for (;;) {
    p = b.indexOf(0xff, p);
    if (p < 0 || p + 1 >= b.length) throw new Error('jpeg: truncated scan data (no EOI marker)');
    const n = b[p + 1]!;
    if (n === 0x00 || (n >= 0xd0 && n <= 0xd7)) p += 2;
    else if (n === 0xff) p += 1;
    else return p;
  }
}

const isXmp = (b: Uint8Array, s: Segment) => s.marker === 0xe1 && startsWithAscii(b.subarray(0, s.end), s.data, XMP_HEADER);
const isXmpExt = (b: Uint8Array, s: Segment) => s.marker === 0xe1 && startsWithAscii(b.subarray(0, s.end), s.data, XMP_EXT_HEADER);

/** Every standard XMP packet (APP1 `http://ns.adobe.com/xap/1.0/`) in file order. */
export function readJpegXmp(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const s of walkSegments(bytes)) {
    if (isXmp(bytes, s)) out.push(decodeXmpText(bytes.subarray(s.data + XMP_HEADER.length, s.end)));
  }
  return out;
}

function app1(xmp: string): Uint8Array {
  const body = encodeUtf8(xmp);
  if (body.length > MAX_JPEG_XMP) throw new Error(`jpeg: XMP packet of ${body.length} bytes exceeds the APP1 limit of ${MAX_JPEG_XMP}`);
  const len = 2 + XMP_HEADER.length + body.length;
  const out = new Uint8Array(2 + len);
  out[0] = 0xff;
  out[1] = 0xe1;
  out[2] = len >> 8;
  out[3] = len & 0xff;
  for (let i = 0; i < XMP_HEADER.length; i++) out[4 + i] = XMP_HEADER.charCodeAt(i);
  out.set(body, 4 + XMP_HEADER.length);
  return out;
}

/** `bytes` with exactly one XMP APP1 holding `xmp` (extended-XMP segments of the old packet are dropped too). */
export function writeJpegXmp(bytes: Uint8Array, xmp: string): Uint8Array {
  const seg = app1(xmp);
  const segs = walkSegments(bytes);
  let i = 1; // after SOI
  while (i < segs.length && segs[i]!.marker === 0xe0) i++;
  if (i < segs.length && segs[i]!.marker === 0xe1 && startsWithAscii(bytes.subarray(0, segs[i]!.end), segs[i]!.data, 'Exif\0')) i++;
  const at = segs[i - 1]!.end;
  const edits: Edit[] = [{ start: at, end: at, insert: seg }];
  for (const s of segs) if (isXmp(bytes, s) || isXmpExt(bytes, s)) edits.push({ start: s.start, end: s.end });
  edits.sort((a, b) => a.start - b.start || (a.end - a.start) - (b.end - b.start)); // insertion before a removal at the same spot
  return spliceBytes(bytes, edits);
}
