// The `keywords` moderator: a blocklist (MODERATION_KEYWORDS_FILE, or the list shipped in the binary) matched on
// normalised text (normalize.ts) with one Aho–Corasick automaton, so the cost is one pass over the prompt however
// long the list is (a 2,000-character prompt against thousands of entries: well under a millisecond).
//
// List format (also in the header of default-keywords.txt):
//   - one entry per line; blank lines and lines starting with '#' are ignored;
//   - a line `[name]` starts a section: the entries after it have category `name` (before any: `keyword`);
//   - an entry is normalised like the text (case, full-width, spaces and punctuation do not matter);
//   - word boundaries: an entry that begins (ends) with a letter or digit of a script written with spaces
//     (Latin, Cyrillic, …) matches only where a word begins (ends) in the text, so "rapist" does not match
//     "therapist" and "kill" does not match "skill llama"; letters spread out with spaces or punctuation
//     ("k i l l", "k.i.l.l") still match. A `*` at the start (end) of an entry lifts that rule at that end
//     ("bomb*" also matches "bombs"). Chinese and Japanese entries match anywhere (no spaces between words there).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config-error';
import defaultList from './default-keywords.txt' with { type: 'text' };
import { codeAfter, codeBefore, isWordChar, type Normalized, normalizeText, normalizeWithOrigin } from './normalize';
import { MODERATION_MESSAGES, type Moderator, type Verdict } from './types';

export interface KeywordEntry {
  /** the normalised entry */
  pattern: string;
  category: string;
  /** the entry must start (end) at a word boundary of the text */
  boundStart: boolean;
  boundEnd: boolean;
}

export const DEFAULT_CATEGORY = 'keyword';

/** The shipped list's text (for tests and documentation). */
export const DEFAULT_KEYWORDS_TEXT: string = defaultList;

/** Reads a list's text into entries; lines that normalise to nothing are skipped. */
export function parseKeywordList(text: string): KeywordEntry[] {
  const entries: KeywordEntry[] = [];
  let category = DEFAULT_CATEGORY;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      category = section[1].trim().toLowerCase() || DEFAULT_CATEGORY;
      continue;
    }
    const anyStart = line.startsWith('*');
    const anyEnd = line.length > 1 && line.endsWith('*');
    const pattern = normalizeText(line);
    if (pattern === '') continue;
    entries.push({
      pattern,
      category,
      boundStart: !anyStart && isWordChar(pattern.codePointAt(0)!),
      boundEnd: !anyEnd && isWordChar(lastCodePoint(pattern)),
    });
  }
  return entries;
}

const lastCodePoint = (s: string): number => {
  const low = s.charCodeAt(s.length - 1);
  return low >= 0xdc00 && low <= 0xdfff && s.length > 1 ? s.codePointAt(s.length - 2)! : low;
};

/**
 * Reads MODERATION_KEYWORDS_FILE (or the shipped list when `file` is undefined); an unreadable file or one without
 * a single entry is a ConfigError naming the variable.
 */
export function loadKeywordList(file?: string): KeywordEntry[] {
  let text = DEFAULT_KEYWORDS_TEXT;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`MODERATION_KEYWORDS_FILE=${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const entries = parseKeywordList(text);
  if (entries.length === 0) {
    throw new ConfigError(`MODERATION_KEYWORDS_FILE=${file ?? '(shipped list)'} has no entries (one per line; '#' starts a comment)`);
  }
  return entries;
}

export interface KeywordMatch {
  /** the matched entries (normalised, each once, in the order first found) */
  matched: string[];
  /** their categories (each once) */
  categories: string[];
}

/**
 * An Aho–Corasick automaton over UTF-16 units of the normalised entries. The goto edges live in one
 * open-addressing hash table of typed arrays (node, unit) → node, a few times faster than a Map per node.
 */
export class KeywordMatcher {
  /** the entries that end at a node */
  private readonly out: number[][] = [[]];
  private fail: Int32Array = new Int32Array(1);
  /** the nearest node on the fail chain that has entries (0: none) */
  private dict: Int32Array = new Int32Array(1);
  /** the node itself when entries end there, else its dict link: the first node to report (0: none) */
  private report: Int32Array = new Int32Array(1);
  private mask = 0;
  /** the edge table: slots of [from node (-1: empty), unit, to node], side by side for the cache */
  private edges: Int32Array = new Int32Array(0);

  constructor(private readonly entries: readonly KeywordEntry[]) {
    // the trie, with a Map per node while it is built
    const next: Map<number, number>[] = [new Map()];
    entries.forEach((e, id) => {
      let node = 0;
      for (let i = 0; i < e.pattern.length; i++) {
        const c = e.pattern.charCodeAt(i);
        let to = next[node].get(c);
        if (to === undefined) {
          to = next.length;
          next.push(new Map());
          this.out.push([]);
          next[node].set(c, to);
        }
        node = to;
      }
      this.out[node].push(id);
    });
    this.buildTable(next);
    this.link(next);
  }

  private buildTable(next: Map<number, number>[]) {
    const edges = next.length - 1;
    let size = 16;
    while (size < edges * 2) size *= 2;
    this.mask = size - 1;
    const t = (this.edges = new Int32Array(size * 3).fill(-1));
    next.forEach((children, from) => {
      for (const [c, to] of children) {
        let i = slot(from, c) & this.mask;
        while (t[i * 3] !== -1) i = (i + 1) & this.mask;
        t[i * 3] = from;
        t[i * 3 + 1] = c;
        t[i * 3 + 2] = to;
      }
    });
  }

  /** The child of `node` by unit `c`, or -1. */
  private step(node: number, c: number): number {
    const t = this.edges;
    const mask = this.mask;
    let i = slot(node, c) & mask;
    for (;;) {
      const from = t[i * 3];
      if (from === -1) return -1;
      if (from === node && t[i * 3 + 1] === c) return t[i * 3 + 2];
      i = (i + 1) & mask;
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Fail and dictionary links, breadth first. */
  private link(next: Map<number, number>[]) {
    const n = next.length;
    this.fail = new Int32Array(n);
    this.dict = new Int32Array(n);
    const queue: number[] = [...next[0].values()];
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q];
      for (const [c, v] of next[u]) {
        let f = this.fail[u];
        while (f !== 0 && !next[f].has(c)) f = this.fail[f];
        const fv = next[f].get(c) ?? 0;
        this.fail[v] = fv;
        this.dict[v] = this.out[fv].length > 0 ? fv : this.dict[fv];
        queue.push(v);
      }
    }
    this.report = new Int32Array(n);
    for (let v = 1; v < n; v++) this.report[v] = this.out[v].length > 0 ? v : this.dict[v];
  }

  /** Every entry found in `text` (entries that need a word boundary only where the text has one). */
  match(text: string): KeywordMatch {
    const norm = normalizeWithOrigin(text);
    const s = norm.text;
    const found = new Set<number>();
    const { fail, dict, report } = this;
    let state = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      let to = this.step(state, c);
      while (to === -1 && state !== 0) {
        state = fail[state];
        to = this.step(state, c);
      }
      state = to === -1 ? 0 : to;
      for (let t = report[state]; t !== 0; t = dict[t]) {
        for (const id of this.out[t]) {
          if (!found.has(id) && this.bounded(this.entries[id], norm, i)) found.add(id);
        }
      }
    }
    const matched = new Set<string>();
    const categories = new Set<string>();
    for (const id of found) {
      matched.add(this.entries[id].pattern);
      categories.add(this.entries[id].category);
    }
    return { matched: [...matched], categories: [...categories] };
  }

  /** Whether the occurrence of `e` that ends at unit `end` of the normalised text sits on the word boundaries it needs. */
  private bounded(e: KeywordEntry, norm: Normalized, end: number): boolean {
    if (e.boundStart) {
      const before = codeBefore(norm.folded, norm.origin[end - e.pattern.length + 1]);
      if (before !== null && isWordChar(before)) return false;
    }
    if (e.boundEnd) {
      const after = codeAfter(norm.folded, norm.origin[end]);
      if (after !== null && isWordChar(after)) return false;
    }
    return true;
  }
}

/** The hash of an edge (node, unit). */
const slot = (node: number, c: number) => Math.imul(node, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b);

/** The keywords moderator: text only; images are approved (keywords cannot see pixels), their `text` is checked. */
export function createKeywordModerator(matcher: KeywordMatcher): Moderator {
  const check = (text: string): Verdict => {
    const m = matcher.match(text);
    if (m.matched.length === 0) return { decision: 'approve', provider: 'keywords', categories: [], scores: {}, message: null };
    return {
      decision: 'reject',
      provider: 'keywords',
      categories: m.categories,
      scores: {},
      matched: m.matched,
      message: MODERATION_MESSAGES.text,
      detail: `keywords: ${m.matched.length} list entr${m.matched.length === 1 ? 'y' : 'ies'} matched (${m.categories.join(', ')})`,
    };
  };
  return {
    mode: 'keywords',
    checksImages: false,
    async checkText(text, signal) {
      signal?.throwIfAborted();
      return check(text);
    },
    async checkImages(_images, text, signal) {
      signal?.throwIfAborted();
      return check(text ?? '');
    },
    unchecked: (reason) => ({ decision: 'approve', provider: 'keywords', categories: [], scores: {}, message: null, detail: reason }),
  };
}
