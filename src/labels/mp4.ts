// MP4 / ISO BMFF carrier of the label: an `AIGC` item in `moov/udta/meta` using the QuickTime "mdta"
// metadata scheme, which is what ffmpeg writes with `-movflags use_metadata_tags` and what ffprobe shows as
// a format tag:
//   meta (full box) ─ hdlr (handler 'mdta') ─ keys (entries: size, namespace 'mdta', name "AIGC")
//                   └ ilst ─ item whose box type is the 1-based key index ─ data (type 1 = UTF-8, locale 0, value)
// Writing rebuilds only `moov` (other keys kept and renumbered, every previous AIGC key and item dropped)
// and splices it back in one copy. When `moov` changes size, every absolute offset pointing past its old
// end is shifted: stco/co64 chunk offsets, and for fragmented files tfhd base_data_offset and tfra
// moof_offset. Box walking is strict: every size is checked against its parent, 64-bit sizes (size 1) and
// size 0 ("to the end") are understood, and anything inconsistent throws.

import { ascii, assertPrintableAscii, encodeUtf8 } from './xmp';

const AIGC_KEY = 'AIGC';
const MAX_SAFE_HI = 0x1fffff; // high 32 bits of a 64-bit value that still fits a JS safe integer

const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
function be64(b: Uint8Array, o: number, what: string): number {
  const hi = be32(b, o);
  if (hi > MAX_SAFE_HI) throw new Error(`mp4: ${what} too large`);
  return hi * 0x100000000 + be32(b, o + 4);
}
function setBe32(b: Uint8Array, o: number, v: number) {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function setBe64(b: Uint8Array, o: number, v: number) {
  setBe32(b, o, Math.floor(v / 0x100000000));
  setBe32(b, o + 4, v >>> 0);
}

interface Box {
  type: string;
  start: number;
  header: number; // 8, or 16 for a 64-bit size
  end: number;
}
const body = (x: Box) => x.start + x.header;

/**
 * Child boxes of [start, end). Size 0 ("to the end of the file") is accepted only at the top level, as
 * ISO 14496-12 allows; 4 trailing zero bytes (the QuickTime user-data terminator) end the list.
 * Throws on a header or size that does not fit.
 */
function readBoxes(b: Uint8Array, start: number, end: number, top = false): Box[] {
  const out: Box[] = [];
  let o = start;
  while (o < end) {
    if (o + 8 > end) {
      if (end - o === 4 && be32(b, o) === 0) break;
      throw new Error(`mp4: truncated box header at offset ${o}`);
    }
    const size32 = be32(b, o);
    const type = ascii(b, o + 4, 4);
    let header = 8;
    let size: number;
    if (size32 === 1) {
      if (o + 16 > end) throw new Error(`mp4: truncated 64-bit box header at offset ${o}`);
      size = be64(b, o + 8, `box '${type}' size`);
      header = 16;
    } else if (size32 === 0) {
      if (!top) throw new Error(`mp4: box '${type}' at offset ${o} has size 0 inside another box`);
      size = end - o;
    } else size = size32;
    if (size < header) throw new Error(`mp4: box '${type}' at offset ${o} has invalid size ${size}`);
    if (size > end - o) throw new Error(`mp4: box '${type}' at offset ${o} runs past the end of its parent`);
    out.push({ type, start: o, header, end: o + size });
    o += size;
  }
  return out;
}

function topLevel(b: Uint8Array): { boxes: Box[]; moov: Box } {
  const boxes = readBoxes(b, 0, b.length, true);
  for (const x of boxes) if (!/^[\x20-\x7e]{4}$/.test(x.type)) throw new Error('mp4: not an ISO BMFF file (bad top-level box type)');
  const moovs = boxes.filter((x) => x.type === 'moov');
  if (moovs.length !== 1) throw new Error(moovs.length ? 'mp4: more than one moov box' : 'mp4: no moov box');
  const moov = moovs[0]!;
  // A file cut short at a box boundary still parses: its chunk offsets then point past the end.
  forEachOffset(b, moov.start, moov.end, (p, w) => {
    const v = w === 4 ? be32(b, p) : be64(b, p, 'chunk offset');
    if (v >= b.length) throw new Error('mp4: truncated (a chunk offset points past the end of the file)');
  });
  return { boxes, moov };
}

// ------------------------------------------------------------------ meta / keys / ilst

interface Key {
  ns: string;
  name: string;
  raw: Uint8Array; // the whole entry (size, namespace, name)
}

interface Meta {
  box: Box;
  fullBox: boolean; // ISO full box (version/flags) rather than QuickTime's plain container
  children: Box[];
  handler: string | null;
}

function parseMeta(b: Uint8Array, meta: Box): Meta {
  const s = body(meta);
  // A QuickTime-style meta has no version/flags: its first child header starts right away.
  const qt = meta.end - s >= 8 && ascii(b, s + 4, 4) === 'hdlr';
  if (!qt && meta.end - s < 4) throw new Error('mp4: meta box too short');
  const children = readBoxes(b, qt ? s : s + 4, meta.end);
  const hdlr = children.find((c) => c.type === 'hdlr');
  let handler: string | null = null;
  if (hdlr) {
    if (hdlr.end - body(hdlr) < 12) throw new Error('mp4: hdlr box too short');
    handler = ascii(b, body(hdlr) + 8, 4);
  }
  return { box: meta, fullBox: !qt, children, handler };
}

function parseKeys(b: Uint8Array, keys: Box): Key[] {
  const s = body(keys);
  if (keys.end - s < 8) throw new Error('mp4: keys box too short');
  const count = be32(b, s + 4);
  if (count > (keys.end - s - 8) / 8) throw new Error('mp4: keys entry count exceeds the box');
  const out: Key[] = [];
  let o = s + 8;
  for (let i = 0; i < count; i++) {
    if (o + 8 > keys.end) throw new Error('mp4: truncated keys entry');
    const size = be32(b, o);
    if (size < 8 || size > keys.end - o) throw new Error('mp4: keys entry runs past the box');
    out.push({ ns: ascii(b, o + 4, 4), name: ascii(b, o + 8, size - 8), raw: b.subarray(o, o + size) });
    o += size;
  }
  return out;
}

const isAigcKey = (k: Key) => k.ns === 'mdta' && k.name === AIGC_KEY;
const utf8Dec = new TextDecoder('utf-8', { fatal: false });

/** Text values of the `data` boxes in an ilst item (UTF-8, or type 0 "implicit" read as UTF-8). */
function itemValues(b: Uint8Array, item: Box): string[] {
  const out: string[] = [];
  for (const d of readBoxes(b, body(item), item.end)) {
    if (d.type !== 'data') continue;
    const s = body(d);
    if (d.end - s < 8) throw new Error('mp4: data box too short');
    const type = be32(b, s) & 0xffffff;
    if (type === 1 || type === 0) out.push(utf8Dec.decode(b.subarray(s + 8, d.end)));
  }
  return out;
}

/** Every `meta` that can hold mdta keys: moov/meta and moov/udta/meta. */
function metaBoxes(b: Uint8Array, moov: Box): Box[] {
  const out: Box[] = [];
  for (const c of readBoxes(b, body(moov), moov.end)) {
    if (c.type === 'meta') out.push(c);
    else if (c.type === 'udta') for (const u of readBoxes(b, body(c), c.end)) if (u.type === 'meta') out.push(u);
  }
  return out;
}

/** Every AIGC value stored as an mdta key in moov/meta or moov/udta/meta, in file order. */
export function readMp4Aigc(bytes: Uint8Array): string[] {
  const { moov } = topLevel(bytes);
  const out: string[] = [];
  for (const m of metaBoxes(bytes, moov)) {
    const meta = parseMeta(bytes, m);
    if (meta.handler !== 'mdta') continue;
    const keysBox = meta.children.find((c) => c.type === 'keys');
    const ilst = meta.children.find((c) => c.type === 'ilst');
    if (!keysBox || !ilst) continue;
    const keys = parseKeys(bytes, keysBox);
    for (const item of readBoxes(bytes, body(ilst), ilst.end)) {
      const k = keys[be32(bytes, item.start + 4) - 1];
      if (k && isAigcKey(k)) out.push(...itemValues(bytes, item));
    }
  }
  return out;
}

// ------------------------------------------------------------------ building

function box(type: string, parts: Uint8Array[], prefix?: Uint8Array): Uint8Array {
  let len = prefix?.length ?? 0;
  for (const p of parts) len += p.length;
  const large = len + 8 > 0xffffffff;
  const header = large ? 16 : 8;
  const out = new Uint8Array(header + len);
  if (large) {
    setBe32(out, 0, 1);
    setBe64(out, 8, header + len);
  } else setBe32(out, 0, header + len);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let o = header;
  if (prefix) {
    out.set(prefix, o);
    o += prefix.length;
  }
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const u32 = (...vs: number[]) => {
  const out = new Uint8Array(vs.length * 4);
  vs.forEach((v, i) => setBe32(out, i * 4, v));
  return out;
};
const fourcc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function mdtaHdlr(): Uint8Array {
  // version/flags, pre_defined, handler 'mdta', 3 × reserved, empty name
  return box('hdlr', [u32(0, 0), fourcc('mdta'), u32(0, 0, 0), new Uint8Array(1)]);
}

function keyEntry(name: string): Uint8Array {
  return new Uint8Array([...u32(8 + name.length), ...fourcc('mdta'), ...fourcc(name)]);
}

function keysBox(entries: Uint8Array[]): Uint8Array {
  return box('keys', entries, u32(0, entries.length));
}

function aigcItem(index: number, value: string): Uint8Array {
  const data = box('data', [u32(1, 0), encodeUtf8(value)]); // type 1 = UTF-8, locale 0
  const item = box('xxxx', [data]);
  setBe32(item, 4, index);
  return item;
}

/**
 * A rebuilt mdta meta box without any AIGC key, plus one (the last key) holding `value` when given.
 * Returns null for a meta with another handler (kept verbatim by the caller).
 */
function rebuildMeta(b: Uint8Array, m: Box, value: string | null): Uint8Array | null {
  const meta = parseMeta(b, m);
  if (meta.handler !== 'mdta') return null;
  const keyBoxes = meta.children.filter((c) => c.type === 'keys');
  const ilsts = meta.children.filter((c) => c.type === 'ilst');
  if (keyBoxes.length > 1 || ilsts.length > 1) throw new Error('mp4: meta has more than one keys or ilst box');
  const keys = keyBoxes[0] ? parseKeys(b, keyBoxes[0]) : [];
  const renumber = new Map<number, number>(); // old 1-based index → new one (absent: dropped)
  const entries: Uint8Array[] = [];
  keys.forEach((k, i) => {
    if (isAigcKey(k)) return;
    entries.push(k.raw);
    renumber.set(i + 1, entries.length);
  });
  const items: Uint8Array[] = [];
  if (ilsts[0]) {
    for (const item of readBoxes(b, body(ilsts[0]), ilsts[0].end)) {
      const idx = renumber.get(be32(b, item.start + 4));
      if (idx === undefined) continue; // an AIGC item, or one naming no key at all
      const copy = b.slice(item.start, item.end);
      setBe32(copy, 4, idx);
      items.push(copy);
    }
  }
  if (value !== null) {
    entries.push(keyEntry(AIGC_KEY));
    items.push(aigcItem(entries.length, value));
  }
  // hdlr first, then keys and ilst (ffmpeg reads keys only before ilst), then anything else as it was
  const parts: Uint8Array[] = [];
  const hdlr = meta.children.find((c) => c.type === 'hdlr')!;
  parts.push(b.subarray(hdlr.start, hdlr.end), keysBox(entries), box('ilst', items));
  for (const c of meta.children) if (c !== hdlr && c.type !== 'keys' && c.type !== 'ilst') parts.push(b.subarray(c.start, c.end));
  return box('meta', parts, meta.fullBox ? b.subarray(body(m), body(m) + 4) : undefined);
}

function newMeta(value: string): Uint8Array {
  return box('meta', [mdtaHdlr(), keysBox([keyEntry(AIGC_KEY)]), box('ilst', [aigcItem(1, value)])], u32(0));
}

/** A rebuilt udta: AIGC stripped from every mdta meta, and (when `value` is given) put in the first one. */
function rebuildUdta(b: Uint8Array, udta: Box, value: string | null): Uint8Array {
  const parts: Uint8Array[] = [];
  let placed = value === null;
  for (const c of readBoxes(b, body(udta), udta.end)) {
    const rebuilt = c.type === 'meta' ? rebuildMeta(b, c, placed ? null : value) : null;
    if (rebuilt) {
      placed = true;
      parts.push(rebuilt);
    } else parts.push(b.subarray(c.start, c.end));
  }
  if (!placed) parts.push(newMeta(value!));
  return box('udta', parts);
}

// ------------------------------------------------------------------ offsets

/**
 * Call `visit(position, width)` for every absolute file offset stored in the boxes of b[start, end): stco/co64
 * chunk offsets, tfhd base_data_offset, tfra moof_offset. Entry counts are checked against box sizes.
 */
function forEachOffset(b: Uint8Array, start: number, end: number, visit: (p: number, width: 4 | 8) => void) {
  const walk = (s: number, e: number, depth: number) => {
    // depth 0 is the range of one top-level box, which may itself have size 0 (to the end of the file)
    for (const x of readBoxes(b, s, e, depth === 0)) {
      const bs = body(x);
      switch (x.type) {
        case 'moov':
        case 'trak':
        case 'mdia':
        case 'minf':
        case 'stbl':
        case 'moof':
        case 'traf':
        case 'mfra':
          if (depth < 8) walk(bs, x.end, depth + 1);
          break;
        case 'stco':
        case 'co64': {
          const w = x.type === 'stco' ? 4 : 8;
          if (x.end - bs < 8) throw new Error(`mp4: ${x.type} box too short`);
          const n = be32(b, bs + 4);
          if (n > (x.end - bs - 8) / w) throw new Error(`mp4: ${x.type} entry count exceeds the box`);
          for (let i = 0; i < n; i++) visit(bs + 8 + i * w, w);
          break;
        }
        case 'tfhd':
          if (x.end - bs < 8) throw new Error('mp4: tfhd box too short');
          if (b[bs + 3]! & 1) {
            if (x.end - bs < 16) throw new Error('mp4: tfhd box too short');
            visit(bs + 8, 8);
          }
          break;
        case 'tfra': {
          if (x.end - bs < 16) throw new Error('mp4: tfra box too short');
          const v1 = b[bs] === 1;
          const sizes = be32(b, bs + 8);
          const entry = (v1 ? 16 : 8) + ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3;
          const n = be32(b, bs + 12);
          if (n > (x.end - bs - 16) / entry) throw new Error('mp4: tfra entry count exceeds the box');
          for (let i = 0; i < n; i++) visit(bs + 16 + i * entry + (v1 ? 8 : 4), v1 ? 8 : 4);
          break;
        }
      }
    }
  };
  walk(start, end, 0);
}

/** Add `delta` to every absolute offset at or after `from` stored in out[start, end). */
function shiftOffsets(out: Uint8Array, start: number, end: number, from: number, delta: number) {
  forEachOffset(out, start, end, (p, w) => {
    if (w === 4) {
      const v = be32(out, p);
      if (v < from) return;
      if (v + delta > 0xffffffff) throw new Error('mp4: chunk offset overflows 32 bits after relabelling');
      setBe32(out, p, v + delta);
    } else {
      const v = be64(out, p, 'offset');
      if (v >= from) setBe64(out, p, v + delta);
    }
  });
}

/** `bytes` with exactly one AIGC mdta item (in moov/udta/meta) holding `value`; chunk offsets kept valid. */
export function writeMp4Aigc(bytes: Uint8Array, value: string): Uint8Array {
  assertPrintableAscii(value);
  const { boxes, moov } = topLevel(bytes);
  const parts: Uint8Array[] = [];
  let placed = false;
  for (const c of readBoxes(bytes, body(moov), moov.end)) {
    if (c.type === 'udta') {
      parts.push(rebuildUdta(bytes, c, placed ? null : value));
      placed = true;
    } else if (c.type === 'meta') parts.push(rebuildMeta(bytes, c, null) ?? bytes.subarray(c.start, c.end));
    else parts.push(bytes.subarray(c.start, c.end));
  }
  if (!placed) parts.push(box('udta', [newMeta(value)]));
  const newMoov = box('moov', parts);
  const delta = newMoov.length - (moov.end - moov.start);
  const out = new Uint8Array(bytes.length + delta);
  out.set(bytes.subarray(0, moov.start));
  out.set(newMoov, moov.start);
  out.set(bytes.subarray(moov.end), moov.start + newMoov.length);
  if (delta !== 0) {
    // chunk offsets live in moov; fragment offsets in the moof/mfra boxes that follow it
    shiftOffsets(out, moov.start, moov.start + newMoov.length, moov.end, delta);
    for (const x of boxes) {
      if (x.start > moov.start && (x.type === 'moof' || x.type === 'mfra')) shiftOffsets(out, x.start + delta, x.end + delta, moov.end, delta);
    }
  }
  return out;
}
