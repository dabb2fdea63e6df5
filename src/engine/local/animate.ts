// i2v: animate a still key frame (Ken Burns zoom/pan, rotation, parallax shear, fades / crossfades).

import type { RGBAImage } from '../../media/types';
import type { MotionName } from './prompt';
import { resizeRGBA } from './effects';
import { smoothstep } from './util';

const MARGIN = 1.35; // prepared source is this much larger than the output window at zoom 1

export interface Prepared {
  img: RGBAImage; // cover-fitted to (W·MARGIN, H·MARGIN) or larger along one axis
}

/** Resize `src` so it covers (W·MARGIN)×(H·MARGIN), keeping aspect ratio (no crop yet). */
export function prepareSource(src: RGBAImage, W: number, H: number): Prepared {
  const s = Math.max((W * MARGIN) / src.width, (H * MARGIN) / src.height);
  const pw = Math.max(1, Math.round(src.width * s));
  const ph = Math.max(1, Math.round(src.height * s));
  return { img: resizeRGBA(src, pw, ph) };
}

/**
 * Sample an affine view of `src` into `out` (W×H): output pixel (ox, oy) maps to source
 * cx + ((ox − W/2)·cos − (oy − H/2)·sin)/z·k, … where k = MARGIN so zoom 1 shows a window of
 * W·MARGIN source pixels. `shear(oy)` adds a per-row horizontal offset (parallax).
 */
function sampleView(
  src: RGBAImage,
  out: Uint8Array,
  W: number,
  H: number,
  cx: number,
  cy: number,
  z: number,
  angle: number,
  alpha: number, // 0..1 opacity of this layer over what's in out (1 = overwrite)
  fadeToBlack: number, // 1 = full brightness
  shear: ((oy: number) => number) | null,
) {
  const sw = src.width,
    sh = src.height,
    sd = src.data;
  const k = MARGIN / z;
  const cs = Math.cos(angle) * k,
    sn = Math.sin(angle) * k;
  const maxX = sw - 1,
    maxY = sh - 1;
  const a = Math.round(alpha * 256);
  const ia = 256 - a;
  const br = Math.round(fadeToBlack * 256);
  const s32 = i32(sd);
  const o32 = new Int32Array(out.buffer, out.byteOffset, W * H);
  for (let oy = 0; oy < H; oy++) {
    const ry = oy + 0.5 - H / 2;
    const sh0 = shear ? shear(oy) : 0;
    // source position for ox = 0 and per-pixel increments
    let sx = cx + (0.5 - W / 2) * cs - ry * sn + sh0 - 0.5;
    let sy = cy + (0.5 - W / 2) * sn + ry * cs - 0.5;
    let o = oy * W;
    if (sn === 0 && a === 256 && br === 256) {
      // no rotation, no fade (zoom, pan, parallax): the source rows and vertical weight are the row's, and
      // each pixel overwrites — the same arithmetic as below with the per-pixel y terms hoisted
      const fy0 = sy < 0 ? 0 : sy > maxY ? maxY : sy;
      const y0 = fy0 | 0;
      const y1 = y0 < maxY ? y0 + 1 : y0;
      const wy = ((fy0 - y0) * 256) | 0,
        iwy = 256 - wy;
      const r0 = y0 * sw,
        r1 = y1 * sw;
      for (let ox = 0; ox < W; ox++, sx += cs, o++) {
        let fx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
        const x0 = fx | 0;
        const x1 = x0 < maxX ? x0 + 1 : x0;
        fx -= x0;
        const wx = (fx * 256) | 0,
          iwx = 256 - wx;
        const p00 = s32[r0 + x0]!,
          p10 = s32[r0 + x1]!,
          p01 = s32[r1 + x0]!,
          p11 = s32[r1 + x1]!;
        let rbT = ((Math.imul(p00 & 0xff00ff, iwx) + Math.imul(p10 & 0xff00ff, wx)) >>> 8) & 0xff00ff;
        let rbB = ((Math.imul(p01 & 0xff00ff, iwx) + Math.imul(p11 & 0xff00ff, wx)) >>> 8) & 0xff00ff;
        const rb = ((Math.imul(rbT, iwy) + Math.imul(rbB, wy)) >>> 8) & 0xff00ff;
        rbT = ((Math.imul((p00 >> 8) & 0xff00ff, iwx) + Math.imul((p10 >> 8) & 0xff00ff, wx)) >>> 8) & 0xff00ff;
        rbB = ((Math.imul((p01 >> 8) & 0xff00ff, iwx) + Math.imul((p11 >> 8) & 0xff00ff, wx)) >>> 8) & 0xff00ff;
        const ga = ((Math.imul(rbT, iwy) + Math.imul(rbB, wy)) >>> 8) & 0xff00ff;
        o32[o] = rb | ((ga & 0xff) << 8) | -16777216; // alpha 255
      }
      continue;
    }
    for (let ox = 0; ox < W; ox++, sx += cs, sy += sn, o++) {
      let fx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
      let fy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
      const x0 = fx | 0,
        y0 = fy | 0;
      const x1 = x0 < maxX ? x0 + 1 : x0;
      const y1 = y0 < maxY ? y0 + 1 : y0;
      fx -= x0;
      fy -= y0;
      const wx = (fx * 256) | 0,
        wy = (fy * 256) | 0;
      // whole RGBA pixels as little-endian 32-bit words (R in the low byte), interpolated two channels
      // at a time: R|B and G|A sit in separate 16-bit lanes (8-bit weights keep each lane < 2¹⁶)
      const p00 = s32[y0 * sw + x0]!,
        p10 = s32[y0 * sw + x1]!,
        p01 = s32[y1 * sw + x0]!,
        p11 = s32[y1 * sw + x1]!;
      const iwx = 256 - wx,
        iwy = 256 - wy;
      let rbT = ((Math.imul(p00 & 0xff00ff, iwx) + Math.imul(p10 & 0xff00ff, wx)) >>> 8) & 0xff00ff;
      let rbB = ((Math.imul(p01 & 0xff00ff, iwx) + Math.imul(p11 & 0xff00ff, wx)) >>> 8) & 0xff00ff;
      let rb = ((Math.imul(rbT, iwy) + Math.imul(rbB, wy)) >>> 8) & 0xff00ff;
      rbT = ((Math.imul((p00 >> 8) & 0xff00ff, iwx) + Math.imul((p10 >> 8) & 0xff00ff, wx)) >>> 8) & 0xff00ff;
      rbB = ((Math.imul((p01 >> 8) & 0xff00ff, iwx) + Math.imul((p11 >> 8) & 0xff00ff, wx)) >>> 8) & 0xff00ff;
      let ga = ((Math.imul(rbT, iwy) + Math.imul(rbB, wy)) >>> 8) & 0xff00ff;
      if (br !== 256) {
        rb = (Math.imul(rb, br) >>> 8) & 0xff00ff;
        ga = (Math.imul(ga, br) >>> 8) & 0xff00ff;
      }
      if (a !== 256) {
        const q = o32[o]!;
        rb = ((Math.imul(q & 0xff00ff, ia) + Math.imul(rb, a)) >>> 8) & 0xff00ff;
        ga = ((Math.imul((q >> 8) & 0xff00ff, ia) + Math.imul(ga, a)) >>> 8) & 0xff00ff;
      }
      o32[o] = rb | ((ga & 0xff) << 8) | -16777216; // alpha 255
    }
  }
}

/**
 * Int32 view of RGBA bytes (copies first if the bytes are not 4-byte aligned). Int32 rather than Uint32:
 * opaque pixels are ≥ 2³¹ as unsigned numbers, which the JIT would have to handle as doubles.
 */
function i32(d: Uint8Array): Int32Array {
  const b = d.byteOffset & 3 ? d.slice() : d;
  return new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
}

/** Centre bounds so a window of size (W·k, H·k) stays inside the source. */
function centreRange(src: RGBAImage, W: number, H: number, z: number) {
  const ww = (W * MARGIN) / z,
    wh = (H * MARGIN) / z;
  return {
    x0: Math.min(src.width / 2, ww / 2),
    x1: Math.max(src.width / 2, src.width - ww / 2),
    y0: Math.min(src.height / 2, wh / 2),
    y1: Math.max(src.height / 2, src.height - wh / 2),
  };
}

export interface AnimPlan {
  motion: MotionName;
  sources: Prepared[];
  /** focus point for zooms, 0..1 in each axis (seed-driven, near the centre) */
  fx: number;
  fy: number;
}

/** Render frame i of n for the plan into out (W×H RGBA). */
export function renderAnimFrame(plan: AnimPlan, out: Uint8Array, W: number, H: number, i: number, n: number) {
  const p = n <= 1 ? 0 : i / (n - 1);
  const e = smoothstep(0, 1, p); // ease in-out
  const src0 = plan.sources[0]!.img;
  const zoomMax = MARGIN - 0.02;
  const focus = (src: RGBAImage, z: number) => {
    const r = centreRange(src, W, H, z);
    const fx = src.width * plan.fx,
      fy = src.height * plan.fy;
    return { cx: Math.min(r.x1, Math.max(r.x0, fx)), cy: Math.min(r.y1, Math.max(r.y0, fy)) };
  };
  switch (plan.motion) {
    case 'zoom-in':
    case 'zoom-out': {
      const t = plan.motion === 'zoom-in' ? e : 1 - e;
      const z = 1 + (zoomMax - 1) * t;
      // glide from the image centre at zoom 1 towards the focus point at max zoom
      const f = focus(src0, z);
      const c = centreRange(src0, W, H, z);
      const cx = (c.x0 + c.x1) / 2 + (f.cx - (c.x0 + c.x1) / 2) * t;
      const cy = (c.y0 + c.y1) / 2 + (f.cy - (c.y0 + c.y1) / 2) * t;
      sampleView(src0, out, W, H, cx, cy, z, 0, 1, 1, null);
      return;
    }
    case 'pan-left':
    case 'pan-right':
    case 'pan-up':
    case 'pan-down': {
      const z = zoomMax - 0.05;
      const r = centreRange(src0, W, H, z);
      let cx = (r.x0 + r.x1) / 2,
        cy = (r.y0 + r.y1) / 2;
      if (plan.motion === 'pan-right') cx = r.x0 + (r.x1 - r.x0) * e;
      else if (plan.motion === 'pan-left') cx = r.x1 - (r.x1 - r.x0) * e;
      else if (plan.motion === 'pan-down') cy = r.y0 + (r.y1 - r.y0) * e;
      else cy = r.y1 - (r.y1 - r.y0) * e;
      sampleView(src0, out, W, H, cx, cy, z, 0, 1, 1, null);
      return;
    }
    case 'rotate': {
      // rotation needs margin: at zoom z the rotated window must stay inside the source
      const z = zoomMax;
      const maxAngle = 0.1; // rad
      const angle = (e - 0.5) * 2 * maxAngle;
      const zz = 1.0 + (z - 1.0) * (0.75 + 0.25 * e);
      const c = centreRange(src0, W, H, zz);
      sampleView(src0, out, W, H, (c.x0 + c.x1) / 2, (c.y0 + c.y1) / 2, zz, angle, 1, 1, null);
      return;
    }
    case 'parallax': {
      // 2.5D: lower rows (foreground) slide further than upper rows (background), plus a slow zoom
      const z = 1.12 + 0.12 * e;
      const c = centreRange(src0, W, H, z);
      const span = (c.x1 - c.x0) * 0.9;
      const base = (c.x0 + c.x1) / 2;
      const cy = (c.y0 + c.y1) / 2;
      const shear = (oy: number) => {
        const d = Math.pow(oy / H, 1.6);
        return (e - 0.5) * span * (0.25 + 0.75 * d);
      };
      sampleView(src0, out, W, H, base, cy, z, 0, 1, 1, shear);
      return;
    }
    case 'fade': {
      const m = plan.sources.length;
      if (m <= 1) {
        // fade in from black while slowly pushing in, fade out at the very end
        const fin = smoothstep(0, 0.3, p);
        const fout = 1 - smoothstep(0.88, 1, p) * 0.85;
        const z = 1 + 0.15 * e;
        const c = centreRange(src0, W, H, z);
        sampleView(src0, out, W, H, (c.x0 + c.x1) / 2, (c.y0 + c.y1) / 2, z, 0, 1, fin * fout, null);
        return;
      }
      // crossfade through all references: segment j shows source j; the last 35% of each segment dissolves into j+1
      const seg = p * m;
      const j = Math.min(m - 1, Math.floor(seg));
      const local = seg - j;
      const zj = 1 + 0.12 * local;
      const sj = plan.sources[j]!.img;
      const cj = centreRange(sj, W, H, zj);
      sampleView(sj, out, W, H, (cj.x0 + cj.x1) / 2, (cj.y0 + cj.y1) / 2, zj, 0, 1, 1, null);
      if (j < m - 1 && local > 0.65) {
        const a = smoothstep(0.65, 1, local);
        const sk = plan.sources[j + 1]!.img;
        const ck = centreRange(sk, W, H, 1);
        sampleView(sk, out, W, H, (ck.x0 + ck.x1) / 2, (ck.y0 + ck.y1) / 2, 1, 0, a, 1, null);
      }
      return;
    }
  }
}
