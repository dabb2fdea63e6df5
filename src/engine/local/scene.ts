// Procedural scene renderer used by t2i (one frame) and t2v (animated frames).
//
// A prompt is reduced to a SceneSpec (sky mode, ground type, palette, modifiers), the seed fixes
// the layout (sun position, ridge lines, trees, clouds, stars...). Rendering is a single
// row-major pass over the frame: every pixel is classified as sky / ground layer / water, shaded
// from pre-computed tables and tileable noise textures, then particles (snow, embers, rain) are
// splatted on top. `t` (seconds) animates clouds, sun, waves, flames, particles and camera drift.

import { NoiseTex, Noise1D } from './noise';
import { detectColors, detectThemes, type Theme } from './prompt';
import type { RGB } from './util';
import { Rng, clamp01, hash2, hex, hueShift, mix2, mixRGB, smoothstep } from './util';

type SkyMode = 'day' | 'sunset' | 'sunrise' | 'night' | 'fire' | 'space' | 'overcast' | 'storm';
type Ground = 'hills' | 'mountains' | 'ocean' | 'forest' | 'desert' | 'city' | 'none';
type LayerKind = 'hill' | 'mountain' | 'forest' | 'dune' | 'city';

interface Palette {
  skyTop: RGB;
  skyMid: RGB;
  skyHor: RGB;
  body: 'sun' | 'moon' | 'planet' | 'none';
  sun: RGB;
  glow: RGB;
  glowStrength: number;
  sunR: number; // fraction of H
  cloudLit: RGB;
  cloudShade: RGB;
  cloudCover: number; // 0..1
  haze: RGB;
  far: RGB;
  near: RGB;
  tree: RGB;
  water: RGB;
  snow: RGB;
  stars: number; // 0..1 density
  rim: number; // rim-light strength on ridges
}

const PALETTES: Record<SkyMode, Palette> = {
  day: {
    skyTop: hex(0x2a62c9), skyMid: hex(0x6aa2e6), skyHor: hex(0xd3e6f6), body: 'sun', sun: hex(0xfffbe8), glow: hex(0xfff1c8),
    glowStrength: 0.35, sunR: 0.035, cloudLit: hex(0xffffff), cloudShade: hex(0xaab8cc), cloudCover: 0.42, haze: hex(0xc9dcee),
    far: hex(0x6f9aa0), near: hex(0x2e5a2c), tree: hex(0x1f4424), water: hex(0x1f5a8a), snow: hex(0xf4f8ff), stars: 0, rim: 0.05,
  },
  sunset: {
    skyTop: hex(0x1c1d4e), skyMid: hex(0xa8466c), skyHor: hex(0xffa85a), body: 'sun', sun: hex(0xffe6a8), glow: hex(0xff8a3c),
    glowStrength: 1.0, sunR: 0.06, cloudLit: hex(0xffa080), cloudShade: hex(0x5a2f5a), cloudCover: 0.38, haze: hex(0xe07a5a),
    far: hex(0x6a3a5e), near: hex(0x160a1c), tree: hex(0x10060f), water: hex(0x2a1838), snow: hex(0xffd8c8), stars: 0, rim: 0.5,
  },
  sunrise: {
    skyTop: hex(0x3d62aa), skyMid: hex(0xeaa0ac), skyHor: hex(0xffdca4), body: 'sun', sun: hex(0xfff4d0), glow: hex(0xffb27a),
    glowStrength: 0.8, sunR: 0.05, cloudLit: hex(0xffd6d0), cloudShade: hex(0x8a7aa0), cloudCover: 0.4, haze: hex(0xf2c6b0),
    far: hex(0x7a7a9e), near: hex(0x283246), tree: hex(0x1a2430), water: hex(0x3a4a78), snow: hex(0xfff0f0), stars: 0, rim: 0.35,
  },
  night: {
    skyTop: hex(0x020512), skyMid: hex(0x0a1634), skyHor: hex(0x1e3262), body: 'moon', sun: hex(0xf4f1e2), glow: hex(0x8ea8d8),
    glowStrength: 0.35, sunR: 0.04, cloudLit: hex(0x4a5a7e), cloudShade: hex(0x0c1424), cloudCover: 0.25, haze: hex(0x1c2c55),
    far: hex(0x16254a), near: hex(0x03060e), tree: hex(0x02040a), water: hex(0x06122a), snow: hex(0x9aaad0), stars: 1, rim: 0.25,
  },
  fire: {
    skyTop: hex(0x140404), skyMid: hex(0x601406), skyHor: hex(0xe85a1a), body: 'sun', sun: hex(0xff6a30), glow: hex(0xff4a10),
    glowStrength: 0.6, sunR: 0.05, cloudLit: hex(0x7a3020), cloudShade: hex(0x140808), cloudCover: 0.65, haze: hex(0xa03010),
    far: hex(0x3a1008), near: hex(0x0a0202), tree: hex(0x080101), water: hex(0x300806), snow: hex(0x806060), stars: 0, rim: 0.6,
  },
  space: {
    skyTop: hex(0x03020a), skyMid: hex(0x0a0620), skyHor: hex(0x140a30), body: 'planet', sun: hex(0xd08a5a), glow: hex(0x6a8ad8),
    glowStrength: 0.25, sunR: 0.16, cloudLit: hex(0x000000), cloudShade: hex(0x000000), cloudCover: 0, haze: hex(0x140a30),
    far: hex(0x1a1030), near: hex(0x05030a), tree: hex(0x05030a), water: hex(0x0a0620), snow: hex(0xa0a0c0), stars: 1, rim: 0.2,
  },
  overcast: {
    skyTop: hex(0x8ba2c0), skyMid: hex(0xbccadc), skyHor: hex(0xe8eef4), body: 'sun', sun: hex(0xfdfcf6), glow: hex(0xffffff),
    glowStrength: 0.25, sunR: 0.035, cloudLit: hex(0xf6f8fb), cloudShade: hex(0xa2aec0), cloudCover: 0.62, haze: hex(0xdfe6ee),
    far: hex(0x8a9cb4), near: hex(0x3a4a5a), tree: hex(0x1c3430), water: hex(0x4a6a8a), snow: hex(0xf6f9fe), stars: 0, rim: 0.05,
  },
  storm: {
    skyTop: hex(0x1e2530), skyMid: hex(0x3a4654), skyHor: hex(0x707c88), body: 'none', sun: hex(0xffffff), glow: hex(0xc0d0e0),
    glowStrength: 0.1, sunR: 0.03, cloudLit: hex(0x6a7684), cloudShade: hex(0x1a2028), cloudCover: 0.8, haze: hex(0x5a6674),
    far: hex(0x3a4650), near: hex(0x101418), tree: hex(0x0c1410), water: hex(0x1e2a34), snow: hex(0xc8d0da), stars: 0, rim: 0,
  },
};

export interface SceneSpec {
  themes: Theme[];
  sky: SkyMode;
  ground: Ground;
  snow: boolean;
  fire: boolean;
  clouds: boolean;
  palette: Palette;
}

/** Words in the negative prompt switch the matching features off. */
function negFlags(negative: string) {
  const n = negative.toLowerCase();
  const has = (...w: string[]) => w.some((x) => n.includes(x));
  return {
    noClouds: has('cloud', '云'),
    noSun: has('sun', '太阳', 'moon', '月'),
    noStars: has('star', '星'),
    noTrees: has('tree', 'forest', '树', '林'),
    noSnow: has('snow', '雪'),
    noFire: has('fire', 'flame', '火'),
    noWater: has('water', 'ocean', 'sea', '水', '海'),
  };
}

export function specFromPrompt(prompt: string, negative: string, promptHash: number): SceneSpec {
  const th = detectThemes(prompt);
  const neg = negFlags(negative);
  const negThemes = detectThemes(negative);
  for (const t of negThemes) th.delete(t);
  const rng = new Rng(mix2(promptHash, 0x51ce));
  const anyTheme = th.size > 0;
  const has = (t: Theme) => th.has(t);

  let sky: SkyMode;
  if (has('space')) sky = 'space';
  else if (has('fire')) sky = 'fire';
  else if (has('night')) sky = 'night';
  else if (has('sunset')) sky = 'sunset';
  else if (has('sunrise')) sky = 'sunrise';
  else if (has('storm')) sky = 'storm';
  else if (has('snow') || has('cloudy')) sky = 'overcast';
  else if (has('day')) sky = 'day';
  else if (!anyTheme) sky = rng.pick(['day', 'day', 'sunset', 'sunset', 'night', 'sunrise', 'day', 'overcast'] as SkyMode[]);
  else sky = rng.pick(['day', 'day', 'sunset', 'sunrise'] as SkyMode[]);

  let ground: Ground;
  if (has('space')) ground = has('mountain') || has('desert') ? (has('desert') ? 'desert' : 'mountains') : 'none';
  else if (has('ocean') && !neg.noWater) ground = 'ocean';
  else if (has('city')) ground = 'city';
  else if (has('desert')) ground = 'desert';
  else if (has('forest') && !neg.noTrees) ground = 'forest';
  else if (has('mountain') || has('snow')) ground = 'mountains';
  else if (has('hills')) ground = 'hills';
  else if (has('fire')) ground = 'hills';
  else ground = rng.pick(['hills', 'mountains', 'ocean', 'forest', 'desert', 'hills', 'mountains', 'ocean'] as Ground[]);

  const palette: Palette = structuredClone(PALETTES[sky]);
  const snow = has('snow') && !neg.noSnow;
  const fire = has('fire') && !neg.noFire;
  if (ground === 'desert' && (sky === 'day' || sky === 'overcast')) {
    palette.skyHor = hex(0xf2dcb2);
    palette.haze = hex(0xeed8b4);
    palette.cloudCover = 0.15;
    palette.glowStrength = 0.5;
  }
  if (ground === 'desert') {
    palette.far = mixRGB(hex(0xd9a866), palette.haze, sky === 'night' ? 0.85 : 0.2);
    palette.near = mixRGB(hex(0xb86e34), palette.near, sky === 'day' || sky === 'overcast' ? 0 : 0.6);
  }
  if (ground === 'city') {
    palette.far = mixRGB(palette.far, hex(0x40485a), 0.5);
    palette.near = mixRGB(palette.near, hex(0x1a1e28), 0.5);
  }
  if (snow) {
    palette.far = mixRGB(palette.far, palette.snow, 0.45);
    palette.near = mixRGB(palette.near, palette.snow, sky === 'night' ? 0.25 : 0.55);
  }
  if (has('cloudy')) palette.cloudCover = Math.min(0.85, palette.cloudCover + 0.3);
  if (neg.noSun) palette.body = 'none';
  if (neg.noStars) palette.stars = 0;

  // colour words: first one steers the sky, second (or the first, weaker) the ground
  const colors = detectColors(prompt).filter((c) => !detectColors(negative).some((n) => n.name === c.name));
  if (colors.length > 0) {
    const c1 = colors[0]!.rgb;
    const c2 = (colors[1] ?? colors[0]!).rgb;
    const w2 = colors.length > 1 ? 0.5 : 0.3;
    palette.skyTop = mixRGB(palette.skyTop, mixRGB(c1, [0, 0, 0], 0.35), 0.4);
    palette.skyMid = mixRGB(palette.skyMid, c1, 0.5);
    palette.skyHor = mixRGB(palette.skyHor, mixRGB(c1, [1, 1, 1], 0.35), 0.45);
    palette.glow = mixRGB(palette.glow, c1, 0.5);
    palette.cloudLit = mixRGB(palette.cloudLit, mixRGB(c1, [1, 1, 1], 0.4), 0.3);
    palette.haze = mixRGB(palette.haze, c1, 0.3);
    palette.far = mixRGB(palette.far, c2, w2);
    palette.near = mixRGB(palette.near, mixRGB(c2, [0, 0, 0], 0.55), w2);
    palette.tree = mixRGB(palette.tree, mixRGB(c2, [0, 0, 0], 0.7), w2);
    palette.water = mixRGB(palette.water, mixRGB(c2, [0, 0, 0], 0.4), w2);
  } else if (!anyTheme) {
    // prompt without any known word: a hash-driven palette variation so that every prompt looks different
    const dh = rng.range(-0.3, 0.3);
    const sat = rng.range(0.9, 1.4);
    for (const k of ['skyTop', 'skyMid', 'skyHor', 'glow', 'cloudLit', 'cloudShade', 'haze', 'far', 'near', 'tree', 'water'] as const) {
      palette[k] = hueShift(palette[k], dh, sat);
    }
  }
  const clouds = !neg.noClouds && palette.cloudCover > 0 && sky !== 'space';
  return { themes: [...th], sky, ground, snow, fire, clouds, palette };
}

interface Layer {
  kind: LayerKind;
  base: number; // ridge mean, fraction of H
  amp: number; // fraction of H
  freq: number; // noise cells per H unit
  octaves: number;
  depth: number; // parallax factor (0 far .. 1 near)
  bottom: number; // px, layer extends from ridge down to here
  col: RGB;
  haze: number;
  mist: number;
  noise: Noise1D;
  seed: number;
  treeH: number; // fraction of H (forest)
  treeSp: number; // spacing in H units
  snowLine: number; // fraction of H (snow caps above this), -1 none
  texOff: number;
  island: boolean; // only noise peaks rise above the base line (coast on the horizon)
}

interface Particle {
  x: number; // fraction of W
  y: number; // fraction of H
  vx: number; // fraction per second
  vy: number;
  r: number; // px radius at 1024
  a: number; // alpha
  phase: number;
}

export interface RenderOptions {
  width: number;
  height: number;
  seed: number;
  promptHash: number;
  detail: number; // noise octaves 4..7
  video: boolean;
  /** video: time (s) of the last frame; lets the ground layers be pre-shaded once per video */
  videoEnd?: number;
}

// pre-shaded layer strips are skipped above this many floats in total (memory cap, 96 MiB; such layers are shaded per frame)
const STRIP_MAX_FLOATS = 24 << 20;

// offsets into Scene.pc (flattened palette constants for the hot loops)
const P_GLOW = 0;
const P_CLIT = 3;
const P_CSH = 6;
const P_GLOWS = 9;

const FIRE_LUT = (() => {
  const n = 256;
  const lut = new Float32Array(n * 3);
  const stops: [number, RGB][] = [
    [0, [0.25, 0.02, 0.0]],
    [0.3, [0.85, 0.12, 0.02]],
    [0.55, [1.0, 0.45, 0.05]],
    [0.8, [1.0, 0.8, 0.25]],
    [1, [1.0, 0.97, 0.8]],
  ];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    let k = 0;
    while (k < stops.length - 2 && t > stops[k + 1]![0]) k++;
    const [t0, c0] = stops[k]!;
    const [t1, c1] = stops[k + 1]!;
    const c = mixRGB(c0, c1, clamp01((t - t0) / (t1 - t0)));
    lut[i * 3] = c[0];
    lut[i * 3 + 1] = c[1];
    lut[i * 3 + 2] = c[2];
  }
  return lut;
})();

/**
 * Still-image grain: Math.round((hash2(x, y, seed) − 0.5) · 5) per pixel, in integers. With v = h / 2³² that is
 * floor(5v − 2) exactly (every step is exact in doubles), i.e. floor(5h / 2³²) − 2; hash2 is inlined with the
 * row term hoisted (a loop in the constructor calling hash2 per pixel was a third of a 1024² still's time).
 */
function filmGrain(W: number, H: number, seed: number): Int8Array {
  const out = new Int8Array(W * H);
  for (let y = 0; y < H; y++) {
    const hy = Math.imul(y, 0x165667b1) ^ seed;
    for (let x = 0, i = y * W; x < W; x++, i++) {
      let h = Math.imul(x, 0x27d4eb2d) ^ hy;
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
      h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
      h ^= h >>> 15;
      out[i] = Math.floor(((h >>> 0) * 5) / 4294967296) - 2;
    }
  }
  return out;
}

export class Scene {
  readonly W: number;
  readonly H: number;
  readonly spec: SceneSpec;
  private pal: Palette;
  private video: boolean;
  private seed: number;
  private hy: number; // horizon, px
  private skyR: Float32Array;
  private skyG: Float32Array;
  private skyB: Float32Array;
  private cloudTex: NoiseTex;
  private detailTex: NoiseTex;
  private layers: Layer[];
  private ridge: Float32Array; // nLayers × W
  private hillRidge: Float32Array; // nLayers × W (ridge without trees/buildings)
  private bottoms: Float32Array;
  private starMap: Uint8Array | null;
  private vigX: Float32Array;
  private vigY: Float32Array;
  private grain: Int8Array;
  private particles: Particle[] = [];
  private particleKind: 'snow' | 'ember' | 'rain' | null = null;
  private water: boolean;
  // celestial body
  private sunX0: number;
  private sunY0: number;
  private sunR: number; // px
  private sunVy: number; // px/s
  private crescent: number;
  // per-frame state
  private t = 0;
  private sunX = 0;
  private sunY = 0;
  private cam = 0; // camera drift, H units
  private cloudDrift = 0;
  // cloud projection per row
  private cloudZ: Float32Array;
  private cloudFade: Float32Array;
  // scratch colour
  private r = 0.5;
  private g = 0.5;
  private b = 0.5;
  // nebula colours
  private neb1: RGB;
  private neb2: RGB;
  private planetCol: RGB;
  private lightSide: number; // -1 sun on the left, +1 right
  // hot-loop constants
  private pc: Float64Array;
  private bodyKind: number; // 0 none, 1 sun, 2 moon, 3 planet
  private isSpace: boolean;
  private hasClouds: boolean;
  private cloudTh: number;
  private invH: number;
  private invH2: number;
  private glowK1: number;
  private discR2: number;
  private above: Float32Array | null = null; // RGB of rows above the horizon (water reflections)
  private skyCache: Float32Array | null = null; // video: static sky (RGB + glow) per pixel
  private skyPacked: Int32Array | null = null; // video: the static sky as output pixels (buildSkyPacked)
  // video: per-layer pre-shaded strips. A layer only translates sideways with the camera, so each one is
  // shaded once per video over the whole camera path (strip column j = world pixel j, i.e. frame column j
  // at t = 0) and each frame reads it at a sub-pixel offset (linear blend of two columns).
  private videoEnd: number;
  private stripsTried = false;
  private stripsBuilt = false; // strips (and their ridge lines) exist for every layer
  private strips: (Float32Array | null)[] = [];
  private stripW = new Int32Array(0); // columns per strip
  private stripY0 = new Int32Array(0); // strip rows [y0, y1)
  private stripY1 = new Int32Array(0);
  private stripSi = new Int32Array(0); // per frame: integer column offset
  private stripF = new Float64Array(0); // per frame: fractional column offset
  private stripOs = new Int32Array(0); // columns per pixel (city: 4, nearest column; others 1, linear blend)
  private stripOn = new Uint8Array(0); // per frame: strip k covers every column of this frame
  private stripRidge: Float32Array[] = []; // ridge / hill line per strip column
  private stripHill: Float32Array[] = [];
  private stripStepX3 = new Int32Array(0); // render scratch (per layer)
  private stripBase = new Int32Array(0);
  private ridgeLow = new Float64Array(0);
  // per-row cloud sampling constants (prepCloudRow)
  private cRow = -1;
  private cUS = 0;
  private cUO = 0;
  private cUOff = 0;
  private cV = 0;
  private cY0 = 0;
  private cY1 = 0;
  private cTy = 0;
  private glowOut = 0.5;
  // scratch: one texture row pre-blended between two texel rows (+1 wrap entry), see waterRowFast
  private texRowA = new Float64Array(513);
  private texRowB = new Float64Array(513);
  private flameRowW = new Float64Array(513);
  private flameRowN = new Float64Array(513);


  constructor(spec: SceneSpec, opt: RenderOptions) {
    const W = (this.W = opt.width);
    const H = (this.H = opt.height);
    this.spec = spec;
    // copy the palette into Float64Arrays: uniform element types keep the hot loops monomorphic
    const palCopy = { ...spec.palette } as Palette;
    for (const k of Object.keys(palCopy) as (keyof Palette)[]) {
      const v = palCopy[k];
      if (Array.isArray(v)) (palCopy as unknown as Record<string, unknown>)[k] = Float64Array.from(v);
    }
    this.pal = palCopy;
    this.video = opt.video;
    this.videoEnd = opt.video && opt.videoEnd !== undefined && opt.videoEnd >= 0 ? opt.videoEnd : -1;
    const seed = (this.seed = mix2(opt.seed, opt.promptHash));
    const rng = new Rng(seed);
    const pal = this.pal;

    // ---- composition
    const horizonFrac =
      spec.ground === 'ocean' ? rng.range(0.52, 0.62) : spec.ground === 'none' ? 1.0 : spec.ground === 'city' ? rng.range(0.74, 0.8) : rng.range(0.55, 0.66);
    this.hy = horizonFrac * H;
    this.water = spec.ground === 'ocean';

    // sky gradient rows
    this.skyR = new Float32Array(H);
    this.skyG = new Float32Array(H);
    this.skyB = new Float32Array(H);
    const hyRef = Math.max(1, Math.min(H, this.hy));
    for (let y = 0; y < H; y++) {
      const t = Math.min(1, y / hyRef);
      const c = t < 0.55 ? mixRGB(pal.skyTop, pal.skyMid, smoothstep(0, 0.55, t)) : mixRGB(pal.skyMid, pal.skyHor, smoothstep(0.55, 1, t));
      this.skyR[y] = c[0];
      this.skyG[y] = c[1];
      this.skyB[y] = c[2];
    }

    // ---- textures (detail = octave count)
    const size = Math.max(W, H) > 640 ? 512 : 256;
    this.cloudTex = new NoiseTex(mix2(seed, 1), size, opt.detail, 0.5, 4);
    this.detailTex = new NoiseTex(mix2(seed, 2), size, Math.max(4, opt.detail - 1), 0.55, 8);

    // ---- celestial body
    this.lightSide = rng.chance(0.5) ? -1 : 1;
    this.sunR = pal.sunR * H * rng.range(0.85, 1.2);
    this.sunX0 = W * (0.5 + this.lightSide * rng.range(0.08, 0.3));
    if (spec.sky === 'sunset' || spec.sky === 'sunrise' || spec.sky === 'fire') this.sunY0 = this.hy - this.sunR * rng.range(0.4, 2.2);
    else if (spec.sky === 'space') this.sunY0 = H * rng.range(0.3, 0.6);
    else this.sunY0 = H * rng.range(0.14, 0.3);
    if (spec.sky === 'space') this.sunX0 = W * (0.5 + this.lightSide * rng.range(0.12, 0.25));
    this.sunVy = spec.sky === 'sunset' ? H * 0.012 : spec.sky === 'sunrise' ? -H * 0.012 : 0;
    this.crescent = spec.sky === 'night' && rng.chance(0.5) ? rng.range(0.25, 0.55) : 0;
    const hue = rng.next();
    this.neb1 = Float64Array.from(hueShift(hex(0x8a2be2), hue - 0.5, 1)) as unknown as RGB;
    this.neb2 = Float64Array.from(hueShift(hex(0x2a7ad8), rng.range(-0.2, 0.2), 1)) as unknown as RGB;
    this.planetCol = Float64Array.from(hueShift(hex(0xc88a5a), rng.range(-0.5, 0.5), 1)) as unknown as RGB;

    // ---- hot-loop constants
    this.pc = new Float64Array(16);
    this.pc.set(pal.glow, P_GLOW);
    this.pc.set(pal.cloudLit, P_CLIT);
    this.pc.set(pal.cloudShade, P_CSH);
    this.pc[P_GLOWS] = pal.glowStrength;
    this.bodyKind = pal.body === 'sun' ? 1 : pal.body === 'moon' ? 2 : pal.body === 'planet' ? 3 : 0;
    this.isSpace = spec.sky === 'space';
    this.hasClouds = spec.clouds;
    this.cloudTh = 1 - pal.cloudCover * 0.95;
    this.invH = 1 / H;
    this.invH2 = 1 / (H * H);
    const rr = this.sunR / H;
    this.glowK1 = 1 / (rr * rr * 3);
    this.discR2 = (this.sunR + 1.5) * (this.sunR + 1.5);
    if (this.water) this.above = new Float32Array(W * (Math.ceil(this.hy) + 2) * 3);

    // ---- clouds: per-row perspective projection
    this.cloudZ = new Float32Array(H);
    this.cloudFade = new Float32Array(H);
    for (let y = 0; y < H; y++) {
      const d = (hyRef - y) / hyRef; // 1 top .. 0 horizon
      if (d <= 0) continue;
      this.cloudZ[y] = 1 / (d + 0.1);
      this.cloudFade[y] = smoothstep(0.0, 0.18, d);
    }

    // ---- stars
    this.starMap = null;
    if (pal.stars > 0) {
      const sm = new Uint8Array(W * H);
      const dens = spec.sky === 'space' ? 0.004 : 0.0022;
      const big = spec.sky === 'space' ? 0.0004 : 0.00025;
      const sr = new Rng(mix2(seed, 3));
      const nStars = Math.round(W * H * dens);
      for (let i = 0; i < nStars; i++) {
        const x = Math.floor(sr.next() * W);
        const y = Math.floor(sr.next() * sr.next() * H); // denser towards the top
        const v = Math.floor(40 + 180 * sr.next() * sr.next());
        sm[y * W + x] = Math.max(sm[y * W + x]!, v);
      }
      const nBig = Math.round(W * H * big);
      const rad = Math.max(1, Math.round(Math.min(W, H) / 600));
      for (let i = 0; i < nBig; i++) {
        const cx = Math.floor(sr.next() * W);
        const cy = Math.floor(sr.next() * sr.next() * H);
        for (let dy = -rad - 1; dy <= rad + 1; dy++)
          for (let dx = -rad - 1; dx <= rad + 1; dx++) {
            const x = cx + dx,
              y = cy + dy;
            if (x < 0 || y < 0 || x >= W || y >= H) continue;
            const d = Math.sqrt(dx * dx + dy * dy);
            const v = Math.round(255 * clamp01(rad + 0.6 - d) + (dx === 0 || dy === 0 ? 90 * clamp01(1 - d / (rad * 3 + 1)) : 0));
            sm[y * W + x] = Math.min(255, Math.max(sm[y * W + x]!, v));
          }
      }
      this.starMap = sm;
    }

    // ---- ground layers
    this.layers = this.buildLayers(rng);
    const n = this.layers.length;
    this.ridge = new Float32Array(Math.max(1, n) * W);
    this.hillRidge = new Float32Array(Math.max(1, n) * W);
    this.bottoms = new Float32Array(Math.max(1, n));
    for (let k = 0; k < n; k++) this.bottoms[k] = this.layers[k]!.bottom;

    // ---- vignette + grain
    this.vigX = new Float32Array(W);
    this.vigY = new Float32Array(H);
    for (let x = 0; x < W; x++) {
      const d = (x - W / 2) / (W / 2);
      this.vigX[x] = 1 - 0.18 * d * d;
    }
    for (let y = 0; y < H; y++) {
      const d = (y - H / 2) / (H / 2);
      this.vigY[y] = 1 - 0.14 * d * d;
    }
    // film grain / dither for stills only: in a video a static ±1 pattern is mostly quantised away by
    // H.264 and only makes every macroblock costlier to encode
    this.grain = this.video ? new Int8Array(W * H) : filmGrain(W, H, seed);

    // ---- particles
    const pr = new Rng(mix2(seed, 4));
    if (spec.snow) this.particleKind = 'snow';
    else if (spec.fire) this.particleKind = 'ember';
    else if (spec.sky === 'storm') this.particleKind = 'rain';
    if (this.particleKind) {
      const count = this.particleKind === 'snow' ? 700 : this.particleKind === 'rain' ? 900 : 260;
      const area = (W * H) / (1024 * 1024);
      const nP = Math.round(count * Math.max(0.35, area));
      for (let i = 0; i < nP; i++) {
        const depth = pr.next();
        if (this.particleKind === 'snow')
          this.particles.push({ x: pr.next(), y: pr.next(), vx: pr.range(-0.02, 0.03), vy: 0.03 + 0.09 * depth, r: 0.7 + 2.6 * depth * depth, a: 0.45 + 0.5 * depth, phase: pr.next() * 6.28 });
        else if (this.particleKind === 'ember')
          this.particles.push({ x: pr.next(), y: 0.35 + 0.65 * pr.next(), vx: pr.range(-0.03, 0.03), vy: -(0.05 + 0.12 * depth), r: 0.6 + 1.6 * depth, a: 0.5 + 0.5 * pr.next(), phase: pr.next() * 6.28 });
        else this.particles.push({ x: pr.next(), y: pr.next(), vx: -0.08, vy: 0.9 + 0.6 * depth, r: 0.5 + 0.7 * depth, a: 0.18 + 0.25 * depth, phase: 0 });
      }
    }
  }

  private buildLayers(rng: Rng): Layer[] {
    const spec = this.spec;
    const pal = this.pal;
    const H = this.H;
    const hyF = this.hy / H;
    const layers: Layer[] = [];
    const mk = (kind: LayerKind, i: number, n: number, o: Partial<Layer>): Layer => {
      const t = n <= 1 ? 1 : i / (n - 1); // 0 far .. 1 near
      const seed = mix2(this.seed, 100 + i);
      const layer: Layer = {
        kind,
        base: hyF,
        amp: 0.1,
        freq: 2,
        octaves: 5,
        depth: 0.15 + 0.85 * t,
        bottom: H,
        col: mixRGB(pal.far, pal.near, t),
        haze: 0.55 * (1 - t) * (1 - t),
        mist: 0.35 * (1 - t * 0.7),
        noise: new Noise1D(seed),
        seed,
        treeH: 0,
        treeSp: 0,
        snowLine: -1,
        texOff: rng.next() * 512,
        island: false,
        ...o,
      };
      layer.col = Float64Array.from(layer.col) as unknown as RGB;
      return layer;
    };
    switch (spec.ground) {
      case 'none':
        break;
      case 'mountains': {
        const n = rng.int(3, 4);
        for (let i = 0; i < n; i++) {
          const t = i / (n - 1);
          const snowy = spec.snow || (i < 2 && rng.chance(0.6));
          layers.push(
            mk('mountain', i, n, {
              base: hyF + t * 0.3 - (i === 0 ? 0.02 : 0),
              amp: (0.34 - t * 0.2) * rng.range(0.8, 1.15),
              freq: 1.2 + i * 0.9 + rng.next() * 0.6,
              octaves: 6,
              snowLine: snowy ? hyF - (0.18 - t * 0.1) + rng.range(-0.03, 0.03) : -1,
            }),
          );
        }
        break;
      }
      case 'hills': {
        const n = rng.int(3, 5);
        for (let i = 0; i < n; i++) {
          const t = i / (n - 1);
          layers.push(
            mk('hill', i, n, {
              base: hyF + 0.03 + t * 0.3,
              amp: (0.2 - t * 0.06) * rng.range(0.75, 1.25),
              freq: 0.7 + i * 0.45,
              octaves: 4,
              snowLine: spec.snow ? 2 : -1,
            }),
          );
        }
        break;
      }
      case 'forest': {
        const n = rng.int(3, 4);
        for (let i = 0; i < n; i++) {
          const t = i / (n - 1);
          layers.push(
            mk(i === 0 && rng.chance(0.6) ? 'mountain' : 'forest', i, n, {
              base: hyF + t * 0.3,
              amp: i === 0 ? 0.2 : 0.06 + 0.03 * rng.next(),
              freq: i === 0 ? 1.4 : 1 + i * 0.4,
              octaves: i === 0 ? 6 : 4,
              treeH: 0.035 + t * t * 0.15,
              treeSp: 0.012 + t * t * 0.045,
              col: mixRGB(pal.far, pal.tree, t),
              snowLine: spec.snow ? (i === 0 ? hyF - 0.08 : 2) : -1,
            }),
          );
        }
        break;
      }
      case 'desert': {
        const n = rng.int(4, 5);
        for (let i = 0; i < n; i++) {
          const t = i / (n - 1);
          layers.push(mk('dune', i, n, { base: hyF + 0.04 + t * 0.32, amp: 0.08 + 0.06 * rng.next() + 0.04 * t, freq: 0.5 + i * 0.25, octaves: 3, mist: 0.08, haze: 0.35 * (1 - t) }));
        }
        break;
      }
      case 'city': {
        layers.push(mk('mountain', 0, 3, { base: hyF - 0.04, amp: 0.12, freq: 1.1, octaves: 5 }));
        layers.push(mk('city', 1, 3, { base: hyF, amp: 0.26, treeSp: 0.045, mist: 0.25 }));
        layers.push(mk('city', 2, 3, { base: hyF + 0.05, amp: 0.36, treeSp: 0.08, haze: 0, mist: 0.1 }));
        break;
      }
      case 'ocean': {
        const th = new Set(spec.themes);
        const hy = this.hy;
        if (th.has('mountain') || (spec.snow && rng.chance(0.7))) {
          // mountain lake / fjord: full mountain range on the far shore
          layers.push(mk('mountain', 0, 2, { base: hyF, amp: rng.range(0.2, 0.3), freq: 1 + rng.next() * 0.6, octaves: 6, bottom: hy, haze: 0.4, mist: 0.35, snowLine: spec.snow || rng.chance(0.5) ? hyF - 0.13 : -1 }));
          if (rng.chance(0.6)) layers.push(mk('mountain', 1, 2, { base: hyF, amp: rng.range(0.07, 0.12), freq: 2 + rng.next(), octaves: 5, bottom: hy, haze: 0.15, mist: 0.25, island: true }));
        } else if (th.has('forest')) {
          layers.push(mk('hill', 0, 2, { base: hyF, amp: 0.1, freq: 1.2, octaves: 4, bottom: hy, haze: 0.45, mist: 0.3 }));
          layers.push(mk('forest', 1, 2, { base: hyF, amp: 0.015, freq: 1.5, octaves: 3, bottom: hy, treeH: 0.07, treeSp: 0.014, col: mixRGB(pal.far, pal.tree, 0.8), haze: 0.1, mist: 0.1 }));
        } else if (th.has('city')) {
          layers.push(mk('city', 0, 2, { base: hyF + 0.02, amp: 0.2, treeSp: 0.03, bottom: hy, haze: 0.3, mist: 0.1 }));
          layers.push(mk('city', 1, 2, { base: hyF + 0.02, amp: 0.14, treeSp: 0.05, bottom: hy, haze: 0.05, mist: 0.05 }));
        } else if (rng.chance(0.75)) {
          // distant coast / islands sitting on the horizon
          const mountainous = rng.chance(0.5);
          layers.push(mk(mountainous ? 'mountain' : 'hill', 0, 2, { base: hyF, amp: mountainous ? 0.14 : 0.06, freq: 1 + rng.next(), octaves: 5, bottom: hy, haze: 0.5, mist: 0.3, island: true }));
        }
        break;
      }
    }
    if (spec.fire && layers.length === 0 && spec.ground !== 'none') {
      layers.push(mk('hill', 0, 1, { base: 0.9, amp: 0.1, freq: 1, octaves: 4 }));
    }
    return layers;
  }

  // ------------------------------------------------------------------ per-frame setup

  private computeRidges() {
    const W = this.W;
    for (let k = 0; k < this.layers.length; k++) {
      const L = this.layers[k]!;
      if (this.stripsBuilt) {
        // video: offset of this frame into the layer's strip; ridge lines read from the strip's
        const os = this.stripOs[k]!;
        const s = this.cam * L.depth * this.H * os; // camera shift of layer k in strip columns
        const si = os > 1 ? Math.round(s) : Math.floor(s);
        const f = os > 1 ? 0 : s - si;
        this.stripSi[k] = si;
        this.stripF[k] = f;
        const sr = this.stripRidge[k]!,
          sh = this.stripHill[k]!;
        const inRange = si >= 0 && (W - 1) * os + si + 1 < this.stripW[k]!;
        this.stripOn[k] = inRange && this.strips[k] !== null ? 1 : 0;
        if (inRange) {
          const ridge = this.ridge,
            hill = this.hillRidge;
          for (let x = 0, o = k * W, j = si; x < W; x++, o++, j += os) {
            ridge[o] = sr[j]! + (sr[j + 1]! - sr[j]!) * f;
            hill[o] = sh[j]! + (sh[j + 1]! - sh[j]!) * f;
          }
          continue;
        }
      }
      this.computeRidgeRow(L, this.cam * L.depth + L.texOff, W, 1, this.ridge, this.hillRidge, k * W);
    }
  }

  /** Ridge (with trees/buildings) and hill line of layer L for n columns, column x at world x = (x·step - W/2)/H + shift. */
  private computeRidgeRow(L: Layer, shift: number, n: number, step: number, ridge: Float32Array, hillRidge: Float32Array, off: number) {
    const W = this.W;
    const H = this.H;
    const inv = 1 / H;
    for (let x = 0; x < n; x++) {
      const wx = (x * step - W / 2) * inv + shift; // world x in H units
      let shape: number;
      if (L.kind === 'mountain') shape = L.noise.ridged(wx * L.freq, L.octaves, 0.5) * 1.25 - 0.15;
      else if (L.kind === 'dune') {
        const s = wx * L.freq + 0.35 * L.noise.value(wx * L.freq * 0.7 + 9);
        const f = s - Math.floor(s);
        // asymmetric dune: long windward slope, steep slip face, rounded crest
        const tri = f < 0.68 ? f / 0.68 : (1 - f) / 0.32;
        shape = Math.pow(tri, 1.4) * (0.55 + 0.45 * L.noise.value(Math.floor(s) * 3.1 + 0.5)) + 0.15 * L.noise.fbm(s * 2, 2);
      } else shape = L.noise.fbm(wx * L.freq, L.octaves, 0.45);
      if (L.island) {
        // coast/islands on the horizon: only the upper part of the noise rises above the sea
        shape = Math.max(0, shape - 0.42) * 2.4;
      } else if (L.kind === 'hill' || L.kind === 'forest') shape = 0.5 + (shape - 0.5) * 2;
      let ry = (L.base - L.amp * shape) * H;
      if (L.kind === 'city') ry = L.base * H - 0.02 * H; // flat base, buildings rise above it
      hillRidge[off + x] = ry;
      let top = ry;
      if (L.kind === 'forest' && L.treeH > 0) top = ry - this.treeHeight(L, wx) * H;
      else if (L.kind === 'city') top = ry - this.buildingHeight(L, wx) * H;
      ridge[off + x] = top;
    }
  }

  /** Height (H units) of the conifer silhouette at world x. */
  private treeHeight(L: Layer, wx: number): number {
    const sp = L.treeSp;
    const ci = Math.floor(wx / sp);
    let best = 0;
    for (let c = ci - 2; c <= ci + 2; c++) {
      const h1 = hash2(c, 1, L.seed);
      if (h1 < 0.08 + 0.25 * L.depth * L.depth) continue; // gaps (more in the foreground)
      const cx = (c + 0.5 + (hash2(c, 2, L.seed) - 0.5) * 0.7) * sp;
      const th = L.treeH * (0.55 + 0.8 * hash2(c, 3, L.seed));
      const hw = th * 0.3;
      const a = Math.abs(wx - cx);
      if (a >= hw) continue;
      // three stacked tiers give the jagged fir outline
      for (let k = 0; k < 4; k++) {
        const topk = th * (1 - k * 0.2);
        const hwk = hw * (0.4 + 0.6 * ((k + 1) / 4));
        if (a < hwk) {
          const h = topk - (a / hwk) * th * 0.36;
          if (h > best) best = h;
        }
      }
    }
    return best;
  }

  private buildingHeight(L: Layer, wx: number): number {
    const sp = L.treeSp;
    const ci = Math.floor(wx / sp);
    const h1 = hash2(ci, 7, L.seed);
    let h = L.amp * (0.25 + 0.75 * h1 * h1);
    // occasional tower with a narrower top section
    const f = wx / sp - ci;
    if (hash2(ci, 8, L.seed) > 0.75 && f > 0.3 && f < 0.7) h += L.amp * 0.25;
    if (f < 0.04 || f > 0.96) h *= 0.96; // small gaps between buildings
    return h;
  }

  // ------------------------------------------------------------------ shading

  /** Sky colour (gradient + nebula + stars + glow + body + clouds) → this.r/g/b */
  /** Static sky: gradient, nebula, glow, stars, celestial body → this.r/g/b + this.glowOut */
  private shadeSkyBase(x: number, y: number, yi: number) {
    const H = this.H;
    let r = this.skyR[yi]!,
      g = this.skyG[yi]!,
      b = this.skyB[yi]!;
    const pc = this.pc;
    if (this.isSpace) {
      const s = 1.6 / H;
      const n1 = this.cloudTex.sample(x * s * 100 + 11, y * s * 100 + 7);
      const n2 = this.detailTex.sample(x * s * 60 + 50, y * s * 60 + 80);
      const a1 = smoothstep(0.36, 0.88, n1);
      const a2 = smoothstep(0.5, 1.0, n2) * a1;
      r += this.neb1[0] * a1 * a1 * 0.9 + this.neb2[0] * a2 * 0.7;
      g += this.neb1[1] * a1 * a1 * 0.9 + this.neb2[1] * a2 * 0.7;
      b += this.neb1[2] * a1 * a1 * 0.9 + this.neb2[2] * a2 * 0.7;
    }
    const bodyKind = this.bodyKind;
    // glow around the sun / moon
    let glow = 0;
    const dxs = x - this.sunX;
    const dys = y - this.sunY;
    const d2s = dxs * dxs + dys * dys;
    if (bodyKind !== 0) {
      const q = (dxs * dxs + dys * dys * 1.4) * this.invH2;
      glow = pc[P_GLOWS]! * (0.55 / (1 + q * this.glowK1) + 0.45 / (1 + q * 14));
      r += pc[P_GLOW]! * glow;
      g += pc[P_GLOW + 1]! * glow;
      b += pc[P_GLOW + 2]! * glow;
    }
    // stars
    const sm = this.starMap;
    if (sm !== null) {
      const xi = x < 0 ? 0 : x >= this.W ? this.W - 1 : x | 0;
      const st = sm[yi * this.W + xi]!;
      if (st > 0) {
        const v = (st / 255) * (1 - Math.min(1, glow * 2));
        r += v;
        g += v;
        b += v * 1.05;
      }
    }
    // celestial body disc
    if (bodyKind !== 0 && d2s < this.discR2) this.shadeBody(dxs, dys, d2s, glow, r, g, b), (r = this.r), (g = this.g), (b = this.b);
    this.r = r;
    this.g = g;
    this.b = b;
    this.glowOut = glow;
  }

  private shadeSky(x: number, y: number, withClouds: boolean) {
    const H = this.H;
    const yi = y < 0 ? 0 : y >= H ? H - 1 : y | 0;
    let r: number, g: number, b: number, glow: number;
    const cache = this.skyCache;
    if (cache !== null) {
      const xi = x < 0 ? 0 : x >= this.W ? this.W - 1 : x | 0;
      const ci = (yi * this.W + xi) * 4;
      r = cache[ci]!;
      g = cache[ci + 1]!;
      b = cache[ci + 2]!;
      glow = cache[ci + 3]!;
    } else {
      this.shadeSkyBase(x, y, yi);
      r = this.r;
      g = this.g;
      b = this.b;
      glow = this.glowOut;
    }
    const pc = this.pc;
    // clouds
    if (withClouds && this.hasClouds && y < this.hy) {
      const Z = this.cloudZ[yi]!;
      if (Z > 0) {
        if (yi !== this.cRow) this.prepCloudRow(yi, Z);
        const tex = this.cloudTex;
        const u = x * this.cUS + this.cUO;
        const fu = u | 0;
        const tx = u - fu;
        const m = tex.mask,
          td = tex.data;
        const x0 = fu & m,
          x1 = (fu + 1) & m,
          y0 = this.cY0,
          y1 = this.cY1;
        const ca = td[y0 + x0]! + (td[y0 + x1]! - td[y0 + x0]!) * tx;
        const cb2 = td[y1 + x0]! + (td[y1 + x1]! - td[y1 + x0]!) * tx;
        const c = ca + (cb2 - ca) * this.cTy;
        const v = this.cV;
        const th = this.cloudTh;
        let dens = (c - (th - 0.08)) * (1 / 0.3);
        if (dens > 0) {
          if (dens > 1) dens = 1;
          dens = dens * dens * (3 - 2 * dens) * this.cloudFade[yi]!;
          if (dens > 0.003) {
            // self-shadowing: compare with a sample shifted towards the light (stills only)
            const c2 = this.video ? c - 0.04 : tex.sample(u - this.lightSide * 3 - this.cUOff, v + 2.5);
            let lit = 0.55 + (c - c2) * 5 - (c - th) * 0.6;
            lit = lit < 0 ? 0 : lit > 1 ? 1 : lit;
            const gl = glow * 1.5 < 1 ? glow * 1.5 : 1;
            const cr = pc[P_CSH]! + (pc[P_CLIT]! - pc[P_CSH]!) * lit + pc[P_GLOW]! * gl * 0.5;
            const cg = pc[P_CSH + 1]! + (pc[P_CLIT + 1]! - pc[P_CSH + 1]!) * lit + pc[P_GLOW + 1]! * gl * 0.5;
            const cbb = pc[P_CSH + 2]! + (pc[P_CLIT + 2]! - pc[P_CSH + 2]!) * lit + pc[P_GLOW + 2]! * gl * 0.5;
            dens *= 0.92 - 0.5 * (glow < 1 ? glow : 1);
            r = r + (cr - r) * dens;
            g = g + (cg - g) * dens;
            b = b + (cbb - b) * dens;
          }
        }
      }
    }
    this.r = r;
    this.g = g;
    this.b = b;
  }

  /** Sun / moon / planet disc over background (r, g, b) → this.r/g/b */
  private shadeBody(dx: number, dy: number, d2: number, glow: number, r: number, g: number, b: number) {
    const pal = this.pal;
    const R = this.sunR;
    const d = Math.sqrt(d2);
    let a = clamp01(R + 0.5 - d);
    if (this.bodyKind === 1) {
      const lim = 1 - 0.15 * (d2 / (R * R)); // limb darkening
      const gb = glow * 0.6;
      r = r + (pal.sun[0] * lim + pal.glow[0] * gb - r) * a;
      g = g + (pal.sun[1] * lim + pal.glow[1] * gb - g) * a;
      b = b + (pal.sun[2] * lim + pal.glow[2] * gb - b) * a;
    } else if (this.bodyKind === 2) {
      if (this.crescent > 0) {
        const ex = dx + R * this.crescent * 1.6 * this.lightSide;
        const ed = Math.sqrt(ex * ex + dy * dy);
        a *= 1 - clamp01(R * 0.98 + 0.5 - ed);
      }
      const cr = 0.82 + 0.2 * this.detailTex.sample((dx / R) * 20 + 300, (dy / R) * 20 + 300);
      r = r + (pal.sun[0] * cr - r) * a;
      g = g + (pal.sun[1] * cr - g) * a;
      b = b + (pal.sun[2] * cr - b) * a;
    } else if (a > 0) {
      // planet: lambert-lit sphere with latitude bands and an atmosphere rim
      const nx = dx / R,
        ny = dy / R;
      const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
      const lx = -0.6 * this.lightSide,
        ly = -0.35,
        lz = 0.72;
      const lam = Math.max(0, nx * lx + ny * ly + nz * lz);
      const band = this.detailTex.sample(nx * 6 + 40, ny * 70 + 9 + this.t * 0.5);
      const k = (0.35 + 0.75 * band) * (0.04 + 0.96 * lam);
      const rim = Math.pow(1 - nz, 3) * 0.8 * lam;
      const pr = this.planetCol[0] * k + this.neb2[0] * rim,
        pg = this.planetCol[1] * k + this.neb2[1] * rim,
        pb = this.planetCol[2] * k + this.neb2[2] * rim;
      r = r + (pr - r) * a;
      g = g + (pg - g) * a;
      b = b + (pb - b) * a;
    }
    this.r = r;
    this.g = g;
    this.b = b;
  }

  /** Ground layer k at (x, y) → this.r/g/b (videos: from the pre-shaded strip when it covers (x, y)) */
  private shadeLayer(k: number, x: number, y: number) {
    const W = this.W;
    if (this.stripsBuilt && this.stripOn[k] === 1) {
      const yi = y | 0;
      const y0 = this.stripY0[k]!;
      const xi = x | 0;
      if (yi === y && xi === x && yi >= y0 && yi < this.stripY1[k]! && xi >= 0 && xi < W) {
        const s = this.strips[k]!;
        const i = ((yi - y0) * this.stripW[k]! + xi * this.stripOs[k]! + this.stripSi[k]!) * 3;
        const f = this.stripF[k]!;
        this.r = s[i]! + (s[i + 3]! - s[i]!) * f;
        this.g = s[i + 1]! + (s[i + 4]! - s[i + 1]!) * f;
        this.b = s[i + 2]! + (s[i + 5]! - s[i + 2]!) * f;
        return;
      }
    }
    const xi = x < 0 ? 0 : x >= W ? W - 1 : x | 0;
    this.shadeLayerAt(k, xi, (x - W / 2) / this.H + this.cam * this.layers[k]!.depth, y, this.ridge, this.hillRidge, k * W, W);
  }

  /**
   * Ground layer k at world x `wx` (H units, without the layer's texOff) and row y → this.r/g/b.
   * Ridge lines are read from ridge/hillRidge[off + xi], xi being the column (0..n-1) of wx there.
   */
  private shadeLayerAt(k: number, xi: number, wx: number, y: number, ridge: Float32Array, hillRidge: Float32Array, off: number, n: number) {
    const L = this.layers[k]!;
    const pal = this.pal;
    const H = this.H;
    const W = n;
    const top = ridge[off + xi]!;
    const hill = hillRidge[off + xi]!;
    const dy = (y - top) / H;
    const ts = this.detailTex.size;
    let cr = L.col[0],
      cg = L.col[1],
      cb = L.col[2];
    let shade = 1;
    if (L.kind === 'mountain') {
      // rocky faces: the detail texture is used as a height field, lit from the sun side,
      // plus broad slope lighting that follows the ridge line
      const u = (wx * 1.6 + L.texOff) * ts * 0.5;
      const v = (y / H) * ts * 0.45;
      const n1 = this.detailTex.sample(u, v);
      const n2 = this.detailTex.sample(u + 1.2 * this.lightSide, v - 0.6);
      const xl = xi > 1 ? xi - 2 : 0,
        xr = xi < W - 2 ? xi + 2 : W - 1;
      const slope = (hillRidge[off + xr]! - hillRidge[off + xl]!) / Math.max(1, xr - xl);
      const sl = Math.max(-1, Math.min(1, slope * 1.2)) * this.lightSide;
      const fall = Math.exp(-dy * 6);
      shade = 0.8 + 0.25 * (n1 - 0.5) + Math.max(-0.3, Math.min(0.3, (n1 - n2) * 9)) + 0.22 * sl * fall;
    } else if (L.kind === 'forest' && y < hill) {
      // tree pixels: dark, slightly textured
      const n = this.detailTex.sample((wx * 40 + L.texOff) * 4, (y / H) * ts * 2);
      shade = 0.7 + 0.45 * n;
      cr = L.col[0] * 0.75;
      cg = L.col[1] * 0.8;
      cb = L.col[2] * 0.75;
    } else if (L.kind === 'city' && y < hill) {
      // buildings with a window grid
      const sp = L.treeSp;
      const ci = Math.floor(wx / sp);
      const fx = wx / sp - ci;
      const wy = (y - hill) / H;
      const winW = sp / 7,
        winH = 0.012;
      const gx = Math.floor((fx * sp) / winW);
      const gy = Math.floor(wy / winH);
      const inWin = (fx * sp) % winW > winW * 0.35 && -wy % winH > winH * 0.4 && fx > 0.08 && fx < 0.92;
      const bshade = 0.75 + 0.35 * hash2(ci, 9, L.seed);
      cr *= bshade;
      cg *= bshade;
      cb *= bshade * 1.05;
      if (inWin) {
        const night = this.spec.sky === 'night' || this.spec.sky === 'sunset' || this.spec.sky === 'storm' || this.spec.sky === 'fire';
        const lit = hash2(gx + ci * 31, gy, L.seed) < (night ? 0.42 : 0.1);
        if (lit) {
          const fl = 0.85 + 0.15 * hash2(gx + ci * 31, gy, L.seed ^ 0x5bd1);
          cr = 1.0 * fl;
          cg = 0.82 * fl;
          cb = 0.48 * fl;
          this.r = cr;
          this.g = cg;
          this.b = cb;
          return;
        }
        cr = cr * 0.6 + pal.skyHor[0] * 0.15;
        cg = cg * 0.6 + pal.skyHor[1] * 0.15;
        cb = cb * 0.6 + pal.skyHor[2] * 0.2;
      }
    } else if (L.kind === 'dune') {
      const xl = xi > 0 ? xi - 1 : xi,
        xr = xi < W - 1 ? xi + 1 : xi;
      const slope = (hillRidge[off + xr]! - hillRidge[off + xl]!) / Math.max(1, xr - xl);
      const sl = slope > 0.02 ? 1 : slope < -0.02 ? -1 : slope * 50;
      const fall = Math.exp(-dy * 7);
      const rip = this.detailTex.sample((wx * 8 + L.texOff) * ts * 0.3, (y / H) * ts * 3);
      shade = 0.95 + 0.28 * sl * this.lightSide * fall + 0.1 * (rip - 0.5) - 0.08 * (1 - fall);
    } else {
      const n = this.detailTex.sample((wx + L.texOff) * ts * 0.8, (y / H) * ts * 0.8);
      const xl = xi > 1 ? xi - 2 : 0,
        xr = xi < W - 2 ? xi + 2 : W - 1;
      const slope = (hillRidge[off + xr]! - hillRidge[off + xl]!) / Math.max(1, xr - xl);
      const sl = Math.max(-1, Math.min(1, slope * 2)) * this.lightSide;
      shade = 0.85 + 0.3 * (n - 0.5) + 0.2 * sl * Math.exp(-dy * 5) - 0.1 * smoothstep(0, 0.25, dy);
    }
    cr *= shade;
    cg *= shade;
    cb *= shade;
    // snow caps / snow fields
    if (L.snowLine > -1 && !(L.kind === 'forest' && y < hill)) {
      const n = this.detailTex.sample((wx * 2 + L.texOff) * ts * 0.7, (y / H) * ts * 0.5);
      const line = L.snowLine * H + (n - 0.5) * 0.12 * H;
      if (y < line || L.snowLine > 1) {
        const s = L.snowLine > 1 ? 0.85 + 0.15 * n : 0.75 + 0.3 * shade - 0.1;
        cr = pal.snow[0] * s;
        cg = pal.snow[1] * s;
        cb = pal.snow[2] * s * 1.02;
      }
    }
    // aerial perspective + valley mist
    const h = Math.min(0.92, L.haze + L.mist * smoothstep(0.0, 0.14, dy) * (1 - L.depth * 0.6));
    cr += (pal.haze[0] - cr) * h;
    cg += (pal.haze[1] - cg) * h;
    cb += (pal.haze[2] - cb) * h;
    // rim light along the ridge
    if (pal.rim > 0) {
      const rp = (y - top) / (0.004 * H + 0.5);
      if (rp < 1) {
        const k2 = pal.rim * (1 - rp) * 0.6;
        cr += pal.glow[0] * k2;
        cg += pal.glow[1] * k2;
        cb += pal.glow[2] * k2;
      }
    }
    this.r = cr;
    this.g = cg;
    this.b = cb;
  }

  /** Whatever is visible at (x, y) looking from layer `from` backwards (no water) → this.r/g/b */
  private shadeAbove(x: number, y: number, from: number, withClouds: boolean) {
    const W = this.W;
    const xi = x < 0 ? 0 : x >= W ? W - 1 : x | 0;
    for (let k = from; k >= 0; k--) {
      if (y >= this.ridge[k * W + xi]! && y < this.bottoms[k]!) {
        this.shadeLayer(k, x, y);
        return;
      }
    }
    this.shadeSky(x, y, withClouds);
  }

  // per-row water constants (set by prepWaterRow)
  private wD = 0;
  private wUS = 0;
  private wUO = 0;
  private wV = 0;
  private wV2 = 0;
  private wRy = 0;
  private wDist = 0;
  private wFres = 0;
  private wRel = 0;
  private wSpreadInv = 0;
  private wGlitter = 0;
  private wY0 = 0;
  private wY1 = 0;
  private wTy = 0;
  private wY20 = 0;
  private wY21 = 0;
  private wTy2 = 0;
  private wMaxRow = 0;

  private prepWaterRow(y: number) {
    const H = this.H;
    const hy = this.hy;
    const yy = y < hy ? hy : y;
    const d = (yy - hy) / (H - hy); // 0 horizon .. 1 bottom
    const Z = 1 / (d + 0.035);
    const s = this.detailTex.size;
    this.wD = d;
    this.wUS = (Z * s * 0.12) / H;
    this.wUO = (-this.W / 2) * this.wUS + this.cam * s * 0.3 + 4096; // +4096 keeps coordinates positive
    this.wV = Z * s * 0.3 + this.t * s * 0.08 + 4096;
    this.wV2 = this.wV * 2.3 + 11 - this.t * s * 0.05;
    const m = this.detailTex.mask;
    let fv = this.wV | 0;
    this.wTy = this.wV - fv;
    this.wY0 = (fv & m) * s;
    this.wY1 = ((fv + 1) & m) * s;
    fv = this.wV2 | 0;
    this.wTy2 = this.wV2 - fv;
    this.wY20 = (fv & m) * s;
    this.wY21 = ((fv + 1) & m) * s;
    this.wMaxRow = Math.floor(hy) - 1;
    this.wRy = hy - (yy - hy) * 0.95;
    this.wDist = (0.004 + 0.07 * d) * H;
    this.wFres = 0.22 + 0.55 * d;
    this.wRel = 0.16 - 0.06 * d;
    this.wSpreadInv = 1 / (this.sunR * (1.2 + 7 * d));
    this.wGlitter = (this.bodyKind === 1 || this.bodyKind === 2) && this.sunY < hy ? this.pal.glowStrength : 0;
  }

  /** Water at (x, current prepared row) → this.r/g/b */
  private shadeWater(x: number) {
    const W = this.W;
    const tex = this.detailTex;
    const td = tex.data;
    const m = tex.mask;
    const d = this.wD;
    // two inline bilinear samples of the wave texture (row terms precomputed in prepWaterRow)
    const u = x * this.wUS + this.wUO;
    let fu = u | 0;
    let tx = u - fu;
    let x0 = fu & m,
      x1 = (fu + 1) & m;
    let y0 = this.wY0,
      y1 = this.wY1;
    let a = td[y0 + x0]! + (td[y0 + x1]! - td[y0 + x0]!) * tx;
    let c = td[y1 + x0]! + (td[y1 + x1]! - td[y1 + x0]!) * tx;
    const w1 = a + (c - a) * this.wTy;
    const u2 = u * 2.1 + 37;
    fu = u2 | 0;
    tx = u2 - fu;
    x0 = fu & m;
    x1 = (fu + 1) & m;
    y0 = this.wY20;
    y1 = this.wY21;
    a = td[y0 + x0]! + (td[y0 + x1]! - td[y0 + x0]!) * tx;
    c = td[y1 + x0]! + (td[y1 + x1]! - td[y1 + x0]!) * tx;
    const w2 = a + (c - a) * this.wTy2;
    const wave = w1 * 0.6 + w2 * 0.4 - 0.5;
    // mirrored scene, distorted by the waves
    let ry = this.wRy - wave * this.wDist;
    let rx = x + wave * 0.02 * W * d;
    // read the already rendered rows above the horizon (bilinear); never reflect below the horizon
    const maxRow = this.wMaxRow;
    let r: number, g: number, b: number;
    const ab = this.above;
    if (ab !== null && maxRow >= 0) {
      if (ry > maxRow) ry = maxRow;
      if (ry < 0) ry = 0;
      if (rx < 0) rx = 0;
      if (rx > W - 1) rx = W - 1;
      const rx0 = rx | 0,
        ry0 = ry | 0;
      const rx1 = rx0 < W - 1 ? rx0 + 1 : rx0;
      const ry1 = ry0 < maxRow ? ry0 + 1 : ry0;
      const fx = rx - rx0,
        fy = ry - ry0;
      const i00 = (ry0 * W + rx0) * 3,
        i10 = (ry0 * W + rx1) * 3,
        i01 = (ry1 * W + rx0) * 3,
        i11 = (ry1 * W + rx1) * 3;
      let t0 = ab[i00]! + (ab[i10]! - ab[i00]!) * fx;
      let t1 = ab[i01]! + (ab[i11]! - ab[i01]!) * fx;
      r = t0 + (t1 - t0) * fy;
      t0 = ab[i00 + 1]! + (ab[i10 + 1]! - ab[i00 + 1]!) * fx;
      t1 = ab[i01 + 1]! + (ab[i11 + 1]! - ab[i01 + 1]!) * fx;
      g = t0 + (t1 - t0) * fy;
      t0 = ab[i00 + 2]! + (ab[i10 + 2]! - ab[i00 + 2]!) * fx;
      t1 = ab[i01 + 2]! + (ab[i11 + 2]! - ab[i01 + 2]!) * fx;
      b = t0 + (t1 - t0) * fy;
    } else {
      this.shadeSky(rx, Math.max(0, Math.min(ry, this.hy - 0.5)), false);
      r = this.r;
      g = this.g;
      b = this.b;
    }
    const pal = this.pal;
    const fres = this.wFres;
    const wc = pal.water;
    r = r * 0.9 + (wc[0] - r * 0.9) * fres;
    g = g * 0.9 + (wc[1] - g * 0.9) * fres;
    b = b * 0.9 + (wc[2] - b * 0.9) * fres;
    // wave relief
    const rel = wave * this.wRel;
    r += rel * (0.6 + r);
    g += rel * (0.6 + g);
    b += rel * (0.6 + b);
    // glitter path under the sun / moon
    if (this.wGlitter > 0) {
      const dx = (x - this.sunX) * this.wSpreadInv;
      const gl = this.wGlitter / (1 + dx * dx * 2);
      if (gl > 0.01) {
        let sp = (w1 * 0.5 + w2 * 0.5 + 0.1 * (1 - d) - 0.52) * (1 / 0.28);
        sp = sp < 0 ? 0 : sp > 1 ? 1 : sp * sp * (3 - 2 * sp);
        const k = gl * (0.25 + 1.3 * sp);
        r += pal.sun[0] * k * 0.8 + pal.glow[0] * gl * 0.2;
        g += pal.sun[1] * k * 0.8 + pal.glow[1] * gl * 0.2;
        b += pal.sun[2] * k * 0.8 + pal.glow[2] * gl * 0.2;
      }
    }
    this.r = r;
    this.g = g;
    this.b = b;
  }

  private prepCloudRow(yi: number, Z: number) {
    const tex = this.cloudTex;
    const s = tex.size;
    const m = tex.mask;
    this.cRow = yi;
    this.cUS = this.invH * Z * s * 0.45;
    this.cUOff = s * 256; // keeps u positive so that |0 == floor
    this.cUO = -this.W * 0.5 * this.cUS + this.cloudDrift * s + this.cUOff;
    const v = Z * s * 0.5 + 17.3;
    const fv = v | 0;
    this.cV = v;
    this.cTy = v - fv;
    this.cY0 = (fv & m) * s;
    this.cY1 = ((fv + 1) & m) * s;
  }

  private buildSkyCache() {
    const W = this.W;
    const rows = Math.min(this.H, Math.ceil(this.hy) + 1);
    const cache = new Float32Array(W * this.H * 4);
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < W; x++) {
        this.shadeSkyBase(x, y, y);
        const ci = (y * W + x) * 4;
        cache[ci] = this.r;
        cache[ci + 1] = this.g;
        cache[ci + 2] = this.b;
        cache[ci + 3] = this.glowOut;
      }
    // rows below the horizon are rarely visible as sky (only between layers): fill with the last row
    for (let y = rows; y < this.H; y++) cache.copyWithin(y * W * 4, (rows - 1) * W * 4, rows * W * 4);
    this.skyCache = cache;
  }

  /**
   * Video: shade every ground layer once over the whole camera path (see `strips`). Rows run from the
   * layer's highest ridge point to its bottom, cut where nearer layers cover it in every frame. Above its
   * own ridge a column repeats its first shaded row, so blending two neighbouring columns stays clean.
   */
  private buildStrips() {
    this.stripsTried = true;
    const W = this.W,
      H = this.H;
    const nL = this.layers.length;
    this.strips = new Array<Float32Array | null>(nL).fill(null);
    this.stripW = new Int32Array(nL);
    this.stripY0 = new Int32Array(nL);
    this.stripY1 = new Int32Array(nL);
    this.stripSi = new Int32Array(nL);
    this.stripF = new Float64Array(nL);
    this.stripOs = new Int32Array(nL);
    this.stripOn = new Uint8Array(nL);
    this.stripStepX3 = new Int32Array(nL);
    this.stripBase = new Int32Array(nL);
    this.ridgeLow = new Float64Array(nL);
    if (nL === 0 || this.videoEnd < 0) return;
    this.stripsBuilt = true;
    const camEnd = this.videoEnd * 0.035; // == this.cam of the last frame
    const ridges: Float32Array[] = [];
    const hills: Float32Array[] = [];
    const maxTop = new Float64Array(nL);
    for (let k = 0; k < nL; k++) {
      const L = this.layers[k]!;
      // window grids are too fine for a linear blend (they would go soft every other frame): city layers
      // are shaded at 4 columns per pixel and read at the nearest one (≤ 1/8 px off, like point sampling).
      // Their hill line is flat, so the ±2-column slope in shadeLayerAt stays 0 at any column spacing.
      const os = L.kind === 'city' ? 4 : 1;
      this.stripOs[k] = os;
      const sw = (W + Math.ceil(camEnd * L.depth * H) + 3) * os;
      this.stripW[k] = sw;
      const ridge = new Float32Array(sw),
        hill = new Float32Array(sw);
      this.computeRidgeRow(L, L.texOff, sw, 1 / os, ridge, hill, 0);
      ridges.push(ridge);
      hills.push(hill);
      let mx = -Infinity;
      for (let j = 0; j < sw; j++) if (ridge[j]! > mx) mx = ridge[j]!;
      maxTop[k] = mx;
    }
    this.stripRidge = ridges;
    this.stripHill = hills;
    let budget = STRIP_MAX_FLOATS;
    for (let k = 0; k < nL; k++) {
      const ridge = ridges[k]!,
        hill = hills[k]!;
      const sw = this.stripW[k]!;
      const step = 1 / this.stripOs[k]!;
      let minTop = Infinity;
      for (let j = 0; j < sw; j++) if (ridge[j]! < minTop) minTop = ridge[j]!;
      const bottom = this.bottoms[k]!;
      const y0 = Math.max(0, Math.floor(minTop) - 1);
      let y1 = Math.min(H, Math.ceil(bottom));
      // a nearer layer reaching at least as low hides everything below its highest ridge point
      // (+ a margin: frames sample ridges between strip columns); anything outside is shaded directly
      for (let q = k + 1; q < nL; q++) if (this.bottoms[q]! >= bottom) y1 = Math.min(y1, Math.max(y0, Math.ceil(maxTop[q]!) + 4));
      const rows = y1 - y0;
      const size = rows * sw * 3;
      if (rows <= 0 || size > budget) continue;
      budget -= size;
      const s = new Float32Array(size);
      for (let y = y0; y < y1; y++) {
        const ro = (y - y0) * sw;
        for (let j = 0; j < sw; j++) {
          if (y < Math.floor(ridge[j]!)) continue;
          this.shadeLayerAt(k, j, (j * step - W / 2) / H, y, ridge, hill, 0, sw);
          const i = (ro + j) * 3;
          s[i] = this.r;
          s[i + 1] = this.g;
          s[i + 2] = this.b;
        }
      }
      for (let j = 0; j < sw; j++) {
        const first = Math.max(y0, Math.floor(ridge[j]!));
        if (first <= y0 || first >= y1) continue;
        const src = ((first - y0) * sw + j) * 3;
        for (let y = y0; y < first; y++) {
          const i = ((y - y0) * sw + j) * 3;
          s[i] = s[src]!;
          s[i + 1] = s[src + 1]!;
          s[i + 2] = s[src + 2]!;
        }
      }
      this.strips[k] = s;
      this.stripY0[k] = y0;
      this.stripY1[k] = y1;
    }
  }

  // ------------------------------------------------------------------ frame

  /** Render frame at time `t` seconds into `out` (RGBA, W×H). */
  render(out: Uint8Array, t: number) {
    const W = this.W;
    const H = this.H;
    const spec = this.spec;
    this.t = t;
    this.cam = t * 0.035;
    this.cloudDrift = t * 0.012;
    // the sun stays put in videos so the static sky can be cached; clouds, waves, camera and particles move
    this.sunX = this.sunX0;
    this.sunY = this.sunY0 + (this.video ? 0 : this.sunVy * t);
    if (this.video && this.skyCache === null) this.buildSkyCache();
    this.cRow = -1;
    if (this.videoEnd >= 0 && !this.stripsTried) this.buildStrips();
    this.computeRidges();
    const nL = this.layers.length;
    const ridge = this.ridge;
    const bottoms = this.bottoms;
    const hy = this.hy;
    const water = this.water;
    const fire = spec.fire;
    const flameTop = H * 0.62;
    const ts = this.detailTex.size;
    const grain = this.grain;
    const vigX = this.vigX;
    const vigY = this.vigY;
    const above = this.above;
    // flame sampling constants
    const tm = this.detailTex.mask;
    const cd = this.cloudTex.data;
    const dd = this.detailTex.data;
    const fKW = (ts * 0.6) / H,
      fOW = (-W / 2) * fKW + 90 + ts * 64;
    const fKN = (ts * 1.3) / H,
      fON = (-W / 2) * fKN + ts * 64;
    let fWTy = 0,
      fWY0 = 0,
      fWY1 = 0,
      fNTy = 0,
      fNY0 = 0,
      fNY1 = 0;
    // Fast paths, inlined below (same maths as shadeSky / shadeWater, which stay in use for the rare
    // anti-aliased pixels): sky pixels of videos (static sky cache + moving clouds) and open water.
    const cache = this.skyCache;
    const cloudTex = this.cloudTex;
    const cm = cloudTex.mask;
    const cloudZ = this.cloudZ;
    const cloudFade = this.cloudFade;
    const hasClouds = this.hasClouds;
    const cloudTh = this.cloudTh;
    const pc = this.pc;
    const cSh0 = pc[P_CSH]!,
      cSh1 = pc[P_CSH + 1]!,
      cSh2 = pc[P_CSH + 2]!;
    const cLi0 = pc[P_CLIT]!,
      cLi1 = pc[P_CLIT + 1]!,
      cLi2 = pc[P_CLIT + 2]!;
    const cGl0 = pc[P_GLOW]!,
      cGl1 = pc[P_GLOW + 1]!,
      cGl2 = pc[P_GLOW + 2]!;
    const pal = this.pal;
    const wc0 = pal.water[0],
      wc1 = pal.water[1],
      wc2 = pal.water[2];
    const sun0 = pal.sun[0],
      sun1 = pal.sun[1],
      sun2 = pal.sun[2];
    const gl0 = pal.glow[0],
      gl1 = pal.glow[1],
      gl2 = pal.glow[2];
    const sunX = this.sunX;
    const hasGrain = !this.video;
    const o32 = (out.byteOffset & 3) === 0 ? new Int32Array(out.buffer, out.byteOffset, W * H) : null;
    // videos blend the flame texture rows once per image row (stills keep the per-pixel bilinear samples)
    const flameRows = fire && this.video && cloudTex.size === ts;
    const flW = this.flameRowW,
      flN = this.flameRowN;
    let flMaxN = 0,
      flOn = false;
    let layerTop = Infinity,
      layerBottom = -Infinity;
    for (let i = 0; i < nL * W; i++) if (ridge[i]! < layerTop) layerTop = ridge[i]!;
    for (let k = 0; k < nL; k++) if (bottoms[k]! > layerBottom) layerBottom = bottoms[k]!;
    // video strips: per layer, this frame's lowest ridge point (rows below it are covered by that layer)
    // and, per row, the index of column 0 in the strip (-1: not in the strip, shade directly)
    const useStrips = this.stripsBuilt;
    const stripArr = this.strips;
    const stripOn = this.stripOn;
    const stripF = this.stripF;
    const stripStep = this.stripStepX3;
    const stripBase = this.stripBase;
    const ridgeLow = this.ridgeLow;
    if (useStrips) {
      for (let k = 0; k < nL; k++) {
        let lo = -Infinity;
        for (let i = k * W, e = i + W; i < e; i++) if (ridge[i]! > lo) lo = ridge[i]!;
        ridgeLow[k] = lo;
        stripStep[k] = this.stripOs[k]! * 3;
      }
    }
    for (let y = 0; y < H; y++) {
      const vy = vigY[y]!;
      let rowCovered = false;
      if (useStrips) {
        for (let k = 0; k < nL; k++) {
          if (y >= ridgeLow[k]! && y < bottoms[k]!) rowCovered = true;
          const y0 = this.stripY0[k]!;
          stripBase[k] = stripOn[k] === 1 && y >= y0 && y < this.stripY1[k]! ? ((y - y0) * this.stripW[k]! + this.stripSi[k]!) * 3 : -1;
        }
      }
      const fy = fire && y > flameTop ? (y - flameTop) / (H - flameTop) : -1;
      if (fy >= 0) {
        const vw = (y / H) * ts * 0.6 + t * ts * 0.25 + ts * 64;
        const vn = (y / H) * ts * 0.55 + t * ts * 0.55 + ts * 64;
        const fw = vw | 0,
          fn = vn | 0;
        fWTy = vw - fw;
        fWY0 = (fw & tm) * ts;
        fWY1 = ((fw + 1) & tm) * ts;
        fNTy = vn - fn;
        fNY0 = (fn & tm) * ts;
        fNY1 = ((fn + 1) & tm) * ts;
        if (flameRows) {
          // video: both texture row pairs blended once per image row (see waterRowFast)
          let mw = -Infinity,
            mn = -Infinity;
          for (let i = 0; i < ts; i++) {
            const w = (flW[i] = cd[fWY0 + i]! + (cd[fWY1 + i]! - cd[fWY0 + i]!) * fWTy);
            const nn = (flN[i] = dd[fNY0 + i]! + (dd[fNY1 + i]! - dd[fNY0 + i]!) * fNTy);
            if (w > mw) mw = w;
            if (nn > mn) mn = nn;
          }
          flW[ts] = flW[0]!;
          flN[ts] = flN[0]!;
          // upper bound of F on this row (a lerp never exceeds its ends): no flame pixel if ≤ 0
          flMaxN = mn * 1.25 + fy * 0.75 - 0.9;
          flOn = flMaxN + (mw - 0.5) * 0.4 > 0;
        }
      }
      const storeAbove = above !== null && y + 1 <= hy;
      const waterRow = water && y + 1 > hy;
      // open water of this row (no horizon anti-aliasing needed) → inline path
      const waterFast = waterRow && y - hy >= 0 && above !== null && Math.floor(hy) - 1 >= 0;
      let wUS = 0,
        wUO = 0,
        wY0 = 0,
        wY1 = 0,
        wTy = 0,
        wY20 = 0,
        wY21 = 0,
        wTy2 = 0,
        wRy = 0,
        wDist = 0,
        wD = 0,
        wFres = 0,
        wRel = 0,
        wSpreadInv = 0,
        wGlitter = 0,
        wMaxRow = 0;
      if (waterRow) {
        this.prepWaterRow(y);
        wUS = this.wUS;
        wUO = this.wUO;
        wY0 = this.wY0;
        wY1 = this.wY1;
        wTy = this.wTy;
        wY20 = this.wY20;
        wY21 = this.wY21;
        wTy2 = this.wTy2;
        wRy = this.wRy;
        wDist = this.wDist;
        wD = this.wD;
        wFres = this.wFres;
        wRel = this.wRel;
        wSpreadInv = this.wSpreadInv;
        wGlitter = this.wGlitter;
        wMaxRow = this.wMaxRow;
      }
      // sky of this row from the video cache, clouds sampled with per-row constants
      const skyFast = cache !== null && !waterRow;
      const cloudRow = skyFast && hasClouds && y < hy && cloudZ[y]! > 0;
      let cUS = 0,
        cUO = 0,
        cY0 = 0,
        cY1 = 0,
        cTy = 0,
        cFade = 0;
      if (cloudRow) {
        this.prepCloudRow(y, cloudZ[y]!);
        cUS = this.cUS;
        cUO = this.cUO;
        cY0 = this.cY0;
        cY1 = this.cY1;
        cTy = this.cTy;
        cFade = cloudFade[y]!;
      }
      const rowW = y * W;
      // can any layer reach this row? (above every ridge / below every layer: no per-pixel search)
      const kTop = y + 1 > layerTop && y < layerBottom ? nL - 1 : -1;
      // Rows of open water or of cached video sky go through tight specialised loops (same maths as
      // below); where layers cross such a row, only their pixels are redone by the general loop.
      const prefilled = fy < 0 && o32 !== null && (waterFast || skyFast) && !rowCovered;
      if (prefilled) {
        if (waterFast) this.waterRowFast(o32, y, vy, hasGrain);
        else this.skyRowFast(o32, y, vy, hasGrain, storeAbove, cloudRow);
        if (kTop < 0) continue;
      }
      for (let x = 0; x < W; x++) {
        // front-most layer covering this pixel (with 1px anti-aliasing on the ridge)
        let k = kTop;
        let cov = 0;
        for (; k >= 0; k--) {
          const rr = ridge[k * W + x]!;
          if (y + 1 > rr && y < bottoms[k]!) {
            cov = y >= rr ? 1 : y + 1 - rr;
            break;
          }
        }
        if (k < 0 && prefilled) continue;
        let r: number, g: number, b: number;
        if (k >= 0) {
          const sb = useStrips ? stripBase[k]! : -1;
          if (sb >= 0) {
            // == shadeLayer(k, x, y) from the strip
            const sa = stripArr[k]!;
            const i = sb + x * stripStep[k]!;
            const f = stripF[k]!;
            r = sa[i]! + (sa[i + 3]! - sa[i]!) * f;
            g = sa[i + 1]! + (sa[i + 4]! - sa[i + 1]!) * f;
            b = sa[i + 2]! + (sa[i + 5]! - sa[i + 2]!) * f;
          } else {
            this.shadeLayer(k, x, y);
            r = this.r;
            g = this.g;
            b = this.b;
          }
          if (cov < 1) {
            if (k > 0) this.shadeAbove(x, y, k - 1, true);
            else if (waterRow) this.shadeWater(x);
            else this.shadeSky(x, y, true);
            r = this.r + (r - this.r) * cov;
            g = this.g + (g - this.g) * cov;
            b = this.b + (b - this.b) * cov;
          }
        } else if (waterFast) {
          // == shadeWater(x): two bilinear samples of the wave texture
          const u = x * wUS + wUO;
          let fu = u | 0;
          let tx = u - fu;
          let x0 = fu & tm,
            x1 = (fu + 1) & tm;
          let ta = dd[wY0 + x0]! + (dd[wY0 + x1]! - dd[wY0 + x0]!) * tx;
          let tb = dd[wY1 + x0]! + (dd[wY1 + x1]! - dd[wY1 + x0]!) * tx;
          const w1 = ta + (tb - ta) * wTy;
          const u2 = u * 2.1 + 37;
          fu = u2 | 0;
          tx = u2 - fu;
          x0 = fu & tm;
          x1 = (fu + 1) & tm;
          ta = dd[wY20 + x0]! + (dd[wY20 + x1]! - dd[wY20 + x0]!) * tx;
          tb = dd[wY21 + x0]! + (dd[wY21 + x1]! - dd[wY21 + x0]!) * tx;
          const w2 = ta + (tb - ta) * wTy2;
          const wave = w1 * 0.6 + w2 * 0.4 - 0.5;
          // mirrored scene (rows above the horizon, already rendered), distorted by the waves
          let ry = wRy - wave * wDist;
          let rx = x + wave * 0.02 * W * wD;
          if (ry > wMaxRow) ry = wMaxRow;
          if (ry < 0) ry = 0;
          if (rx < 0) rx = 0;
          if (rx > W - 1) rx = W - 1;
          const rx0 = rx | 0,
            ry0 = ry | 0;
          const rx1 = rx0 < W - 1 ? rx0 + 1 : rx0;
          const ry1 = ry0 < wMaxRow ? ry0 + 1 : ry0;
          const fx = rx - rx0,
            fyy = ry - ry0;
          const i00 = (ry0 * W + rx0) * 3,
            i10 = (ry0 * W + rx1) * 3,
            i01 = (ry1 * W + rx0) * 3,
            i11 = (ry1 * W + rx1) * 3;
          let t0 = above![i00]! + (above![i10]! - above![i00]!) * fx;
          let t1 = above![i01]! + (above![i11]! - above![i01]!) * fx;
          r = t0 + (t1 - t0) * fyy;
          t0 = above![i00 + 1]! + (above![i10 + 1]! - above![i00 + 1]!) * fx;
          t1 = above![i01 + 1]! + (above![i11 + 1]! - above![i01 + 1]!) * fx;
          g = t0 + (t1 - t0) * fyy;
          t0 = above![i00 + 2]! + (above![i10 + 2]! - above![i00 + 2]!) * fx;
          t1 = above![i01 + 2]! + (above![i11 + 2]! - above![i01 + 2]!) * fx;
          b = t0 + (t1 - t0) * fyy;
          r = r * 0.9 + (wc0 - r * 0.9) * wFres;
          g = g * 0.9 + (wc1 - g * 0.9) * wFres;
          b = b * 0.9 + (wc2 - b * 0.9) * wFres;
          // wave relief
          const rel = wave * wRel;
          r += rel * (0.6 + r);
          g += rel * (0.6 + g);
          b += rel * (0.6 + b);
          // glitter path under the sun / moon
          if (wGlitter > 0) {
            const dx = (x - sunX) * wSpreadInv;
            const gl = wGlitter / (1 + dx * dx * 2);
            if (gl > 0.01) {
              let sp = (w1 * 0.5 + w2 * 0.5 + 0.1 * (1 - wD) - 0.52) * (1 / 0.28);
              sp = sp < 0 ? 0 : sp > 1 ? 1 : sp * sp * (3 - 2 * sp);
              const kk = gl * (0.25 + 1.3 * sp);
              r += sun0 * kk * 0.8 + gl0 * gl * 0.2;
              g += sun1 * kk * 0.8 + gl1 * gl * 0.2;
              b += sun2 * kk * 0.8 + gl2 * gl * 0.2;
            }
          }
        } else if (waterRow) {
          this.shadeWater(x);
          r = this.r;
          g = this.g;
          b = this.b;
          const f = y + 1 - hy;
          if (f < 1) {
            // anti-alias the horizon line
            this.shadeSky(x, y, true);
            r = this.r + (r - this.r) * f;
            g = this.g + (g - this.g) * f;
            b = this.b + (b - this.b) * f;
          }
        } else if (skyFast) {
          // == shadeSky(x, y, true) with the video sky cache
          const ci = (rowW + x) * 4;
          r = cache![ci]!;
          g = cache![ci + 1]!;
          b = cache![ci + 2]!;
          if (cloudRow) {
            const u = x * cUS + cUO;
            const fu = u | 0;
            const tx = u - fu;
            const x0 = fu & cm,
              x1 = (fu + 1) & cm;
            const ca = cd[cY0 + x0]! + (cd[cY0 + x1]! - cd[cY0 + x0]!) * tx;
            const cb2 = cd[cY1 + x0]! + (cd[cY1 + x1]! - cd[cY1 + x0]!) * tx;
            const c = ca + (cb2 - ca) * cTy;
            let dens = (c - (cloudTh - 0.08)) * (1 / 0.3);
            if (dens > 0) {
              if (dens > 1) dens = 1;
              dens = dens * dens * (3 - 2 * dens) * cFade;
              if (dens > 0.003) {
                const glow = cache![ci + 3]!;
                const c2 = c - 0.04;
                let lit = 0.55 + (c - c2) * 5 - (c - cloudTh) * 0.6;
                lit = lit < 0 ? 0 : lit > 1 ? 1 : lit;
                const gl = glow * 1.5 < 1 ? glow * 1.5 : 1;
                const cr = cSh0 + (cLi0 - cSh0) * lit + cGl0 * gl * 0.5;
                const cg = cSh1 + (cLi1 - cSh1) * lit + cGl1 * gl * 0.5;
                const cbb = cSh2 + (cLi2 - cSh2) * lit + cGl2 * gl * 0.5;
                dens *= 0.92 - 0.5 * (glow < 1 ? glow : 1);
                r = r + (cr - r) * dens;
                g = g + (cg - g) * dens;
                b = b + (cbb - b) * dens;
              }
            }
          }
        } else {
          this.shadeSky(x, y, true);
          r = this.r;
          g = this.g;
          b = this.b;
        }
        if (storeAbove) {
          const ai = (rowW + x) * 3;
          above![ai] = r;
          above![ai + 1] = g;
          above![ai + 2] = b;
        }
        if (fy >= 0 && flameRows) {
          // == the flames below, from the pre-blended texture rows; skipped where even the row's
          // largest noise value could not make F positive
          if (flOn) {
            const uw = x * fKW + fOW;
            let fu = uw | 0;
            let x0 = fu & tm;
            const warp = flW[x0]! + (flW[x0 + 1]! - flW[x0]!) * (uw - fu);
            if (flMaxN + (warp - 0.5) * 0.4 > 0) {
              const un = x * fKN + fON + warp * 40;
              fu = un | 0;
              x0 = fu & tm;
              const n = flN[x0]! + (flN[x0 + 1]! - flN[x0]!) * (un - fu);
              const F = n * 1.25 + fy * 0.75 - 0.9 + (warp - 0.5) * 0.4;
              if (F > 0) {
                let li = (F * 357) | 0;
                if (li > 255) li = 255;
                li *= 3;
                const a = F * 3.5 < 1 ? F * 3.5 : 1;
                r = r * (1 - a) + FIRE_LUT[li]! * a * 1.25;
                g = g * (1 - a) + FIRE_LUT[li + 1]! * a;
                b = b * (1 - a) + FIRE_LUT[li + 2]! * a;
              }
            }
          }
        } else if (fy >= 0) {
          // flames: domain-warped noise, both textures sampled with per-row constants
          const uw = x * fKW + fOW;
          let fu = uw | 0;
          let tx = uw - fu;
          let x0 = fu & tm,
            x1 = (fu + 1) & tm;
          let ta = cd[fWY0 + x0]! + (cd[fWY0 + x1]! - cd[fWY0 + x0]!) * tx;
          let tb = cd[fWY1 + x0]! + (cd[fWY1 + x1]! - cd[fWY1 + x0]!) * tx;
          const warp = ta + (tb - ta) * fWTy;
          const un = x * fKN + fON + warp * 40;
          fu = un | 0;
          tx = un - fu;
          x0 = fu & tm;
          x1 = (fu + 1) & tm;
          ta = dd[fNY0 + x0]! + (dd[fNY0 + x1]! - dd[fNY0 + x0]!) * tx;
          tb = dd[fNY1 + x0]! + (dd[fNY1 + x1]! - dd[fNY1 + x0]!) * tx;
          const n = ta + (tb - ta) * fNTy;
          const F = n * 1.25 + fy * 0.75 - 0.9 + (warp - 0.5) * 0.4;
          if (F > 0) {
            let li = (F * 357) | 0;
            if (li > 255) li = 255;
            li *= 3;
            const a = F * 3.5 < 1 ? F * 3.5 : 1;
            r = r * (1 - a) + FIRE_LUT[li]! * a * 1.25;
            g = g * (1 - a) + FIRE_LUT[li + 1]! * a;
            b = b * (1 - a) + FIRE_LUT[li + 2]! * a;
          }
        }
        const v = vy * vigX[x]! * 255;
        const gi = rowW + x;
        const gr = hasGrain ? grain[gi]! : 0;
        let R = r * v + gr,
          G = g * v + gr,
          B = b * v + gr;
        R = R < 0 ? 0 : R > 255 ? 255 : R;
        G = G < 0 ? 0 : G > 255 ? 255 : G;
        B = B < 0 ? 0 : B > 255 ? 255 : B;
        if (o32 !== null) {
          // one little-endian word per pixel: R | G<<8 | B<<16 | 255<<24
          o32[gi] = ((R + 0.5) | 0) | (((G + 0.5) | 0) << 8) | (((B + 0.5) | 0) << 16) | -16777216;
        } else {
          const o = gi * 4;
          out[o] = R + 0.5;
          out[o + 1] = G + 0.5;
          out[o + 2] = B + 0.5;
          out[o + 3] = 255;
        }
      }
    }
    this.drawParticles(out, t);
  }

  /** One row of open water (after prepWaterRow(y)), composited into o32. Same maths as render(). */
  private waterRowFast(o32: Int32Array, y: number, vy: number, hasGrain: boolean) {
    const W = this.W;
    const dd = this.detailTex.data;
    const tm = this.detailTex.mask;
    const above = this.above!;
    const vigX = this.vigX;
    const grain = this.grain;
    const wUS = this.wUS,
      wUO = this.wUO,
      wY0 = this.wY0,
      wY1 = this.wY1,
      wTy = this.wTy,
      wY20 = this.wY20,
      wY21 = this.wY21,
      wTy2 = this.wTy2,
      wRy = this.wRy,
      wDist = this.wDist,
      wD = this.wD,
      wFres = this.wFres,
      wRel = this.wRel,
      wSpreadInv = this.wSpreadInv,
      wGlitter = this.wGlitter,
      wMaxRow = this.wMaxRow;
    const pal = this.pal;
    const wc0 = pal.water[0],
      wc1 = pal.water[1],
      wc2 = pal.water[2];
    const sun0 = pal.sun[0],
      sun1 = pal.sun[1],
      sun2 = pal.sun[2];
    const gl0 = pal.glow[0],
      gl1 = pal.glow[1],
      gl2 = pal.glow[2];
    const sunX = this.sunX;
    const rowW = y * W;
    // glitter only where wGlitter / (1 + 2·dx²) > 0.01: that x range (+1 px of slack) skips the division elsewhere
    let gx0 = 1,
      gx1 = 0;
    if (wGlitter > 0.01) {
      const half = Math.sqrt((wGlitter / 0.01 - 1) / 2) / wSpreadInv + 1;
      gx0 = sunX - half;
      gx1 = sunX + half;
    }
    // the two wave samples are bilinear at a fixed texture row pair: blend those rows once per image
    // row, leaving one linear interpolation per pixel
    const ts = tm + 1;
    const rowA = this.texRowA,
      rowB = this.texRowB;
    for (let i = 0; i < ts; i++) {
      rowA[i] = dd[wY0 + i]! + (dd[wY1 + i]! - dd[wY0 + i]!) * wTy;
      rowB[i] = dd[wY20 + i]! + (dd[wY21 + i]! - dd[wY20 + i]!) * wTy2;
    }
    rowA[ts] = rowA[0]!;
    rowB[ts] = rowB[0]!;
    for (let x = 0; x < W; x++) {
      const u = x * wUS + wUO;
      let fu = u | 0;
      let x0 = fu & tm;
      const w1 = rowA[x0]! + (rowA[x0 + 1]! - rowA[x0]!) * (u - fu);
      const u2 = u * 2.1 + 37;
      fu = u2 | 0;
      x0 = fu & tm;
      const w2 = rowB[x0]! + (rowB[x0 + 1]! - rowB[x0]!) * (u2 - fu);
      const wave = w1 * 0.6 + w2 * 0.4 - 0.5;
      let ry = wRy - wave * wDist;
      let rx = x + wave * 0.02 * W * wD;
      if (ry > wMaxRow) ry = wMaxRow;
      if (ry < 0) ry = 0;
      if (rx < 0) rx = 0;
      if (rx > W - 1) rx = W - 1;
      const rx0 = rx | 0,
        ry0 = ry | 0;
      const rx1 = rx0 < W - 1 ? rx0 + 1 : rx0;
      const ry1 = ry0 < wMaxRow ? ry0 + 1 : ry0;
      const fx = rx - rx0,
        fyy = ry - ry0;
      const i00 = (ry0 * W + rx0) * 3,
        i10 = (ry0 * W + rx1) * 3,
        i01 = (ry1 * W + rx0) * 3,
        i11 = (ry1 * W + rx1) * 3;
      let t0 = above[i00]! + (above[i10]! - above[i00]!) * fx;
      let t1 = above[i01]! + (above[i11]! - above[i01]!) * fx;
      let r = t0 + (t1 - t0) * fyy;
      t0 = above[i00 + 1]! + (above[i10 + 1]! - above[i00 + 1]!) * fx;
      t1 = above[i01 + 1]! + (above[i11 + 1]! - above[i01 + 1]!) * fx;
      let g = t0 + (t1 - t0) * fyy;
      t0 = above[i00 + 2]! + (above[i10 + 2]! - above[i00 + 2]!) * fx;
      t1 = above[i01 + 2]! + (above[i11 + 2]! - above[i01 + 2]!) * fx;
      let b = t0 + (t1 - t0) * fyy;
      r = r * 0.9 + (wc0 - r * 0.9) * wFres;
      g = g * 0.9 + (wc1 - g * 0.9) * wFres;
      b = b * 0.9 + (wc2 - b * 0.9) * wFres;
      const rel = wave * wRel;
      r += rel * (0.6 + r);
      g += rel * (0.6 + g);
      b += rel * (0.6 + b);
      if (x >= gx0 && x <= gx1) {
        const dx = (x - sunX) * wSpreadInv;
        const gl = wGlitter / (1 + dx * dx * 2);
        if (gl > 0.01) {
          let sp = (w1 * 0.5 + w2 * 0.5 + 0.1 * (1 - wD) - 0.52) * (1 / 0.28);
          sp = sp < 0 ? 0 : sp > 1 ? 1 : sp * sp * (3 - 2 * sp);
          const kk = gl * (0.25 + 1.3 * sp);
          r += sun0 * kk * 0.8 + gl0 * gl * 0.2;
          g += sun1 * kk * 0.8 + gl1 * gl * 0.2;
          b += sun2 * kk * 0.8 + gl2 * gl * 0.2;
        }
      }
      const v = vy * vigX[x]! * 255;
      const gi = rowW + x;
      const gr = hasGrain ? grain[gi]! : 0;
      let R = r * v + gr,
        G = g * v + gr,
        B = b * v + gr;
      R = R < 0 ? 0 : R > 255 ? 255 : R;
      G = G < 0 ? 0 : G > 255 ? 255 : G;
      B = B < 0 ? 0 : B > 255 ? 255 : B;
      o32[gi] = ((R + 0.5) | 0) | (((G + 0.5) | 0) << 8) | (((B + 0.5) | 0) << 16) | -16777216;
    }
  }

  /**
   * Video: the cached sky as final pixels (vignette, grain, rounding: the same expressions as skyRowFast), so that
   * pixels no cloud touches in a frame are copied instead of recomputed.
   */
  private buildSkyPacked(): Int32Array {
    const W = this.W,
      H = this.H;
    const cache = this.skyCache!;
    const out = new Int32Array(W * H);
    for (let y = 0; y < H; y++) {
      const vy = this.vigY[y]!;
      for (let x = 0; x < W; x++) {
        const gi = y * W + x;
        const ci = gi * 4;
        const v = vy * this.vigX[x]! * 255;
        const gr = this.video ? 0 : this.grain[gi]!;
        let R = cache[ci]! * v + gr,
          G = cache[ci + 1]! * v + gr,
          B = cache[ci + 2]! * v + gr;
        R = R < 0 ? 0 : R > 255 ? 255 : R;
        G = G < 0 ? 0 : G > 255 ? 255 : G;
        B = B < 0 ? 0 : B > 255 ? 255 : B;
        out[gi] = ((R + 0.5) | 0) | (((G + 0.5) | 0) << 8) | (((B + 0.5) | 0) << 16) | -16777216;
      }
    }
    this.skyPacked = out;
    return out;
  }

  /** One row of cached video sky (+ clouds, after prepCloudRow(y) if cloudRow), composited into o32. */
  private skyRowFast(o32: Int32Array, y: number, vy: number, hasGrain: boolean, storeAbove: boolean, cloudRow: boolean) {
    const W = this.W;
    const packed = this.skyPacked ?? this.buildSkyPacked();
    const cache = this.skyCache!;
    const above = this.above;
    const vigX = this.vigX;
    const grain = this.grain;
    const cd = this.cloudTex.data;
    const cm = this.cloudTex.mask;
    const cloudTh = this.cloudTh;
    const pc = this.pc;
    const cSh0 = pc[P_CSH]!,
      cSh1 = pc[P_CSH + 1]!,
      cSh2 = pc[P_CSH + 2]!;
    const cLi0 = pc[P_CLIT]!,
      cLi1 = pc[P_CLIT + 1]!,
      cLi2 = pc[P_CLIT + 2]!;
    const cGl0 = pc[P_GLOW]!,
      cGl1 = pc[P_GLOW + 1]!,
      cGl2 = pc[P_GLOW + 2]!;
    const cUS = this.cUS,
      cUO = this.cUO,
      cY0 = this.cY0,
      cY1 = this.cY1,
      cTy = this.cTy,
      cFade = this.cloudFade[y]!;
    const th0 = cloudTh - 0.08;
    const rowW = y * W;
    // cloud texture rows blended once per image row (see waterRowFast)
    const rowA = this.texRowA;
    if (cloudRow) {
      const ts = cm + 1;
      for (let i = 0; i < ts; i++) rowA[i] = cd[cY0 + i]! + (cd[cY1 + i]! - cd[cY0 + i]!) * cTy;
      rowA[ts] = rowA[0]!;
    }
    if (!cloudRow && !storeAbove) {
      o32.set(packed.subarray(rowW, rowW + W), rowW);
      return;
    }
    for (let x = 0; x < W; x++) {
      const ci = (rowW + x) * 4;
      let r = cache[ci]!;
      let g = cache[ci + 1]!;
      let b = cache[ci + 2]!;
      let clear = true; // no cloud changes this pixel: it is the cached sky's
      if (cloudRow) {
        const u = x * cUS + cUO;
        const fu = u | 0;
        const x0 = fu & cm;
        const c = rowA[x0]! + (rowA[x0 + 1]! - rowA[x0]!) * (u - fu);
        let dens = (c - th0) * (1 / 0.3);
        if (dens > 0) {
          if (dens > 1) dens = 1;
          dens = dens * dens * (3 - 2 * dens) * cFade;
          if (dens > 0.003) {
            clear = false;
            const glow = cache[ci + 3]!;
            const c2 = c - 0.04;
            let lit = 0.55 + (c - c2) * 5 - (c - cloudTh) * 0.6;
            lit = lit < 0 ? 0 : lit > 1 ? 1 : lit;
            const gl = glow * 1.5 < 1 ? glow * 1.5 : 1;
            const cr = cSh0 + (cLi0 - cSh0) * lit + cGl0 * gl * 0.5;
            const cg = cSh1 + (cLi1 - cSh1) * lit + cGl1 * gl * 0.5;
            const cbb = cSh2 + (cLi2 - cSh2) * lit + cGl2 * gl * 0.5;
            dens *= 0.92 - 0.5 * (glow < 1 ? glow : 1);
            r = r + (cr - r) * dens;
            g = g + (cg - g) * dens;
            b = b + (cbb - b) * dens;
          }
        }
      }
      const gi = rowW + x;
      if (storeAbove) {
        const ai = gi * 3;
        above![ai] = r;
        above![ai + 1] = g;
        above![ai + 2] = b;
      }
      if (clear) {
        o32[gi] = packed[gi]!;
        continue;
      }
      const v = vy * vigX[x]! * 255;
      const gr = hasGrain ? grain[gi]! : 0;
      let R = r * v + gr,
        G = g * v + gr,
        B = b * v + gr;
      R = R < 0 ? 0 : R > 255 ? 255 : R;
      G = G < 0 ? 0 : G > 255 ? 255 : G;
      B = B < 0 ? 0 : B > 255 ? 255 : B;
      o32[gi] = ((R + 0.5) | 0) | (((G + 0.5) | 0) << 8) | (((B + 0.5) | 0) << 16) | -16777216;
    }
  }

  private drawParticles(out: Uint8Array, t: number) {
    if (!this.particleKind) return;
    const W = this.W,
      H = this.H;
    const scale = Math.min(W, H) / 1024;
    const kind = this.particleKind;
    const isEmber = kind === 'ember';
    const col: RGB = kind === 'snow' ? [1, 1, 1] : kind === 'ember' ? [1, 0.6, 0.15] : [0.75, 0.8, 0.88];
    for (const p of this.particles) {
      let px = p.x + p.vx * t + (kind === 'snow' ? 0.01 * Math.sin(t * 1.5 + p.phase) : 0);
      let py = p.y + p.vy * t;
      px -= Math.floor(px);
      py -= Math.floor(py);
      const cx = px * W,
        cy = py * H;
      const a0 = p.a * (kind === 'ember' ? 0.6 + 0.4 * Math.sin(t * 6 + p.phase) : 1);
      if (kind === 'rain') {
        const len = 0.035 * H * p.vy;
        const steps = Math.max(2, Math.ceil(len));
        for (let i = 0; i < steps; i++) {
          const yy = Math.round(cy + (i / steps) * len);
          const xx = Math.round(cx - (i / steps) * len * 0.08);
          if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
          const o = (yy * W + xx) * 4;
          out[o] = out[o]! + (col[0] * 255 - out[o]!) * a0;
          out[o + 1] = out[o + 1]! + (col[1] * 255 - out[o + 1]!) * a0;
          out[o + 2] = out[o + 2]! + (col[2] * 255 - out[o + 2]!) * a0;
        }
        continue;
      }
      const R = Math.max(0.5, p.r * scale * 1.5);
      const ext = Math.ceil(R + (kind === 'ember' ? R * 2 : 1));
      const Rc2 = (R + 0.5) * (R + 0.5);
      for (let dy = -ext; dy <= ext; dy++) {
        const yy = Math.round(cy) + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -ext; dx <= ext; dx++) {
          const xx = Math.round(cx) + dx;
          if (xx < 0 || xx >= W) continue;
          const d2 = (xx - cx) * (xx - cx) + (yy - cy) * (yy - cy);
          if (!isEmber && d2 >= Rc2) continue; // outside the disc: a would be 0 (same result, no sqrt)
          const d = Math.sqrt(d2);
          let a = clamp01(R + 0.5 - d) * a0;
          if (kind === 'ember') a = Math.min(1, a + (a0 * 0.35) / (1 + (d * d) / (R * R)));
          if (a <= 0.004) continue;
          const o = (yy * W + xx) * 4;
          out[o] = out[o]! + (col[0] * 255 - out[o]!) * a;
          out[o + 1] = out[o + 1]! + (col[1] * 255 - out[o + 1]!) * a;
          out[o + 2] = out[o + 2]! + (col[2] * 255 - out[o + 2]!) * a;
        }
      }
    }
  }
}
