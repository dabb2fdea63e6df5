// GET /favicon.ico (issue 14): browsers ask for it on every page of the API (Swagger UI, an opened result), and a
// 404 for it fills logs. The icon is drawn in code (16×16 and 32×32, PNG-in-ICO), so it is part of the binary with no
// asset file: a rounded square in a violet gradient with a white four-pointed spark.
import { Elysia } from 'elysia';
import { encode } from 'fast-png';

/** RGBA pixels of the icon at `n`×`n`. */
export function drawIcon(n: number): Uint8Array {
  const px = new Uint8Array(n * n * 4);
  const r = n * 0.22; // corner radius
  const c = (n - 1) / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      // coverage of the rounded square (1 inside, 0 outside, soft edge of one pixel)
      const dx = Math.max(0, Math.abs(x - c) - (c - r));
      const dy = Math.max(0, Math.abs(y - c) - (c - r));
      const inside = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(dx, dy)));
      const t = (x + y) / (2 * (n - 1));
      let rgb = [Math.round(99 + 80 * t), Math.round(102 - 50 * t), Math.round(241 - 20 * t)];
      // the spark: |x|^0.5 + |y|^0.5 <= k (an astroid), white
      const sx = Math.abs(x - c) / (n * 0.38);
      const sy = Math.abs(y - c) / (n * 0.38);
      const spark = Math.min(1, Math.max(0, (1 - (Math.sqrt(sx) + Math.sqrt(sy))) * n * 0.35));
      rgb = rgb.map((v) => Math.round(v + (255 - v) * spark));
      const i = (y * n + x) * 4;
      px.set([rgb[0], rgb[1], rgb[2], Math.round(255 * inside)], i);
    }
  }
  return px;
}

/** An ICO file holding one PNG per size (the format browsers and Windows Vista+ read). */
export function buildIco(sizes: readonly number[]): Uint8Array {
  const pngs = sizes.map((n) => encode({ width: n, height: n, data: drawIcon(n), channels: 4, depth: 8 }));
  const header = 6 + 16 * sizes.length;
  const total = header + pngs.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0, true); // reserved
  v.setUint16(2, 1, true); // type: icon
  v.setUint16(4, sizes.length, true);
  let offset = header;
  sizes.forEach((n, k) => {
    const e = 6 + 16 * k;
    out[e] = n >= 256 ? 0 : n; // width (0 = 256)
    out[e + 1] = n >= 256 ? 0 : n; // height
    // colour count 0, reserved 0
    v.setUint16(e + 4, 1, true); // planes
    v.setUint16(e + 6, 32, true); // bits per pixel
    v.setUint32(e + 8, pngs[k].byteLength, true);
    v.setUint32(e + 12, offset, true);
    out.set(pngs[k], offset);
    offset += pngs[k].byteLength;
  });
  return out;
}

let icon: Uint8Array | null = null;

/** The route, hidden from OpenAPI; the bytes are built on first use and kept. */
export const favicon = () =>
  new Elysia({ name: 'favicon' }).get(
    '/favicon.ico',
    () =>
      new Response((icon ??= buildIco([16, 32])), {
        headers: { 'content-type': 'image/x-icon', 'cache-control': 'public, max-age=86400' },
      }),
    { detail: { hide: true } },
  );
