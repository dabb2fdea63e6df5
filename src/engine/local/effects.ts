// Image filters used by i2i (and by t2i "style" / i2v key-frame stylisation).
// All functions take/return tightly packed RGBA Uint8Arrays and never mutate their input.

import type { RGBAImage } from '../../media/types';
import type { EffectName } from './prompt';
import type { RGB } from './util';
import { hash2, hslToRgb, rgbToHsl } from './util';

// ------------------------------------------------------------------ resampling

interface Contrib {
  idx: Int32Array; // per output: start index into src
  cnt: Int32Array; // per output: number of taps
  wts: Float32Array; // flattened weights, maxTaps per output
  maxTaps: number;
}

function contributions(srcLen: number, dstLen: number): Contrib {
  const scale = srcLen / dstLen;
  const support = Math.max(1, scale); // triangle filter widened when minifying (area-like)
  const maxTaps = Math.ceil(support * 2) + 2;
  const idx = new Int32Array(dstLen);
  const cnt = new Int32Array(dstLen);
  const wts = new Float32Array(dstLen * maxTaps);
  for (let i = 0; i < dstLen; i++) {
    const center = (i + 0.5) * scale - 0.5;
    let lo = Math.ceil(center - support);
    let hi = Math.floor(center + support);
    if (lo < 0) lo = 0;
    if (hi > srcLen - 1) hi = srcLen - 1;
    if (hi - lo + 1 > maxTaps) hi = lo + maxTaps - 1;
    let sum = 0;
    for (let j = lo; j <= hi; j++) {
      const w = Math.max(0, 1 - Math.abs(j - center) / support);
      wts[i * maxTaps + (j - lo)] = w;
      sum += w;
    }
    if (sum <= 0) {
      // degenerate (can happen at the very edge): nearest sample
      const n = Math.min(srcLen - 1, Math.max(0, Math.round(center)));
      lo = n;
      hi = n;
      wts[i * maxTaps] = 1;
      sum = 1;
    }
    for (let j = 0; j <= hi - lo; j++) wts[i * maxTaps + j]! /= sum;
    idx[i] = lo;
    cnt[i] = hi - lo + 1;
  }
  return { idx, cnt, wts, maxTaps };
}

/** High quality separable resize (triangle filter, area-averaging when shrinking). */
export function resizeRGBA(img: RGBAImage, dw: number, dh: number): RGBAImage {
  const { width: sw, height: sh, data: src } = img;
  if (sw === dw && sh === dh) return { width: dw, height: dh, data: src.slice() };
  // horizontal pass → Float32 (dw × sh)
  const cx = contributions(sw, dw);
  const tmp = new Float32Array(dw * sh * 4);
  for (let y = 0; y < sh; y++) {
    const srow = y * sw * 4;
    const trow = y * dw * 4;
    for (let x = 0; x < dw; x++) {
      const st = cx.idx[x]!;
      const n = cx.cnt[x]!;
      const wo = x * cx.maxTaps;
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let k = 0; k < n; k++) {
        const w = cx.wts[wo + k]!;
        const s = srow + (st + k) * 4;
        r += src[s]! * w;
        g += src[s + 1]! * w;
        b += src[s + 2]! * w;
        a += src[s + 3]! * w;
      }
      const t = trow + x * 4;
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
      tmp[t + 3] = a;
    }
  }
  // vertical pass → Uint8
  const cy = contributions(sh, dh);
  const out = new Uint8Array(dw * dh * 4);
  const rowLen = dw * 4;
  const acc = new Float32Array(rowLen);
  for (let y = 0; y < dh; y++) {
    acc.fill(0);
    const st = cy.idx[y]!;
    const n = cy.cnt[y]!;
    const wo = y * cy.maxTaps;
    for (let k = 0; k < n; k++) {
      const w = cy.wts[wo + k]!;
      const trow = (st + k) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += tmp[trow + i]! * w;
    }
    const orow = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = acc[i]!;
      out[orow + i] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
    }
  }
  return { width: dw, height: dh, data: out };
}

// ------------------------------------------------------------------ primitives

/** Separable box blur of the RGB channels (alpha copied), radius r, `passes` times (3 ≈ Gaussian). */
export function boxBlurRGB(src: Uint8Array, w: number, h: number, r: number, passes = 3): Uint8Array {
  r = Math.max(1, Math.floor(r));
  const a = src.slice();
  const b = new Uint8Array(src.length);
  const win = 2 * r + 1;
  const inv = 1 / win;
  // byte offsets (within a row) of the samples entering / leaving the running window at x, edge-clamped
  const addOff = new Int32Array(w),
    subOff = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    addOff[x] = Math.min(w - 1, x + r + 1) * 4;
    subOff[x] = Math.max(0, x - r) * 4;
  }
  for (let p = 0; p < passes; p++) {
    // horizontal a → b, the three channels in one sweep
    for (let y = 0; y < h; y++) {
      const row = y * w * 4;
      let s0 = 0,
        s1 = 0,
        s2 = 0;
      for (let k = -r; k <= r; k++) {
        const i = row + Math.min(w - 1, Math.max(0, k)) * 4;
        s0 += a[i]!;
        s1 += a[i + 1]!;
        s2 += a[i + 2]!;
      }
      for (let x = 0, o = row; x < w; x++, o += 4) {
        b[o] = (s0 * inv + 0.5) | 0;
        b[o + 1] = (s1 * inv + 0.5) | 0;
        b[o + 2] = (s2 * inv + 0.5) | 0;
        b[o + 3] = a[o + 3]!;
        const ai = row + addOff[x]!,
          si = row + subOff[x]!;
        s0 += a[ai]! - a[si]!;
        s1 += a[ai + 1]! - a[si + 1]!;
        s2 += a[ai + 2]! - a[si + 2]!;
      }
    }
    // vertical b → a, processed with a running-sum row buffer (row-major friendly)
    const stride = w * 4;
    const sums = new Float64Array(stride);
    for (let k = -r; k <= r; k++) {
      const yy = Math.min(h - 1, Math.max(0, k));
      for (let i = 0; i < stride; i++) sums[i] += b[yy * stride + i]!;
    }
    for (let y = 0; y < h; y++) {
      const row = y * stride;
      for (let i = 0; i < stride; i++) a[row + i] = (sums[i]! * inv + 0.5) | 0;
      const yo = Math.max(0, y - r) * stride;
      const yi = Math.min(h - 1, y + r + 1) * stride;
      for (let i = 0; i < stride; i++) sums[i] += b[yi + i]! - b[yo + i]!;
    }
    // restore alpha (vertical pass averaged it)
    for (let i = 3; i < a.length; i += 4) a[i] = src[i]!;
  }
  return a;
}

function luma(src: Uint8Array, n: number): Float32Array {
  const l = new Float32Array(n);
  for (let i = 0, s = 0; i < n; i++, s += 4) l[i] = 0.299 * src[s]! + 0.587 * src[s + 1]! + 0.114 * src[s + 2]!;
  return l;
}

const c255 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0);

/** Kuwahara filter (4 quadrants, min luminance variance) using summed-area tables: O(1) per pixel. */
function kuwahara(src: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const W1 = w + 1;
  const n1 = W1 * (h + 1);
  const sR = new Float64Array(n1),
    sG = new Float64Array(n1),
    sB = new Float64Array(n1),
    sL = new Float64Array(n1),
    sL2 = new Float64Array(n1);
  for (let y = 0; y < h; y++) {
    let rR = 0,
      rG = 0,
      rB = 0,
      rL = 0,
      rL2 = 0;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 4;
      const R = src[s]!,
        G = src[s + 1]!,
        B = src[s + 2]!;
      const L = 0.299 * R + 0.587 * G + 0.114 * B;
      rR += R;
      rG += G;
      rB += B;
      rL += L;
      rL2 += L * L;
      const o = (y + 1) * W1 + x + 1;
      const u = o - W1;
      sR[o] = sR[u]! + rR;
      sG[o] = sG[u]! + rG;
      sB[o] = sB[u]! + rB;
      sL[o] = sL[u]! + rL;
      sL2[o] = sL2[u]! + rL2;
    }
  }
  const out = new Uint8Array(src.length);
  // quadrants (inclusive pixel ranges → SAT corner coordinates): x-split at [xa, x+1) and [x, xc),
  // y-split at [ya, y+1) and [y, yc); counts via reciprocals (no divisions in the loop)
  for (let y = 0; y < h; y++) {
    const ya = y - r < 0 ? 0 : y - r;
    const yc = (y + r > h - 1 ? h - 1 : y + r) + 1;
    const rA = ya * W1,
      rY = y * W1,
      rB = (y + 1) * W1,
      rC = yc * W1;
    const hTop = y + 1 - ya,
      hBot = yc - y;
    for (let x = 0; x < w; x++) {
      const xa = x - r < 0 ? 0 : x - r;
      const xb = x + 1;
      const xc = (x + r > w - 1 ? w - 1 : x + r) + 1;
      const wL = xb - xa,
        wR = xc - x;
      // q0: [xa, xb) × [ya, y+1)
      let i0 = rA + xa,
        i1 = rA + xb,
        i2 = rB + xa,
        i3 = rB + xb;
      let inv = 1 / (wL * hTop);
      let m = (sL[i3]! - sL[i1]! - sL[i2]! + sL[i0]!) * inv;
      let best = (sL2[i3]! - sL2[i1]! - sL2[i2]! + sL2[i0]!) * inv - m * m;
      let b0 = i0,
        b1 = i1,
        b2 = i2,
        b3 = i3,
        bInv = inv;
      // q1: [x, xc) × [ya, y+1)
      i0 = rA + x;
      i1 = rA + xc;
      i2 = rB + x;
      i3 = rB + xc;
      inv = 1 / (wR * hTop);
      m = (sL[i3]! - sL[i1]! - sL[i2]! + sL[i0]!) * inv;
      let v = (sL2[i3]! - sL2[i1]! - sL2[i2]! + sL2[i0]!) * inv - m * m;
      if (v < best) {
        best = v;
        b0 = i0;
        b1 = i1;
        b2 = i2;
        b3 = i3;
        bInv = inv;
      }
      // q2: [xa, xb) × [y, yc)
      i0 = rY + xa;
      i1 = rY + xb;
      i2 = rC + xa;
      i3 = rC + xb;
      inv = 1 / (wL * hBot);
      m = (sL[i3]! - sL[i1]! - sL[i2]! + sL[i0]!) * inv;
      v = (sL2[i3]! - sL2[i1]! - sL2[i2]! + sL2[i0]!) * inv - m * m;
      if (v < best) {
        best = v;
        b0 = i0;
        b1 = i1;
        b2 = i2;
        b3 = i3;
        bInv = inv;
      }
      // q3: [x, xc) × [y, yc)
      i0 = rY + x;
      i1 = rY + xc;
      i2 = rC + x;
      i3 = rC + xc;
      inv = 1 / (wR * hBot);
      m = (sL[i3]! - sL[i1]! - sL[i2]! + sL[i0]!) * inv;
      v = (sL2[i3]! - sL2[i1]! - sL2[i2]! + sL2[i0]!) * inv - m * m;
      if (v < best) {
        b0 = i0;
        b1 = i1;
        b2 = i2;
        b3 = i3;
        bInv = inv;
      }
      const o = (y * w + x) * 4;
      out[o] = c255((sR[b3]! - sR[b1]! - sR[b2]! + sR[b0]!) * bInv);
      out[o + 1] = c255((sG[b3]! - sG[b1]! - sG[b2]! + sG[b0]!) * bInv);
      out[o + 2] = c255((sB[b3]! - sB[b1]! - sB[b2]! + sB[b0]!) * bInv);
      out[o + 3] = src[o + 3]!;
    }
  }
  return out;
}

/** Sobel gradient magnitude of a luminance plane, normalised so ~1 is a strong edge. */
function sobel(l: Float32Array, w: number, h: number): Float32Array {
  const g = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const ym = (y > 0 ? y - 1 : 0) * w;
    const y0 = y * w;
    const yp = (y < h - 1 ? y + 1 : y) * w;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : 0;
      const xp = x < w - 1 ? x + 1 : x;
      const gx = l[ym + xp]! + 2 * l[y0 + xp]! + l[yp + xp]! - l[ym + xm]! - 2 * l[y0 + xm]! - l[yp + xm]!;
      const gy = l[yp + xm]! + 2 * l[yp + x]! + l[yp + xp]! - l[ym + xm]! - 2 * l[ym + x]! - l[ym + xp]!;
      g[y0 + x] = Math.sqrt(gx * gx + gy * gy) / 1020;
    }
  }
  return g;
}

function saturate(src: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const l = 0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!;
    out[i] = c255(l + (src[i]! - l) * k);
    out[i + 1] = c255(l + (src[i + 1]! - l) * k);
    out[i + 2] = c255(l + (src[i + 2]! - l) * k);
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

// ------------------------------------------------------------------ effects

function sizeRef(w: number, h: number) {
  return Math.min(w, h);
}

export function fxGrayscale(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const l = c255(0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!);
    out[i] = out[i + 1] = out[i + 2] = l;
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

export function fxSepia(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const cx = w / 2,
    cy = h / 2;
  const inv = 1 / (cx * cx + cy * cy);
  for (let y = 0; y < h; y++) {
    const dy = (y - cy) * (y - cy);
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const r = src[i]!,
        g = src[i + 1]!,
        b = src[i + 2]!;
      const v = 1 - 0.35 * ((x - cx) * (x - cx) + dy) * inv; // gentle vignette
      out[i] = c255((0.393 * r + 0.769 * g + 0.189 * b) * v);
      out[i + 1] = c255((0.349 * r + 0.686 * g + 0.168 * b) * v);
      out[i + 2] = c255((0.272 * r + 0.534 * g + 0.131 * b) * v);
      out[i + 3] = src[i + 3]!;
    }
  }
  return out;
}

export function fxInvert(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 4) {
    out[i] = 255 - src[i]!;
    out[i + 1] = 255 - src[i + 1]!;
    out[i + 2] = 255 - src[i + 2]!;
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

export function fxBlur(src: Uint8Array, w: number, h: number): Uint8Array {
  return boxBlurRGB(src, w, h, Math.max(2, Math.round(sizeRef(w, h) / 120)), 3);
}

export function fxSharpen(src: Uint8Array, w: number, h: number): Uint8Array {
  const bl = boxBlurRGB(src, w, h, Math.max(1, Math.round(sizeRef(w, h) / 400)), 2);
  const out = new Uint8Array(src.length);
  const amt = 1.6;
  for (let i = 0; i < src.length; i += 4) {
    out[i] = c255(src[i]! + (src[i]! - bl[i]!) * amt);
    out[i + 1] = c255(src[i + 1]! + (src[i + 1]! - bl[i + 1]!) * amt);
    out[i + 2] = c255(src[i + 2]! + (src[i + 2]! - bl[i + 2]!) * amt);
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

export function fxPixelate(src: Uint8Array, w: number, h: number): Uint8Array {
  const bs = Math.max(4, Math.round(sizeRef(w, h) / 48));
  const out = new Uint8Array(src.length);
  for (let by = 0; by < h; by += bs) {
    const ey = Math.min(h, by + bs);
    for (let bx = 0; bx < w; bx += bs) {
      const ex = Math.min(w, bx + bs);
      let r = 0,
        g = 0,
        b = 0,
        n = 0;
      for (let y = by; y < ey; y++)
        for (let x = bx; x < ex; x++) {
          const i = (y * w + x) * 4;
          r += src[i]!;
          g += src[i + 1]!;
          b += src[i + 2]!;
          n++;
        }
      r = c255(r / n);
      g = c255(g / n);
      b = c255(b / n);
      for (let y = by; y < ey; y++)
        for (let x = bx; x < ex; x++) {
          const i = (y * w + x) * 4;
          out[i] = r;
          out[i + 1] = g;
          out[i + 2] = b;
          out[i + 3] = src[i + 3]!;
        }
    }
  }
  return out;
}

export function fxOil(src: Uint8Array, w: number, h: number, seed: number): Uint8Array {
  const r = Math.max(3, Math.round(sizeRef(w, h) / 110));
  const k = kuwahara(src, w, h, r);
  // richer colour + faint canvas weave
  const out = saturate(k, 1.25);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const weave = ((x & 3) === 0 ? -2 : 0) + ((y & 3) === 0 ? -2 : 0) + (hash2(x, y, seed) - 0.5) * 4;
      out[i] = c255(out[i]! + weave);
      out[i + 1] = c255(out[i + 1]! + weave);
      out[i + 2] = c255(out[i + 2]! + weave);
    }
  return out;
}

export function fxSketch(src: Uint8Array, w: number, h: number, seed: number): Uint8Array {
  const n = w * h;
  const g = fxGrayscale(src);
  const inv = fxInvert(g);
  const bl = boxBlurRGB(inv, w, h, Math.max(2, Math.round(sizeRef(w, h) / 90)), 2);
  const out = new Uint8Array(src.length);
  for (let i = 0, s = 0; i < n; i++, s += 4) {
    const base = g[s]!;
    const b = bl[s]!;
    // colour dodge: base / (1 - blurredInverse)
    let v = b >= 255 ? 255 : Math.min(255, (base * 255) / (255 - b));
    // darken mid-tones a little for pencil density, add paper grain
    v = 255 * Math.pow(v / 255, 1.6);
    const x = i % w;
    const y = (i / w) | 0;
    v += (hash2(x >> 1, y, seed) - 0.5) * 10;
    const p = c255(v);
    out[s] = c255(p * 0.99 + 2);
    out[s + 1] = c255(p * 0.98 + 2);
    out[s + 2] = c255(p * 0.95);
    out[s + 3] = src[s + 3]!;
  }
  return out;
}

export function fxWatercolor(src: Uint8Array, w: number, h: number, seed: number): Uint8Array {
  const n = w * h;
  const smooth = kuwahara(src, w, h, Math.max(2, Math.round(sizeRef(w, h) / 220)));
  const soft = boxBlurRGB(smooth, w, h, Math.max(1, Math.round(sizeRef(w, h) / 300)), 2);
  const edges = sobel(luma(soft, n), w, h);
  const out = new Uint8Array(src.length);
  const levels = 10;
  for (let i = 0, s = 0; i < n; i++, s += 4) {
    const x = i % w;
    const y = (i / w) | 0;
    const gran = 0.94 + 0.06 * hash2(x >> 1, y >> 1, seed) + 0.04 * hash2(x >> 3, y >> 3, seed ^ 0x55);
    const e = Math.min(1, edges[i]! * 3);
    for (let c = 0; c < 3; c++) {
      let v = soft[s + c]! / 255;
      // soft quantisation (pigment pooling)
      const q = Math.round(v * levels) / levels;
      v = v * 0.6 + q * 0.4;
      // wash towards paper, darken at pigment edges
      v = v * 0.85 + 0.15;
      v *= 1 - 0.35 * e;
      out[s + c] = c255(v * gran * 255);
    }
    out[s + 3] = src[s + 3]!;
  }
  return out;
}

export function fxCartoon(src: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  const sm = kuwahara(src, w, h, Math.max(2, Math.round(sizeRef(w, h) / 250)));
  const edges = sobel(luma(sm, n), w, h);
  const out = new Uint8Array(src.length);
  const lv = 6;
  for (let i = 0, s = 0; i < n; i++, s += 4) {
    const e = edges[i]! > 0.12 ? 0.15 : 1;
    for (let c = 0; c < 3; c++) {
      const q = Math.round((sm[s + c]! / 255) * (lv - 1)) / (lv - 1);
      out[s + c] = c255(q * 255 * e);
    }
    out[s + 3] = src[s + 3]!;
  }
  return saturate(out, 1.2);
}

export function fxEmboss(src: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  const l = luma(src, n);
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) {
    const ym = (y > 0 ? y - 1 : 0) * w;
    const yp = (y < h - 1 ? y + 1 : y) * w;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : 0;
      const xp = x < w - 1 ? x + 1 : x;
      const v = 128 + (l[yp + xp]! - l[ym + xm]!) * 1.5 + (l[y * w + xp]! - l[y * w + xm]!) * 0.5;
      const o = (y * w + x) * 4;
      out[o] = out[o + 1] = out[o + 2] = c255(v);
      out[o + 3] = src[o + 3]!;
    }
  }
  return out;
}

export function fxVignette(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const cx = w / 2,
    cy = h / 2;
  const inv = 1 / (cx * cx + cy * cy);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) * inv;
      const v = 1 - 0.65 * d * d - 0.15 * d;
      out[i] = c255(src[i]! * v);
      out[i + 1] = c255(src[i + 1]! * v);
      out[i + 2] = c255(src[i + 2]! * v);
      out[i + 3] = src[i + 3]!;
    }
  return out;
}

export function fxPosterize(src: Uint8Array, levels: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = c255((Math.round((v / 255) * (levels - 1)) / (levels - 1)) * 255);
  for (let i = 0; i < src.length; i += 4) {
    out[i] = lut[src[i]!]!;
    out[i + 1] = lut[src[i + 1]!]!;
    out[i + 2] = lut[src[i + 2]!]!;
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

/** Re-colour: keep luminance, move chroma towards `tint`. */
export function fxTint(src: Uint8Array, tint: RGB, amount = 0.6): Uint8Array {
  const out = new Uint8Array(src.length);
  const tl = 0.299 * tint[0] + 0.587 * tint[1] + 0.114 * tint[2] || 0.01;
  const tr = tint[0] / tl,
    tg = tint[1] / tl,
    tb = tint[2] / tl;
  for (let i = 0; i < src.length; i += 4) {
    const l = 0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!;
    out[i] = c255(src[i]! + (Math.min(255, l * tr) - src[i]!) * amount);
    out[i + 1] = c255(src[i + 1]! + (Math.min(255, l * tg) - src[i + 1]!) * amount);
    out[i + 2] = c255(src[i + 2]! + (Math.min(255, l * tb) - src[i + 2]!) * amount);
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

/** Fallback stylisation for prompts without a known effect: hash-driven hue rotation + posterize. */
export function fxHashStylise(src: Uint8Array, hash: number): Uint8Array {
  const dh = 0.08 + ((hash & 0xffff) / 0x10000) * 0.84; // hue rotation in turns, never ~0
  const levels = 4 + ((hash >>> 16) % 5); // 4..8
  const satMul = 1.1 + ((hash >>> 24) & 7) * 0.05;
  // hue rotation via 32³ colour LUT would be faster; a per-pixel HSL round trip on a cached 15-bit key is enough
  const cache = new Int32Array(32768).fill(-1);
  const out = new Uint8Array(src.length);
  const q = (v: number) => Math.round(v * (levels - 1)) / (levels - 1);
  for (let i = 0; i < src.length; i += 4) {
    const key = ((src[i]! >> 3) << 10) | ((src[i + 1]! >> 3) << 5) | (src[i + 2]! >> 3);
    let packed = cache[key]!;
    if (packed < 0) {
      const [hh, ss, ll] = rgbToHsl([((key >> 10) << 3) / 255 + 0.0157, (((key >> 5) & 31) << 3) / 255 + 0.0157, ((key & 31) << 3) / 255 + 0.0157]);
      const c = hslToRgb(hh + dh, Math.min(1, ss * satMul), ll);
      packed = (c255(q(c[0]) * 255) << 16) | (c255(q(c[1]) * 255) << 8) | c255(q(c[2]) * 255);
      cache[key] = packed;
    }
    out[i] = (packed >> 16) & 255;
    out[i + 1] = (packed >> 8) & 255;
    out[i + 2] = packed & 255;
    out[i + 3] = src[i + 3]!;
  }
  return out;
}

export function applyEffect(name: EffectName, img: RGBAImage, seed: number): Uint8Array {
  const { width: w, height: h, data } = img;
  switch (name) {
    case 'oil':
      return fxOil(data, w, h, seed);
    case 'sketch':
      return fxSketch(data, w, h, seed);
    case 'watercolor':
      return fxWatercolor(data, w, h, seed);
    case 'grayscale':
      return fxGrayscale(data);
    case 'sepia':
      return fxSepia(data, w, h);
    case 'blur':
      return fxBlur(data, w, h);
    case 'sharpen':
      return fxSharpen(data, w, h);
    case 'invert':
      return fxInvert(data);
    case 'pixelate':
      return fxPixelate(data, w, h);
    case 'cartoon':
      return fxCartoon(data, w, h);
    case 'emboss':
      return fxEmboss(data, w, h);
    case 'vignette':
      return fxVignette(data, w, h);
    case 'posterize':
      return fxPosterize(data, 5);
  }
}

/** out = a·(1−s) + b·s on RGB; alpha from `a`. */
export function blendRGBA(a: Uint8Array, b: Uint8Array, s: number): Uint8Array {
  if (s >= 1) {
    const out = b.slice();
    for (let i = 3; i < out.length; i += 4) out[i] = a[i]!;
    return out;
  }
  const out = new Uint8Array(a.length);
  const k = Math.round(Math.max(0, s) * 256);
  const ik = 256 - k;
  for (let i = 0; i < a.length; i += 4) {
    out[i] = (a[i]! * ik + b[i]! * k + 128) >> 8;
    out[i + 1] = (a[i + 1]! * ik + b[i + 1]! * k + 128) >> 8;
    out[i + 2] = (a[i + 2]! * ik + b[i + 2]! * k + 128) >> 8;
    out[i + 3] = a[i + 3]!;
  }
  return out;
}
