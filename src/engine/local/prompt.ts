// Prompt understanding for the procedural engine: keyword tables (English + Chinese)
// for scene themes, colours, i2i effects and i2v camera moves.

import type { RGB } from './util';
import { hex } from './util';

export type Theme =
  | 'sunset'
  | 'sunrise'
  | 'night'
  | 'day'
  | 'ocean'
  | 'forest'
  | 'snow'
  | 'fire'
  | 'mountain'
  | 'desert'
  | 'space'
  | 'city'
  | 'cloudy'
  | 'storm'
  | 'hills';

interface KW {
  en: string[]; // matched as whole words (optional plural "s"/"es")
  zh: string[]; // matched as substrings
}

const THEMES: Record<Theme, KW> = {
  sunset: { en: ['sunset', 'dusk', 'evening', 'twilight', 'golden hour'], zh: ['日落', '夕阳', '黄昏', '傍晚', '晚霞', '落日'] },
  sunrise: { en: ['sunrise', 'dawn', 'morning', 'daybreak'], zh: ['日出', '黎明', '清晨', '朝霞', '早晨'] },
  night: { en: ['night', 'moon', 'moonlight', 'midnight', 'starry', 'stars', 'star', 'nocturnal'], zh: ['夜', '月', '星空', '星星', '午夜'] },
  day: { en: ['day', 'daytime', 'noon', 'sunny', 'sunshine'], zh: ['白天', '中午', '晴', '阳光'] },
  ocean: { en: ['ocean', 'sea', 'seascape', 'beach', 'wave', 'lake', 'water', 'river', 'coast', 'bay', 'shore'], zh: ['海', '洋', '湖', '水', '河', '浪', '江'] },
  forest: { en: ['forest', 'tree', 'woods', 'woodland', 'jungle', 'pine', 'grove', 'taiga'], zh: ['森林', '树', '林'] },
  snow: { en: ['snow', 'snowy', 'winter', 'ice', 'icy', 'frozen', 'blizzard', 'frost'], zh: ['雪', '冬', '冰'] },
  fire: { en: ['fire', 'flame', 'volcano', 'lava', 'burning', 'inferno', 'blaze', 'ember'], zh: ['火', '焰', '熔岩', '燃烧'] },
  mountain: { en: ['mountain', 'peak', 'alps', 'cliff', 'summit', 'range', 'himalaya'], zh: ['山', '峰', '岭'] },
  desert: { en: ['desert', 'dune', 'sand', 'sahara', 'arid'], zh: ['沙漠', '沙丘', '沙'] },
  space: { en: ['space', 'galaxy', 'nebula', 'cosmos', 'cosmic', 'universe', 'planet', 'outer space'], zh: ['宇宙', '星系', '星云', '太空', '银河', '星球'] },
  city: { en: ['city', 'town', 'skyline', 'building', 'urban', 'skyscraper', 'cyberpunk', 'downtown'], zh: ['城市', '城', '楼', '都市'] },
  cloudy: { en: ['cloud', 'cloudy', 'overcast', 'fog', 'foggy', 'mist', 'misty'], zh: ['云', '雾', '阴天'] },
  storm: { en: ['storm', 'stormy', 'rain', 'rainy', 'thunder', 'lightning'], zh: ['雨', '雷', '暴风'] },
  hills: { en: ['hill', 'meadow', 'field', 'valley', 'grassland', 'countryside', 'landscape', 'prairie'], zh: ['丘', '草原', '草地', '田野', '山谷', '风景'] },
};

export type ColorName =
  | 'red'
  | 'orange'
  | 'yellow'
  | 'gold'
  | 'green'
  | 'cyan'
  | 'blue'
  | 'purple'
  | 'pink'
  | 'white'
  | 'black'
  | 'gray'
  | 'brown';

const COLORS: Record<ColorName, KW & { rgb: RGB }> = {
  red: { en: ['red', 'crimson', 'scarlet', 'ruby'], zh: ['红', '赤'], rgb: hex(0xd8282a) },
  orange: { en: ['orange', 'amber'], zh: ['橙', '橘'], rgb: hex(0xf08a24) },
  yellow: { en: ['yellow', 'lemon'], zh: ['黄'], rgb: hex(0xf2d23a) },
  gold: { en: ['gold', 'golden'], zh: ['金'], rgb: hex(0xe0b040) },
  green: { en: ['green', 'emerald', 'lime', 'jade'], zh: ['绿', '翠'], rgb: hex(0x2fa84a) },
  cyan: { en: ['cyan', 'teal', 'turquoise', 'aqua'], zh: ['青', '碧'], rgb: hex(0x20b8c0) },
  blue: { en: ['blue', 'azure', 'navy', 'cobalt', 'sapphire'], zh: ['蓝'], rgb: hex(0x2a5ee0) },
  purple: { en: ['purple', 'violet', 'magenta', 'lavender', 'indigo'], zh: ['紫'], rgb: hex(0x8a3ad0) },
  pink: { en: ['pink', 'rose', 'fuchsia'], zh: ['粉'], rgb: hex(0xf07ab0) },
  white: { en: ['white', 'ivory', 'pale'], zh: ['白'], rgb: hex(0xf4f4f0) },
  black: { en: ['black', 'dark', 'shadow'], zh: ['黑', '暗'], rgb: hex(0x0a0a10) },
  gray: { en: ['gray', 'grey', 'silver'], zh: ['灰', '银'], rgb: hex(0x8a8e96) },
  brown: { en: ['brown', 'chocolate', 'bronze', 'rust'], zh: ['棕', '褐', '咖啡'], rgb: hex(0x7a4a2a) },
};

/** Chinese compounds whose characters would otherwise be mis-read as colours. */
const ZH_COLOR_STOP = ['黄昏', '白天', '黑夜', '金字塔', '青春', '红豆'];

export type EffectName =
  | 'oil'
  | 'sketch'
  | 'watercolor'
  | 'grayscale'
  | 'sepia'
  | 'blur'
  | 'sharpen'
  | 'invert'
  | 'pixelate'
  | 'cartoon'
  | 'emboss'
  | 'vignette'
  | 'posterize';

const EFFECTS: Record<EffectName, KW> = {
  oil: { en: ['oil painting', 'oil paint', 'oil', 'impasto', 'painterly', 'van gogh'], zh: ['油画', '油彩'] },
  sketch: { en: ['sketch', 'pencil', 'drawing', 'line art', 'charcoal'], zh: ['素描', '铅笔', '线稿', '速写'] },
  watercolor: { en: ['watercolor', 'watercolour', 'aquarelle', 'wash painting'], zh: ['水彩', '水墨'] },
  grayscale: { en: ['grayscale', 'greyscale', 'black and white', 'black & white', 'monochrome', 'b&w', 'noir', 'desaturate'], zh: ['黑白', '灰度', '单色'] },
  sepia: { en: ['sepia', 'vintage', 'retro', 'old photo', 'antique', 'nostalgic'], zh: ['复古', '怀旧', '老照片', '褐色调'] },
  blur: { en: ['blur', 'blurry', 'blurred', 'soft focus', 'defocus', 'bokeh'], zh: ['模糊', '虚化'] },
  sharpen: { en: ['sharpen', 'sharp', 'sharper', 'crisp', 'enhance detail'], zh: ['锐化', '清晰'] },
  invert: { en: ['invert', 'inverted', 'negative', 'inverse'], zh: ['反色', '负片', '反转'] },
  pixelate: { en: ['pixelate', 'pixelated', 'pixel art', 'pixel', '8-bit', '8bit', 'mosaic', 'retro game'], zh: ['像素', '马赛克'] },
  cartoon: { en: ['cartoon', 'anime', 'comic', 'cel shaded', 'manga', 'toon'], zh: ['卡通', '动漫', '漫画', '二次元'] },
  emboss: { en: ['emboss', 'embossed', 'relief'], zh: ['浮雕'] },
  vignette: { en: ['vignette', 'cinematic'], zh: ['暗角', '电影感'] },
  posterize: { en: ['posterize', 'posterise', 'pop art', 'poster'], zh: ['色调分离', '海报', '波普'] },
};

export type MotionName = 'zoom-in' | 'zoom-out' | 'pan-left' | 'pan-right' | 'pan-up' | 'pan-down' | 'fade' | 'rotate' | 'parallax';

const MOTIONS: Record<MotionName, KW> = {
  'zoom-out': { en: ['zoom out', 'zoom-out', 'zoomout', 'pull back', 'dolly out'], zh: ['缩小', '拉远', '拉出'] },
  'zoom-in': { en: ['zoom in', 'zoom-in', 'zoomin', 'zoom', 'push in', 'dolly in', 'ken burns'], zh: ['放大', '推近', '拉近', '推进'] },
  'pan-left': { en: ['pan left', 'to the left', 'leftward', 'move left'], zh: ['向左', '左移', '左平移'] },
  'pan-right': { en: ['pan right', 'pan', 'to the right', 'rightward', 'move right', 'slide', 'truck'], zh: ['向右', '右移', '平移'] },
  'pan-up': { en: ['pan up', 'tilt up', 'upward', 'rise'], zh: ['向上', '上移', '上升'] },
  'pan-down': { en: ['pan down', 'tilt down', 'downward', 'descend'], zh: ['向下', '下移', '下降'] },
  fade: { en: ['fade', 'fade in', 'dissolve', 'crossfade', 'transition'], zh: ['渐变', '淡入', '淡出', '过渡', '渐显'] },
  rotate: { en: ['rotate', 'rotation', 'spin', 'swirl', 'turn'], zh: ['旋转', '转动'] },
  parallax: { en: ['parallax', '3d', 'depth', 'dolly zoom'], zh: ['视差', '立体'] },
};

function escapeRe(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Position of the first match of any keyword, or -1. */
function findKW(textLower: string, kw: KW): number {
  let best = -1;
  for (const w of kw.en) {
    const re = new RegExp(`(^|[^a-z0-9])${escapeRe(w)}(e?s)?(?![a-z0-9])`, 'i');
    const m = re.exec(textLower);
    if (m) {
      const pos = m.index + m[1]!.length;
      if (best < 0 || pos < best) best = pos;
    }
  }
  for (const w of kw.zh) {
    const pos = textLower.indexOf(w);
    if (pos >= 0 && (best < 0 || pos < best)) best = pos;
  }
  return best;
}

export function normalizePrompt(s: string): string {
  return (s || '').toLowerCase().normalize('NFKC');
}

/** Compounds whose characters would otherwise be mis-read as scene themes (水彩 = watercolour, 海报 = poster). */
const ZH_THEME_STOP = ['水彩', '水墨', '海报', '火车', '月份', '星期'];

export function detectThemes(prompt: string): Set<Theme> {
  let t = normalizePrompt(prompt);
  for (const s of ZH_THEME_STOP) t = t.split(s).join(' ');
  const out = new Set<Theme>();
  for (const k of Object.keys(THEMES) as Theme[]) if (findKW(t, THEMES[k]) >= 0) out.add(k);
  return out;
}

/** Colours in order of appearance in the prompt. */
export function detectColors(prompt: string): { name: ColorName; rgb: RGB }[] {
  let t = normalizePrompt(prompt);
  for (const s of ZH_COLOR_STOP) t = t.split(s).join(' ');
  const hits: { name: ColorName; rgb: RGB; pos: number }[] = [];
  for (const k of Object.keys(COLORS) as ColorName[]) {
    const pos = findKW(t, COLORS[k]);
    if (pos >= 0) hits.push({ name: k, rgb: COLORS[k].rgb, pos });
  }
  hits.sort((a, b) => a.pos - b.pos);
  return hits.map(({ name, rgb }) => ({ name, rgb }));
}

/** Effects in order of appearance in the prompt (each at most once). */
export function detectEffects(prompt: string): EffectName[] {
  const t = normalizePrompt(prompt);
  const hits: { e: EffectName; pos: number }[] = [];
  for (const k of Object.keys(EFFECTS) as EffectName[]) {
    const pos = findKW(t, EFFECTS[k]);
    if (pos >= 0) hits.push({ e: k, pos });
  }
  // "black and white" would otherwise also trigger the colour words only; "pixel" inside "pixelate" is
  // handled by the regex word boundary. Drop 'sharpen' when it is only the "sharp" of a negation-free
  // blur request like "sharp blur"? Keep simple: appearance order.
  hits.sort((a, b) => a.pos - b.pos);
  return hits.map((h) => h.e);
}

export function detectMotion(prompt: string): MotionName | null {
  const t = normalizePrompt(prompt);
  let best: { m: MotionName; pos: number; len: number } | null = null;
  // zoom-out must win over the generic "zoom" of zoom-in: check the specific table first and keep the
  // earliest position; for equal positions prefer the one listed first.
  for (const k of Object.keys(MOTIONS) as MotionName[]) {
    const pos = findKW(t, MOTIONS[k]);
    if (pos >= 0 && (!best || pos < best.pos)) best = { m: k, pos, len: 0 };
  }
  return best ? best.m : null;
}

/** True if the prompt contains at least one known keyword of any table. */
export function hasAnyKeyword(prompt: string): boolean {
  return detectThemes(prompt).size > 0 || detectColors(prompt).length > 0 || detectEffects(prompt).length > 0;
}
