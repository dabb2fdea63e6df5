// Tileable value-noise fBm textures. Generated once per render from the seed and then
// sampled bilinearly (cheap per-pixel cost, which is what keeps 1024² renders fast).

import { Rng } from './util';

export class NoiseTex {
  readonly size: number;
  readonly mask: number;
  readonly data: Float32Array; // values normalised to [0, 1]

  /**
   * @param size power of two
   * @param octaves number of octaves (base lattice 4 cells, doubling)
   * @param gain amplitude falloff per octave
   */
  constructor(seed: number, size = 256, octaves = 6, gain = 0.5, baseCells = 4) {
    this.size = size;
    this.mask = size - 1;
    const data = new Float32Array(size * size);
    const rng = new Rng(seed);
    let amp = 1;
    let total = 0;
    for (let o = 0; o < octaves; o++) {
      const cells = Math.min(size, baseCells << o);
      const step = size / cells; // texels per cell
      const lat = new Float32Array(cells * cells);
      for (let i = 0; i < lat.length; i++) lat[i] = rng.next();
      const cm = cells - 1;
      // precompute smooth weights along one axis
      const wts = new Float32Array(step);
      for (let i = 0; i < step; i++) {
        const t = i / step;
        wts[i] = t * t * t * (t * (t * 6 - 15) + 10);
      }
      // the two lattice-row lerps depend on x and the cell row only: computed once per cell row (same
      // double-precision expressions as per texel, so the texture is bit-identical), then one lerp per texel
      const A = new Float64Array(size),
        D = new Float64Array(size);
      for (let cy = 0; cy * step < size; cy++) {
        const r0 = (cy & cm) * cells;
        const r1 = ((cy + 1) & cm) * cells;
        for (let x = 0; x < size; x++) {
          const cx = Math.floor(x / step);
          const tx = wts[x - cx * step]!;
          const c0 = cx & cm;
          const c1 = (cx + 1) & cm;
          const a = lat[r0 + c0]! + (lat[r0 + c1]! - lat[r0 + c0]!) * tx;
          const b = lat[r1 + c0]! + (lat[r1 + c1]! - lat[r1 + c0]!) * tx;
          A[x] = a;
          D[x] = b - a;
        }
        for (let y = cy * step, yEnd = Math.min(size, y + step); y < yEnd; y++) {
          const ty = wts[y - cy * step]!;
          const row = y * size;
          for (let x = 0; x < size; x++) data[row + x] += (A[x]! + D[x]! * ty) * amp;
        }
      }
      total += amp;
      amp *= gain;
    }
    // normalise to [0,1] with a mild contrast stretch
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]! / total;
      data[i] = v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    const k = mx > mn ? 1 / (mx - mn) : 1;
    for (let i = 0; i < data.length; i++) data[i] = (data[i]! - mn) * k;
    this.data = data;
  }

  /** Bilinear sample in texel units (wraps). */
  sample(u: number, v: number): number {
    const fu = Math.floor(u);
    const fv = Math.floor(v);
    const tx = u - fu;
    const ty = v - fv;
    const m = this.mask;
    const s = this.size;
    const x0 = fu & m;
    const x1 = (fu + 1) & m;
    const y0 = (fv & m) * s;
    const y1 = ((fv + 1) & m) * s;
    const d = this.data;
    const a = d[y0 + x0]! + (d[y0 + x1]! - d[y0 + x0]!) * tx;
    const b = d[y1 + x0]! + (d[y1 + x1]! - d[y1 + x0]!) * tx;
    return a + (b - a) * ty;
  }
}

/** 1D smooth value noise with fBm, used for ridge lines. Returns roughly [0,1]. */
export class Noise1D {
  private lat: Float32Array;
  private n: number;
  constructor(seed: number, n = 4096) {
    const r = new Rng(seed);
    this.n = n;
    this.lat = new Float32Array(n);
    for (let i = 0; i < n; i++) this.lat[i] = r.next();
  }
  value(x: number): number {
    const f = Math.floor(x);
    const t = x - f;
    const n = this.n;
    const i0 = ((f % n) + n) % n;
    const i1 = (i0 + 1) % n;
    const s = t * t * (3 - 2 * t);
    return this.lat[i0]! + (this.lat[i1]! - this.lat[i0]!) * s;
  }
  fbm(x: number, octaves: number, gain = 0.5): number {
    let a = 1;
    let sum = 0;
    let tot = 0;
    let f = 1;
    for (let o = 0; o < octaves; o++) {
      sum += this.value(x * f + o * 37.17) * a;
      tot += a;
      a *= gain;
      f *= 2.03;
    }
    return sum / tot;
  }
  /** Ridged fBm: sharp peaks (mountains). */
  ridged(x: number, octaves: number, gain = 0.5): number {
    let a = 1;
    let sum = 0;
    let tot = 0;
    let f = 1;
    for (let o = 0; o < octaves; o++) {
      const v = 1 - Math.abs(this.value(x * f + o * 19.3) * 2 - 1);
      sum += v * v * a;
      tot += a;
      a *= gain;
      f *= 2.1;
    }
    return sum / tot;
  }
}
