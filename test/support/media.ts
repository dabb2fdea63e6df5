// Small readers that check generated media from its bytes, independent of the engine's own code.

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error('not a PNG');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('no IHDR');
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

export interface Box {
  type: string;
  start: number;
  end: number;
  /** where the children or payload begin */
  body: number;
}

function boxes(bytes: Uint8Array, from: number, to: number): Box[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    let header = 8;
    if (size === 1) {
      size = Number(dv.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = to - at;
    if (size < header || at + size > to) throw new Error(`bad box ${type} at ${at}`);
    out.push({ type, start: at, end: at + size, body: at + header });
    at += size;
  }
  return out;
}

const find = (bytes: Uint8Array, parent: Box | null, path: string[]): Box | undefined => {
  let list = boxes(bytes, parent ? parent.body : 0, parent ? parent.end : bytes.byteLength);
  let hit: Box | undefined;
  for (const type of path) {
    hit = list.find((b) => b.type === type);
    if (!hit) return undefined;
    list = boxes(bytes, hit.body, hit.end);
  }
  return hit;
};

/** Top-level box types, the video sample entry, sample count and duration of an MP4's first video track. */
export function mp4Info(bytes: Uint8Array) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = boxes(bytes, 0, bytes.byteLength).map((b) => b.type);
  const stbl = find(bytes, null, ['moov', 'trak', 'mdia', 'minf', 'stbl']);
  const mdhd = find(bytes, null, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!stbl || !mdhd) throw new Error('no video track');
  const stsd = boxes(bytes, stbl.body, stbl.end).find((b) => b.type === 'stsd')!;
  // stsd: version/flags (4) + entry count (4), then sample entries
  const entry = boxes(bytes, stsd.body + 8, stsd.end)[0];
  // visual sample entry: 6 reserved + 2 index + 16 pre-defined/reserved, then width, height (16 bit each)
  const width = dv.getUint16(entry.body + 24);
  const height = dv.getUint16(entry.body + 26);
  const children = boxes(bytes, entry.body + 78, entry.end).map((b) => b.type);
  const stsz = boxes(bytes, stbl.body, stbl.end).find((b) => b.type === 'stsz')!;
  const sampleCount = dv.getUint32(stsz.body + 8);
  const version = bytes[mdhd.body];
  const timescale = version === 1 ? dv.getUint32(mdhd.body + 20) : dv.getUint32(mdhd.body + 12);
  const duration = version === 1 ? Number(dv.getBigUint64(mdhd.body + 24)) : dv.getUint32(mdhd.body + 16);
  return {
    top,
    brand: String.fromCharCode(...bytes.subarray(8, 12)),
    codec: entry.type,
    children,
    width,
    height,
    sampleCount,
    seconds: duration / timescale,
  };
}
