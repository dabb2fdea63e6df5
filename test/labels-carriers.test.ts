// GB 45438 implicit-label carriers: PNG iTXt, JPEG APP1, WebP `XMP ` + VP8X, MP4 moov/udta/meta mdta keys.
// Every format is built from a real encoder, labelled, read back by our readers AND by an independent
// walker written here (and ffprobe for MP4), relabelled, decoded again, and fed hostile variants.

import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import ffprobe from '@ffprobe-installer/ffprobe';
import * as jpegJs from 'jpeg-js';
import { init as webpEncInit, default as webpEncode } from '@jsquash/webp/encode.js';
import webpEncWasm from '@jsquash/webp/codec/enc/webp_enc.wasm' with { type: 'file' };
import { encodePngSync } from '../src/engine/local/png';
import { encodeMp4, faststart, walkBoxes } from '../src/engine/local/video';
import { decodeImage } from '../src/media';
import { readLabels, readSourceType, readXmpPackets, writeLabel, type LabelKind } from '../src/labels/carriers';
import { MAX_JPEG_XMP, readJpegXmp, writeJpegXmp } from '../src/labels/jpeg';
import { readMp4Aigc } from '../src/labels/mp4';
import { buildXmp, readXmpAigc, readXmpSourceType, TRAINED_ALGORITHMIC_MEDIA } from '../src/labels/xmp';

const LABEL_A = '{"Label":"1","ContentProducer":"001191110108MA01R2F8XY","ProduceID":"task-1","ReservedCode1":"ab&<>\'cd","ContentPropagator":"","PropagateID":"","ReservedCode2":""}';
const LABEL_B = '{"Label":"1","ContentProducer":"001191110108MA01R2F8XY","ProduceID":"task-2","ReservedCode1":"0123","ContentPropagator":"","PropagateID":"","ReservedCode2":""}';

// ------------------------------------------------------------------ fixtures

function pattern(w: number, h: number, alpha = false): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      d[o] = (x * 4) & 255;
      d[o + 1] = (y * 5) & 255;
      d[o + 2] = ((x ^ y) * 3) & 255;
      d[o + 3] = alpha ? (x * 7 + y) & 255 : 255;
    }
  return d;
}

let webpReady: Promise<unknown> | null = null;
async function webp(w: number, h: number, opts: { lossless: boolean; alpha: boolean }): Promise<Uint8Array> {
  webpReady ??= WebAssembly.compile(await Bun.file(webpEncWasm).arrayBuffer()).then((m) => webpEncInit(m as never));
  await webpReady;
  const data = new Uint8ClampedArray(pattern(w, h, opts.alpha));
  const buf = await webpEncode({ data, width: w, height: h, colorSpace: 'srgb' } as never, { lossless: opts.lossless ? 1 : 0, quality: 90 });
  return new Uint8Array(buf);
}

function jpeg(w: number, h: number, exif?: Uint8Array): Uint8Array {
  const img = { data: Buffer.from(pattern(w, h)), width: w, height: h, exifBuffer: exif ? Buffer.from(exif) : undefined };
  return new Uint8Array(jpegJs.encode(img as never, 85).data);
}

async function mp4(frames = 6): Promise<Uint8Array> {
  return encodeMp4({ width: 64, height: 64, fps: 12, frames }, (i, buf) => {
    for (let k = 0; k < buf.length; k += 4) {
      buf[k] = (k / 4 + i * 9) & 255;
      buf[k + 1] = ((k >> 8) * 3) & 255;
      buf[k + 2] = i * 40;
      buf[k + 3] = 255;
    }
  });
}

// ------------------------------------------------------------------ independent walkers (not our readers)

const be32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o);
const le32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const str = (b: Uint8Array, s: number, e: number) => Buffer.from(b.subarray(s, e)).toString('latin1');

/** PNG chunk list with CRCs verified by Bun's own crc32. */
function pngChunks(b: Uint8Array) {
  const out: { type: string; data: Uint8Array }[] = [];
  let o = 8;
  while (o < b.length) {
    const len = be32(b, o);
    const type = str(b, o + 4, o + 8);
    expect(Bun.hash.crc32(b.subarray(o + 4, o + 8 + len))).toBe(be32(b, o + 8 + len));
    out.push({ type, data: b.subarray(o + 8, o + 8 + len) });
    o += 12 + len;
    if (type === 'IEND') break;
  }
  return out;
}

function indepPng(b: Uint8Array): string[] {
  const chunks = pngChunks(b);
  const xmps = chunks.filter((c) => c.type === 'iTXt' && str(c.data, 0, 18) === 'XML:com.adobe.xmp\0');
  for (const x of xmps) {
    expect(chunks.indexOf(x)).toBe(1); // right after IHDR, so before the first IDAT
    expect([x.data[18], x.data[19], x.data[20], x.data[21]]).toEqual([0, 0, 0, 0]); // uncompressed, no language/translation
  }
  return xmps.map((x) => Buffer.from(x.data.subarray(22)).toString('utf8'));
}

/** JPEG marker segments before the first SOS. */
function jpegSegments(b: Uint8Array) {
  const out: { marker: number; data: Uint8Array }[] = [];
  let o = 2;
  while (b[o] === 0xff && b[o + 1] !== 0xda) {
    const len = (b[o + 2]! << 8) | b[o + 3]!;
    out.push({ marker: b[o + 1]!, data: b.subarray(o + 4, o + 2 + len) });
    o += 2 + len;
  }
  expect(b[o + 1]).toBe(0xda);
  return out;
}

function indepJpeg(b: Uint8Array): string[] {
  const hdr = 'http://ns.adobe.com/xap/1.0/\0';
  return jpegSegments(b)
    .filter((s) => s.marker === 0xe1 && str(s.data, 0, hdr.length) === hdr)
    .map((s) => Buffer.from(s.data.subarray(hdr.length)).toString('utf8'));
}

function webpChunks(b: Uint8Array) {
  expect(str(b, 0, 4)).toBe('RIFF');
  expect(le32(b, 4)).toBe(b.length - 8);
  const out: { type: string; data: Uint8Array }[] = [];
  for (let o = 12; o < b.length; ) {
    expect(o % 2).toBe(0);
    const len = le32(b, o + 4);
    out.push({ type: str(b, o, o + 4), data: b.subarray(o + 8, o + 8 + len) });
    o += 8 + len + (len & 1);
  }
  return out;
}

function indepWebp(b: Uint8Array, w: number, h: number, alpha: boolean): string[] {
  const chunks = webpChunks(b);
  const xmps = chunks.filter((c) => c.type === 'XMP ');
  if (xmps.length) {
    const vp8x = chunks[0]!;
    expect(vp8x.type).toBe('VP8X');
    expect(vp8x.data[0]! & 0x04).toBe(0x04);
    expect(!!(vp8x.data[0]! & 0x10)).toBe(alpha);
    expect((vp8x.data[4]! | (vp8x.data[5]! << 8) | (vp8x.data[6]! << 16)) + 1).toBe(w);
    expect((vp8x.data[7]! | (vp8x.data[8]! << 8) | (vp8x.data[9]! << 16)) + 1).toBe(h);
    expect(chunks[chunks.length - 1]!.type).toBe('XMP ');
  }
  return xmps.map((x) => Buffer.from(x.data).toString('utf8'));
}

/** AIGC values under moov/udta/meta (keys + ilst), walked here from scratch. */
function indepMp4(b: Uint8Array): { aigc: string[]; keys: string[] } {
  const kids = (s: number, e: number) => {
    const out: { type: string; s: number; e: number }[] = [];
    for (let o = s; o + 8 <= e; ) {
      let size = be32(b, o);
      let hdr = 8;
      if (size === 1) {
        size = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(o + 8));
        hdr = 16;
      } else if (size === 0) size = e - o;
      out.push({ type: str(b, o + 4, o + 8), s: o + hdr, e: o + size });
      o += size;
    }
    return out;
  };
  const aigc: string[] = [];
  const keys: string[] = [];
  const moov = kids(0, b.length).find((x) => x.type === 'moov')!;
  for (const udta of kids(moov.s, moov.e).filter((x) => x.type === 'udta'))
    for (const meta of kids(udta.s, udta.e).filter((x) => x.type === 'meta')) {
      const mk = kids(meta.s + 4, meta.e);
      const hdlr = mk.find((x) => x.type === 'hdlr')!;
      expect(str(b, hdlr.s + 8, hdlr.s + 12)).toBe('mdta');
      const k = mk.find((x) => x.type === 'keys')!;
      const names: string[] = [];
      for (let o = k.s + 8, i = 0; i < be32(b, k.s + 4); i++) {
        const sz = be32(b, o);
        expect(str(b, o + 4, o + 8)).toBe('mdta');
        names.push(str(b, o + 8, o + sz));
        o += sz;
      }
      keys.push(...names);
      for (const item of kids(mk.find((x) => x.type === 'ilst')!.s, meta.e)) {
        if (item.type === 'ilst' || item.type === 'keys' || item.type === 'hdlr') continue;
        const idx = be32(b, item.s - 4);
        const data = kids(item.s, item.e)[0]!;
        expect(data.type).toBe('data');
        if (names[idx - 1] === 'AIGC') {
          expect(be32(b, data.s)).toBe(1); // UTF-8
          aigc.push(Buffer.from(b.subarray(data.s + 8, data.e)).toString('utf8'));
        }
      }
    }
  return { aigc, keys };
}

// ------------------------------------------------------------------ ffprobe

function ffprobeJson(bytes: Uint8Array, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'labels-'));
  try {
    const path = join(dir, 'v.mp4');
    writeFileSync(path, bytes);
    const p = Bun.spawnSync([ffprobe.path, '-v', 'error', ...args, '-of', 'json', path]);
    if (p.exitCode !== 0 || p.stderr.length) throw new Error(`ffprobe: ${p.stderr.toString()}`);
    return JSON.parse(p.stdout.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function probe(bytes: Uint8Array) {
  const j = ffprobeJson(bytes, ['-show_format', '-show_streams']);
  const s = j.streams[0];
  return { tags: (j.format.tags ?? {}) as Record<string, string>, frames: Number(s.nb_frames), width: s.width, height: s.height };
}

/** MD5 of every packet's data as ffprobe reads it: equal lists prove the chunk offsets still point right. */
function packetHashes(bytes: Uint8Array): string[] {
  const j = ffprobeJson(bytes, ['-show_packets', '-show_data_hash', 'MD5', '-show_entries', 'packet=data_hash']);
  return j.packets.map((p: { data_hash: string }) => p.data_hash);
}

// ------------------------------------------------------------------ MP4 test builders

const u32 = (...v: number[]) => {
  const o = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(o.buffer).setUint32(i * 4, x));
  return o;
};
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};
const enc = (s: string) => new TextEncoder().encode(s);
function tbox(type: string, ...parts: Uint8Array[]) {
  const body = cat(...parts);
  return cat(u32(8 + body.length), enc(type), body);
}
/** A QuickTime mdta meta with the given key → value pairs (duplicates allowed). */
function mdtaMeta(pairs: [string, string][]) {
  const hdlr = tbox('hdlr', u32(0, 0), enc('mdta'), u32(0, 0, 0), new Uint8Array(1));
  const keys = tbox('keys', u32(0, pairs.length), ...pairs.map(([k]) => cat(u32(8 + k.length), enc('mdta'), enc(k))));
  const items = pairs.map(([, v], i) => {
    const item = tbox('xxxx', tbox('data', u32(1, 0), enc(v)));
    new DataView(item.buffer).setUint32(4, i + 1);
    return item;
  });
  return tbox('meta', u32(0), hdlr, keys, tbox('ilst', ...items));
}

/**
 * Rearrange a faststart file (ftyp, moov, mdat) as ftyp, mdat, moov — optionally with a 64-bit mdat header
 * and an extra udta in moov — fixing the chunk offsets with the engine's box walker.
 */
function moovLast(src: Uint8Array, opts: { udta?: Uint8Array; largeMdat?: boolean } = {}) {
  const top = walkBoxes(src).filter((b) => !b.path.includes('/'));
  const ftyp = top.find((b) => b.type === 'ftyp')!;
  const moovBox = top.find((b) => b.type === 'moov')!;
  const mdatBox = top.find((b) => b.type === 'mdat')!;
  let moov = src.slice(moovBox.start, moovBox.start + moovBox.size);
  if (opts.udta) {
    moov = cat(moov, opts.udta);
    new DataView(moov.buffer).setUint32(0, moov.length);
  }
  const payload = src.subarray(mdatBox.start + 8, mdatBox.start + mdatBox.size);
  const mdat = opts.largeMdat
    ? cat(u32(1), enc('mdat'), u32(0, 16 + payload.length), payload)
    : cat(u32(8 + payload.length), enc('mdat'), payload);
  const oldData = mdatBox.start + 8;
  const newData = ftyp.size + (opts.largeMdat ? 16 : 8);
  const dv = new DataView(moov.buffer);
  for (const b of walkBoxes(moov).filter((x) => x.type === 'stco')) {
    const n = dv.getUint32(b.start + 12);
    for (let i = 0; i < n; i++) dv.setUint32(b.start + 16 + i * 4, dv.getUint32(b.start + 16 + i * 4) - oldData + newData);
  }
  return cat(src.subarray(0, ftyp.size), mdat, moov);
}

// ------------------------------------------------------------------ XMP

describe('XMP packet', () => {
  test('build → read round-trips the value with every XML special character, and the source type', () => {
    const xmp = buildXmp(LABEL_A);
    expect(xmp.startsWith('<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>')).toBe(true);
    expect(xmp.endsWith('<?xpacket end="w"?>')).toBe(true);
    expect(xmp).toContain('xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"');
    expect(xmp).toContain('xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"');
    expect(xmp).not.toContain("'cd"); // ' escaped
    expect(xmp).toContain('&amp;&lt;&gt;&apos;');
    expect(readXmpAigc(xmp)).toBe(LABEL_A);
    expect(readXmpSourceType(xmp)).toBe(TRAINED_ALGORITHMIC_MEDIA);
    // apart from the BOM in the header, the packet is ASCII
    expect(/^[\x09\x0a\x20-\x7e]*$/.test(xmp.replace('\uFEFF', ''))).toBe(true);
  });

  test('non-printable or non-ASCII labels are refused', () => {
    expect(() => buildXmp('a\nb')).toThrow(/printable ASCII/);
    expect(() => buildXmp('标识')).toThrow(/printable ASCII/);
    expect(() => buildXmp('')).toThrow();
    expect(() => writeLabel(new Uint8Array(0), 'mp4', 'x\u0000')).toThrow(/printable ASCII/);
  });

  test('reads attribute form, element form, CDATA, other prefixes and rdf:resource', () => {
    const ns = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"';
    const attr = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF ${ns}><rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{&quot;Label&quot;:&quot;1&quot;}" xmlns:I="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" I:DigitalSourceType='http://x/y'/></rdf:RDF></x:xmpmeta>`;
    expect(readXmpAigc(attr)).toBe('{"Label":"1"}');
    expect(readXmpSourceType(attr)).toBe('http://x/y');
    const other = `<rdf:RDF ${ns}><rdf:Description xmlns:gb="http://www.tc260.org.cn/ns/AIGC/1.0/"><gb:AIGC><![CDATA[{"a":"<&>"}]]></gb:AIGC><Iptc4xmpExt:DigitalSourceType xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" rdf:resource="http://r"/></rdf:Description></rdf:RDF>`;
    expect(readXmpAigc(other)).toBe('{"a":"<&>"}');
    expect(readXmpSourceType(other)).toBe('http://r');
  });

  test('a fake attribute inside text, an unbound prefix or another namespace is not a label', () => {
    const ns = 'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"';
    expect(readXmpAigc(`<a ${ns}><b>TC260:AIGC="fake"</b></a>`)).toBeNull();
    expect(readXmpAigc('<a><TC260:AIGC>x</TC260:AIGC></a>')).toBeNull();
    expect(readXmpAigc('<a xmlns:TC260="http://example.com/"><TC260:AIGC>x</TC260:AIGC></a>')).toBeNull();
    expect(readXmpAigc(`<a ${ns}><TC260:AIGC>x</TC260:AIGCX></a>`)).toBeNull(); // not well-formed
    expect(readXmpAigc(`<a ${ns}><TC260:AIGC>unterminated`)).toBeNull();
    expect(readXmpAigc(`<a ${ns}><TC260:AIGC>a&#x41;&#66;</TC260:AIGC></a>`)).toBe('aAB');
  });
  test('hostile packets are read in linear time (no regex backtracking, bounded nesting)', () => {
    const ns = 'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"';
    const t = performance.now();
    expect(readXmpAigc('<a ' + 'b'.repeat(1_000_000) + '>')).toBeNull();
    expect(readXmpAigc('<a ' + 'x:b="1" '.repeat(100_000) + '>')).toBeNull();
    expect(readXmpAigc(`<a ${ns}>` + '<b xmlns:q="u">'.repeat(100_000))).toBeNull();
    expect(readXmpAigc('<a b="' + 'c'.repeat(1_000_000))).toBeNull();
    expect(readXmpAigc('<!--'.repeat(200_000) + '<'.repeat(200_000))).toBeNull();
    expect(performance.now() - t).toBeLessThan(2000);
    // nesting up to the cap still works
    expect(readXmpAigc(`<a ${ns}>` + '<b>'.repeat(200) + '<TC260:AIGC>deep</TC260:AIGC>' + '</b>'.repeat(200) + '</a>')).toBe('deep');
  });
});

// ------------------------------------------------------------------ images

async function samePixels(before: Uint8Array, after: Uint8Array) {
  const a = await decodeImage(before);
  const b = await decodeImage(after);
  expect([b.width, b.height]).toEqual([a.width, a.height]);
  expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
}

function labelCycle(kind: LabelKind, src: Uint8Array, indep: (b: Uint8Array) => string[]) {
  expect(readLabels(src, kind)).toEqual([]);
  const once = writeLabel(src, kind, LABEL_A);
  expect(readLabels(once, kind)).toEqual([LABEL_A]);
  expect(readSourceType(once, kind)).toBe(TRAINED_ALGORITHMIC_MEDIA);
  expect(readXmpPackets(once, kind)).toHaveLength(1);
  const ind = indep(once);
  expect(ind).toHaveLength(1);
  expect(readXmpAigc(ind[0]!.replace(/^\uFEFF/, ''))).toBe(LABEL_A);
  const twice = writeLabel(once, kind, LABEL_B);
  expect(readLabels(twice, kind)).toEqual([LABEL_B]);
  const ind2 = indep(twice);
  expect(ind2).toHaveLength(1);
  expect(readXmpAigc(ind2[0]!)).toBe(LABEL_B);
  // a relabel with the same value is byte-stable
  expect(Buffer.compare(Buffer.from(writeLabel(twice, kind, LABEL_B)), Buffer.from(twice))).toBe(0);
  return { once, twice };
}

describe('PNG', () => {
  test('iTXt XML:com.adobe.xmp after IHDR, one copy, relabel, same pixels', async () => {
    for (const alpha of [false, true]) {
      const src = encodePngSync({ width: 37, height: 23, data: pattern(37, 23, alpha) });
      const { once, twice } = labelCycle('png', src, indepPng);
      expect(pngChunks(once).map((c) => c.type)).toEqual(['IHDR', 'iTXt', 'IDAT', 'IEND']);
      await samePixels(src, once);
      await samePixels(src, twice);
    }
  });

  test('another XMP iTXt elsewhere (even a compressed one) is replaced; other text chunks are kept', () => {
    const src = encodePngSync({ width: 8, height: 8, data: pattern(8, 8) });
    const chunk = (type: string, data: Uint8Array) => {
      const c = cat(u32(data.length), enc(type), data, u32(0));
      new DataView(c.buffer).setUint32(8 + data.length, Bun.hash.crc32(c.subarray(4, 8 + data.length)));
      return c;
    };
    const zlib = new Uint8Array(deflateSync(enc(buildXmp('old-compressed')))); // zlib-wrapped, as iTXt wants
    const compressed = chunk('iTXt', cat(enc('XML:com.adobe.xmp\0'), new Uint8Array([1, 0, 0, 0]), zlib));
    const plain = chunk('iTXt', cat(enc('XML:com.adobe.xmp\0'), new Uint8Array([0, 0, 0, 0]), enc(buildXmp('old-plain'))));
    const text = chunk('tEXt', enc('Comment\0hello'));
    const iend = src.length - 12;
    const messy = cat(src.subarray(0, iend), compressed, text, plain, src.subarray(iend));
    expect(readLabels(messy, 'png')).toEqual(['old-compressed', 'old-plain']);
    const out = writeLabel(messy, 'png', LABEL_A);
    expect(readLabels(out, 'png')).toEqual([LABEL_A]);
    expect(indepPng(out)).toHaveLength(1);
    expect(pngChunks(out).map((c) => c.type)).toEqual(['IHDR', 'iTXt', 'IDAT', 'tEXt', 'IEND']);
  });

  // (what labelling costs is measured in bench/labels.ts; here, that it is a splice)
  test('a 1024² PNG is labelled by a splice, not a re-encode: every chunk of the input is there byte for byte, in order', () => {
    const src = encodePngSync({ width: 1024, height: 1024, data: pattern(1024, 1024) });
    const out = writeLabel(src, 'png', LABEL_A);
    const before = pngChunks(src);
    const after = pngChunks(out);
    const kept = after.filter((c) => before.some((b) => b.type === c.type && Buffer.compare(b.data, c.data) === 0));
    expect(kept.map((c) => c.type)).toEqual(before.map((c) => c.type));
    expect(after.length - before.length).toBe(1); // the label's own chunk
    expect(indepPng(out).length).toBe(1);
  });
});

describe('JPEG', () => {
  test('APP1 XMP after JFIF APP0, one copy, relabel, same pixels', async () => {
    const src = jpeg(40, 30);
    expect(jpegSegments(src)[0]!.marker).toBe(0xe0);
    const { once, twice } = labelCycle('jpeg', src, indepJpeg);
    const segs = jpegSegments(once);
    expect(segs[0]!.marker).toBe(0xe0);
    expect(segs[1]!.marker).toBe(0xe1);
    expect(str(segs[1]!.data, 0, 29)).toBe('http://ns.adobe.com/xap/1.0/\0');
    await samePixels(src, once);
    await samePixels(src, twice);
  });

  test('an Exif APP1 stays first after JFIF; old standard and extended XMP segments are dropped', () => {
    const exif = cat(enc('Exif\0\0MM\0*'), u32(8), new Uint8Array([0, 0]));
    const src = jpeg(16, 16, exif);
    const app1 = (body: Uint8Array) => cat(new Uint8Array([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]), body);
    const ext = app1(cat(enc('http://ns.adobe.com/xmp/extension/\0'), enc('xxxxx')));
    const std = app1(cat(enc('http://ns.adobe.com/xap/1.0/\0'), enc(buildXmp('old'))));
    // put the old segments after the quantisation tables
    const dqt = src.indexOf(0xdb, 2) - 1;
    const messy = cat(src.subarray(0, dqt), std, ext, src.subarray(dqt));
    expect(readLabels(messy, 'jpeg')).toEqual(['old']);
    const out = writeLabel(messy, 'jpeg', LABEL_A);
    const segs = jpegSegments(out);
    expect(segs.map((s) => s.marker).slice(0, 3)).toEqual([0xe0, 0xe1, 0xe1]);
    expect(str(segs[1]!.data, 0, 6)).toBe('Exif\0\0');
    expect(indepJpeg(out)).toHaveLength(1);
    expect(segs.some((s) => str(s.data, 0, 35) === 'http://ns.adobe.com/xmp/extension/\0')).toBe(false);
    expect(readLabels(out, 'jpeg')).toEqual([LABEL_A]);
  });

  test('the test fixture (ffmpeg-made, with a COM segment) is labelled and still decodes', async () => {
    const src = new Uint8Array(await Bun.file(join(import.meta.dir, 'fixtures/sample.jpg')).arrayBuffer());
    const { once } = labelCycle('jpeg', src, indepJpeg);
    await samePixels(src, once);
  });

  test('an XMP packet too large for one APP1 throws', () => {
    const src = jpeg(8, 8);
    expect(() => writeLabel(src, 'jpeg', 'x'.repeat(70000))).toThrow(/exceeds the APP1 limit/);
    expect(() => writeJpegXmp(src, 'x'.repeat(MAX_JPEG_XMP + 1))).toThrow(/APP1 limit/);
    expect(readJpegXmp(writeJpegXmp(src, 'x'.repeat(MAX_JPEG_XMP)))[0]).toHaveLength(MAX_JPEG_XMP);
  });
});

describe('WebP', () => {
  const cases = [
    { name: 'simple lossy (VP8)', lossless: false, alpha: false, first: 'VP8 ' },
    { name: 'simple lossless (VP8L)', lossless: true, alpha: false, first: 'VP8L' },
    { name: 'lossless with alpha (VP8L alpha bit)', lossless: true, alpha: true, first: 'VP8L' },
    { name: 'extended lossy with alpha (VP8X + ALPH)', lossless: false, alpha: true, first: 'VP8X' },
  ];
  for (const c of cases) {
    test(`${c.name}: XMP chunk last, VP8X XMP flag, RIFF size, one copy, same pixels`, async () => {
      const w = 45, h = 29;
      const src = await webp(w, h, c);
      expect(webpChunks(src)[0]!.type).toBe(c.first);
      const { once, twice } = labelCycle('webp', src, (b) => indepWebp(b, w, h, c.alpha));
      const types = webpChunks(once).map((x) => x.type);
      expect(types[0]).toBe('VP8X');
      expect(types.filter((t) => t === 'VP8X')).toHaveLength(1);
      await samePixels(src, once);
      await samePixels(src, twice);
    });
  }

  test('the test fixture is labelled; odd-length XMP chunks are padded to even size', async () => {
    const src = new Uint8Array(await Bun.file(join(import.meta.dir, 'fixtures/sample.webp')).arrayBuffer());
    const { once } = labelCycle('webp', src, (b) => indepWebp(b, 48, 32, false));
    await samePixels(src, once);
    for (const label of ['Z', 'ZZ', LABEL_B, LABEL_B + ' ']) {
      const out = writeLabel(once, 'webp', label);
      expect(indepWebp(out, 48, 32, false)).toHaveLength(1); // walks with even alignment and checks the RIFF size
      expect(readLabels(out, 'webp')).toEqual([label]);
      await samePixels(src, out);
    }
  });
});

// ------------------------------------------------------------------ MP4

describe('MP4', () => {
  test('faststart file: AIGC key in moov/udta/meta, ffprobe shows it, frames and packets unchanged', async () => {
    const src = await mp4(6);
    const before = probe(src);
    const hashes = packetHashes(src);
    expect(readLabels(src, 'mp4')).toEqual([]);
    const once = writeLabel(src, 'mp4', LABEL_A);
    expect(readLabels(once, 'mp4')).toEqual([LABEL_A]);
    expect(indepMp4(once).aigc).toEqual([LABEL_A]);
    const p = probe(once);
    expect(p.tags.AIGC).toBe(LABEL_A);
    expect([p.frames, p.width, p.height]).toEqual([before.frames, 64, 64]);
    expect(p.frames).toBe(6);
    expect(packetHashes(once)).toEqual(hashes); // stco shifted by exactly the growth
    const twice = writeLabel(once, 'mp4', LABEL_B);
    expect(readLabels(twice, 'mp4')).toEqual([LABEL_B]);
    expect(indepMp4(twice).aigc).toEqual([LABEL_B]);
    expect(probe(twice).tags.AIGC).toBe(LABEL_B);
    expect(packetHashes(twice)).toEqual(hashes);
    expect(readSourceType(twice, 'mp4')).toBeNull();
  });

  test('moov after mdat (64-bit mdat header): nothing shifts, labels still read by ffprobe', async () => {
    const src = moovLast(await mp4(5), { largeMdat: true });
    const hashes = packetHashes(src);
    expect(hashes).toHaveLength(5);
    const out = writeLabel(src, 'mp4', LABEL_A);
    const moovAt = walkBoxes(src).find((b) => b.type === 'moov')!.start;
    expect(moovAt).toBeGreaterThan(walkBoxes(src).find((b) => b.type === 'mdat')!.start);
    expect(Buffer.compare(Buffer.from(out.subarray(0, moovAt)), Buffer.from(src.subarray(0, moovAt)))).toBe(0); // ftyp + mdat untouched
    expect(readLabels(out, 'mp4')).toEqual([LABEL_A]);
    expect(probe(out).tags.AIGC).toBe(LABEL_A);
    expect(packetHashes(out)).toEqual(hashes);
  });

  test('mdat with size 0 (to end of file) as the last box', async () => {
    const src = (await mp4(4)).slice();
    const mdat = walkBoxes(src).find((b) => b.type === 'mdat')!;
    new DataView(src.buffer).setUint32(mdat.start, 0);
    const hashes = packetHashes(src);
    const out = writeLabel(src, 'mp4', LABEL_A);
    expect(readLabels(out, 'mp4')).toEqual([LABEL_A]);
    expect(packetHashes(out)).toEqual(hashes);
    expect(probe(out).tags.AIGC).toBe(LABEL_A);
  });

  test('existing mdta keys are kept and renumbered, duplicate AIGC copies removed (moov last, then faststart)', async () => {
    const meta = mdtaMeta([['AIGC', 'stale-1'], ['com.example.foo', 'foo-value'], ['AIGC', 'stale-2'], ['com.example.bar', 'bar-value']]);
    const src = moovLast(await mp4(4), { udta: tbox('udta', meta) });
    expect(readMp4Aigc(src)).toEqual(['stale-1', 'stale-2']);
    expect(probe(src).tags['com.example.foo']).toBe('foo-value');
    const hashes = packetHashes(src);
    for (const file of [src, faststart(src)]) {
      const out = writeLabel(file, 'mp4', LABEL_A);
      expect(readLabels(out, 'mp4')).toEqual([LABEL_A]);
      const ind = indepMp4(out);
      expect(ind.aigc).toEqual([LABEL_A]);
      expect(ind.keys).toEqual(['com.example.foo', 'com.example.bar', 'AIGC']);
      const tags = probe(out).tags;
      expect(tags.AIGC).toBe(LABEL_A);
      expect(tags['com.example.foo']).toBe('foo-value');
      expect(tags['com.example.bar']).toBe('bar-value');
      expect(packetHashes(out)).toEqual(hashes);
    }
  });
});

// ------------------------------------------------------------------ hostile input

describe('hostile input', () => {
  async function labelled(): Promise<[LabelKind, Uint8Array][]> {
    return [
      ['png', writeLabel(encodePngSync({ width: 9, height: 7, data: pattern(9, 7) }), 'png', LABEL_A)],
      ['jpeg', writeLabel(jpeg(9, 7), 'jpeg', LABEL_A)],
      ['webp', writeLabel(await webp(9, 7, { lossless: true, alpha: false }), 'webp', LABEL_A)],
      ['mp4', writeLabel(await mp4(2), 'mp4', LABEL_A)],
    ];
  }

  test('every truncation of a labelled file throws on read and on write', async () => {
    for (const [kind, full] of await labelled()) {
      for (let n = 0; n < full.length; n++) {
        const cut = full.slice(0, n);
        expect(() => readLabels(cut, kind)).toThrow();
        expect(() => writeLabel(cut, kind, LABEL_B)).toThrow();
      }
    }
  });

  test('lengths and sizes that lie throw a clear error', async () => {
    const files = Object.fromEntries(await labelled()) as Record<LabelKind, Uint8Array>;
    const mutate = (b: Uint8Array, f: (dv: DataView) => void) => {
      const c = b.slice();
      f(new DataView(c.buffer));
      return c;
    };
    // PNG: IDAT length far past the end
    const idat = 33 + 12 + be32(files.png, 33); // signature + IHDR = 33 bytes, then our iTXt, then IDAT
    expect(str(files.png, idat + 4, idat + 8)).toBe('IDAT');
    expect(() => readLabels(mutate(files.png, (d) => d.setUint32(idat, 0x7ffffff0)), 'png')).toThrow(/past the end/);
    expect(() => readLabels(mutate(files.png, (d) => d.setUint32(idat, 0xfffffff0)), 'png')).toThrow(/past the end/);
    expect(() => readLabels(mutate(files.png, (d) => d.setUint32(0, 0)), 'png')).toThrow(/signature/);
    // JPEG: APP0 length past the end
    expect(() => readLabels(mutate(files.jpeg, (d) => d.setUint16(4, 0xfff0)), 'jpeg')).toThrow(/past the end/);
    expect(() => readLabels(mutate(files.jpeg, (d) => d.setUint16(4, 1)), 'jpeg')).toThrow(/invalid segment length/);
    // WebP: RIFF size and chunk size past the end
    expect(() => readLabels(mutate(files.webp, (d) => d.setUint32(4, 0xfffffff0, true)), 'webp')).toThrow(/RIFF size/);
    expect(() => readLabels(mutate(files.webp, (d) => d.setUint32(16, 0x7ffffff0, true)), 'webp')).toThrow(/past the end/);
    // MP4: moov size 0 is fine only as the last top-level box; udta size 0/1/huge/too small inside moov
    const boxes = walkBoxes(files.mp4);
    const moov = boxes.find((b) => b.type === 'moov')!;
    const udta = boxes.find((b) => b.path === 'moov/udta')!;
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(moov.start, 0xfffffff0)), 'mp4')).toThrow(/past the end/);
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(moov.start, 4)), 'mp4')).toThrow(/invalid size/);
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(udta.start, 0)), 'mp4')).toThrow(/size 0/);
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(udta.start, 1)), 'mp4')).toThrow(/box/);
    const huge64 = mutate(files.mp4, (d) => {
      d.setUint32(udta.start, 1);
      d.setUint32(udta.start + 8, 0x7fffffff); // the 64-bit size overlaps the meta header: absurdly large
    });
    expect(() => readLabels(huge64, 'mp4')).toThrow(/too large|past the end/);
    expect(() => writeLabel(huge64, 'mp4', LABEL_B)).toThrow();
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(0, 0xfffffff0)), 'mp4')).toThrow();
    expect(() => readLabels(enc('not a media file at all'), 'mp4')).toThrow();
    // keys count lying
    const keys = walkKeys(files.mp4);
    expect(() => readLabels(mutate(files.mp4, (d) => d.setUint32(keys + 12, 0x10000000)), 'mp4')).toThrow(/keys entry count/);
  });

  test('random byte corruption never hangs and only ever throws Error', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const t0 = performance.now();
    for (const [kind, full] of await labelled()) {
      for (let i = 0; i < 1500; i++) {
        const c = full.slice();
        const flips = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < flips; k++) c[Math.floor(rnd() * c.length)] = Math.floor(rnd() * 256);
        for (const f of [() => readLabels(c, kind), () => writeLabel(c, kind, LABEL_B), () => readSourceType(c, kind)]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
          }
        }
      }
    }
    expect(performance.now() - t0).toBeLessThan(20000);
  });
});

/** Offset of the `keys` box in moov/udta/meta (test-side search for its FourCC). */
function walkKeys(b: Uint8Array): number {
  const i = Buffer.from(b).indexOf('keys');
  expect(i).toBeGreaterThan(0);
  return i - 4;
}
