// The bitmap font of the visible AI-content label (GB 45438-2025 explicit label): the four glyphs of "AI生成",
// drawn for this project on a 22-row grid ('#' = ink) and embedded in the code, so the label needs no system
// font at run time. CJK glyphs are 22×22 with 2-pixel strokes; the Latin capitals are bolder (3-pixel stems)
// and stand on the same baseline, their cap height 20 rows. Rendering scales the grid with area coverage
// (src/labels/visible.ts), which keeps the strokes legible from about 8 px up.

/** Rows of every glyph grid; also the ink height of the CJK glyphs (rows 0..21 all carry ink). */
export const GLYPH_ROWS = 22;

/** Empty columns after each glyph (the last glyph's gap is not part of the text's width). */
export const GLYPH_GAP = 3;

const GLYPHS: Record<string, readonly string[]> = {
  A: [
    '...............',
    '...............',
    '.....#####.....',
    '.....#####.....',
    '....###.###....',
    '....###.###....',
    '....###.###....',
    '...###...###...',
    '...###...###...',
    '...###...###...',
    '..###.....###..',
    '..###.....###..',
    '..###.....###..',
    '..###.....###..',
    '.#############.',
    '.#############.',
    '.###.......###.',
    '.###.......###.',
    '###.........###',
    '###.........###',
    '###.........###',
    '###.........###',
  ],
  I: [
    '.......',
    '.......',
    '#######',
    '#######',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '..###..',
    '#######',
    '#######',
  ],
  生: [
    '.....##...##..........',
    '.....##...##..........',
    '....###...##..........',
    '....##....##..........',
    '...###....##..........',
    '...##.....##..........',
    '...#################..',
    '...#################..',
    '..###.....##..........',
    '.###......##..........',
    '.##.......##..........',
    '..........##..........',
    '...################...',
    '...################...',
    '..........##..........',
    '..........##..........',
    '..........##..........',
    '..........##..........',
    '..........##..........',
    '..........##..........',
    '######################',
    '######################',
  ],
  成: [
    '...........##..##.....',
    '...........##..###....',
    '...........##...###...',
    '...........##....##...',
    '...........##.........',
    '..####################',
    '..####################',
    '..##.......###........',
    '..##........##.....##.',
    '..##........###...###.',
    '..##........###..###..',
    '..########...##.###...',
    '..########...#####....',
    '..##....##....###.....',
    '..##....##....###.....',
    '..##....##...####.....',
    '..##....##..######..##',
    '.###....##..##..##..##',
    '.##...####.##...###.##',
    '.##..###..###....##.##',
    '##.......###.....#####',
    '##.......##.......####',
  ],
};

export interface GlyphBitmap {
  /** columns of the grid */
  width: number;
  /** GLYPH_ROWS */
  height: number;
  /** columns to move right for the next glyph: width + GLYPH_GAP */
  advance: number;
  /** 1 = ink, row-major, width × height */
  bits: Uint8Array;
}

const cache = new Map<string, GlyphBitmap>();

/** The bitmap of one of the characters 'A', 'I', '生', '成'; throws for any other character. */
export function glyph(ch: string): GlyphBitmap {
  const hit = cache.get(ch);
  if (hit) return hit;
  const rows = GLYPHS[ch];
  if (!rows) throw new Error(`label font: no glyph for '${ch}'`);
  const width = rows[0]!.length;
  const bits = new Uint8Array(width * GLYPH_ROWS);
  rows.forEach((row, y) => {
    for (let x = 0; x < width; x++) bits[y * width + x] = row[x] === '#' ? 1 : 0;
  });
  const g: GlyphBitmap = { width, height: GLYPH_ROWS, advance: width + GLYPH_GAP, bits };
  cache.set(ch, g);
  return g;
}

/** The characters the font has. */
export function fontCharacters(): string[] {
  return Object.keys(GLYPHS);
}

/** A line of text set at grid resolution: one ink mask (1 = ink), GLYPH_ROWS high, no trailing gap. */
export function setText(text: string): { width: number; height: number; bits: Uint8Array } {
  const glyphs = [...text].map(glyph);
  const width = glyphs.reduce((w, g) => w + g.advance, 0) - (glyphs.length > 0 ? GLYPH_GAP : 0);
  const bits = new Uint8Array(Math.max(0, width) * GLYPH_ROWS);
  let x0 = 0;
  for (const g of glyphs) {
    for (let y = 0; y < GLYPH_ROWS; y++) bits.set(g.bits.subarray(y * g.width, (y + 1) * g.width), y * width + x0);
    x0 += g.advance;
  }
  return { width, height: GLYPH_ROWS, bits };
}
