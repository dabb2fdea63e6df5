// Text normalisation for keyword matching: the same function runs over the list entries and over the text, so
// that "f u c k", "Ｆ－Ｕ．Ｃ．Ｋ" and "违 禁*词" meet the entries "fuck" and "违禁词".
//
//   1. NFKC: full-width letters, digits and punctuation become their half-width forms, compatibility forms
//      (ligatures, circled letters, the ideographic space) their plain ones;
//   2. lower case;
//   3. whitespace, punctuation, symbols (emoji included), control and format characters (zero-width spaces,
//      BOMs) and non-spacing combining marks (the overlays of "zalgo" text) are dropped.
//
// What is dropped can still matter to the matcher at the two ends of a match (word boundaries, keywords.ts), so
// the result keeps, for each kept UTF-16 unit, its index in the NFKC + lower-cased text.

/** Characters that are not part of the matched text. */
const DROPPED = /[\s\p{P}\p{S}\p{Z}\p{Cc}\p{Cf}\p{Mn}\p{Me}]/u;
/** Characters that are invisible to word boundaries (they neither join nor split words). */
const TRANSPARENT = /[\p{Cf}\p{Mn}\p{Me}]/u;
/** Letters and digits of scripts written with spaces between words (Latin, Cyrillic, Greek, Hangul …). */
const LETTER_OR_DIGIT = /[\p{L}\p{N}\p{Mc}]/u;
/** Scripts written without spaces: no word boundaries there (a match may start and end anywhere). */
const UNSPACED = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}\p{sc=Tibetan}]/u;

// One regexp test per character is too slow for a 2,000-character prompt: the answers for the Basic Multilingual
// Plane are kept in a table, filled as characters are first seen (0 = not yet known, 1 = kept, 2 = dropped).
const BMP_KEEP = new Uint8Array(0x10000);
const keeps = (code: number): boolean => {
  if (code > 0xffff) return !DROPPED.test(String.fromCodePoint(code));
  let k = BMP_KEEP[code];
  if (k === 0) {
    // a lone surrogate half is not a character of its own: dropped
    k = code >= 0xd800 && code <= 0xdfff ? 2 : DROPPED.test(String.fromCharCode(code)) ? 2 : 1;
    BMP_KEEP[code] = k;
  }
  return k === 1;
};
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD[c] = /[a-z0-9]/i.test(String.fromCharCode(c)) ? 1 : 0;

/** A normalised text: `text` (what is matched) and, per UTF-16 unit of it, the index in `folded` it came from. */
export interface Normalized {
  text: string;
  /** the NFKC + lower-cased input, before anything was dropped */
  folded: string;
  /** origin[i] = the index in `folded` of text[i] */
  origin: Uint32Array;
}

/** Step 1 and 2: NFKC, then lower case (then NFKC again, for the few lower-case forms that are not NFKC). */
export const fold = (s: string): string => {
  const once = s.normalize('NFKC').toLowerCase();
  return once.normalize('NFKC');
};

/** The characters a matcher sees, with where they came from. */
export function normalizeWithOrigin(input: string): Normalized {
  const folded = fold(input);
  const units = new Uint16Array(folded.length);
  const origin = new Uint32Array(folded.length);
  let n = 0;
  for (let i = 0; i < folded.length; i++) {
    const unit = folded.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < folded.length) {
      const low = folded.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        if (keeps(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000)) {
          units[n] = unit;
          origin[n++] = i;
          units[n] = low;
          origin[n++] = i;
        }
        i++;
        continue;
      }
    }
    if (keeps(unit)) {
      units[n] = unit;
      origin[n++] = i;
    }
  }
  return { text: unitsToString(units, n), folded, origin: origin.subarray(0, n) };
}

const UTF16 = new TextDecoder('utf-16le');
/** A string of the first n UTF-16 units (typed arrays are little-endian on every machine Bun runs on; lone
 * surrogates were dropped above, so decoding replaces nothing). */
const unitsToString = (units: Uint16Array, n: number): string => UTF16.decode(units.subarray(0, n));

/** The normalised text alone (list entries, tests). */
export const normalizeText = (input: string): string => normalizeWithOrigin(input).text;

/** Whether a character (a code point) belongs to a word of a space-separated script. */
export function isWordChar(code: number): boolean {
  if (code < 128) return ASCII_WORD[code] === 1;
  const ch = String.fromCodePoint(code);
  return LETTER_OR_DIGIT.test(ch) && !UNSPACED.test(ch);
}

/** The code point before index `i` of `s`, skipping format characters and non-spacing marks; null at the start. */
export function codeBefore(s: string, i: number): number | null {
  let j = i;
  while (j > 0) {
    let start = j - 1;
    const low = s.charCodeAt(start);
    if (low >= 0xdc00 && low <= 0xdfff && start > 0) {
      const high = s.charCodeAt(start - 1);
      if (high >= 0xd800 && high <= 0xdbff) start--;
    }
    const code = s.codePointAt(start)!;
    if (code >= 128 && TRANSPARENT.test(String.fromCodePoint(code))) {
      j = start;
      continue;
    }
    return code;
  }
  return null;
}

/** The code point after the one at index `i` of `s`, skipping format characters and non-spacing marks; null at the end. */
export function codeAfter(s: string, i: number): number | null {
  let j = i + (s.codePointAt(i)! > 0xffff ? 2 : 1);
  while (j < s.length) {
    const code = s.codePointAt(j)!;
    if (code >= 128 && TRANSPARENT.test(String.fromCodePoint(code))) {
      j += code > 0xffff ? 2 : 1;
      continue;
    }
    return code;
  }
  return null;
}
