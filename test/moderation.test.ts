// The content-review module (src/moderation, issue 13) on its own: normalisation and keyword matching (spaces,
// full-width, mixed case, punctuation between characters, word boundaries, speed), the shipped and a custom list,
// the settings and their errors, and the `openai` moderator against a fake OpenAI-compatible moderation server
// (test/fakes/moderation.ts): flagged, high score, approve, images as data URLs, down with both fail modes, a
// timeout, a refused connection, 429 then success, a wrong key (never in the log), the caller's abort.
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../src/config-error';
import { encodePngSync } from '../src/engine/local/png';
import {
  createModerator,
  DEFAULT_KEYWORDS_TEXT,
  KeywordMatcher,
  MODERATION_MESSAGES,
  type ModerationSettings,
  normalizeText,
  parseKeywordList,
  readModerationSettings,
} from '../src/moderation';
import { type FakeModeration, startFakeModeration } from './fakes/moderation';
import { recordingLogger } from './support/logs';

setDefaultTimeout(20_000);

const dir = mkdtempSync(join(tmpdir(), 'moderation-test-'));
const writeList = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A solid-colour PNG. */
const png = (r: number, g: number, b: number, w = 16, h = 12) => {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([r, g, b, 255], i * 4);
  return encodePngSync({ width: w, height: h, data });
};
const RED = png(220, 10, 10);
const BLUE = png(20, 40, 200);

const matcher = (list: string) => new KeywordMatcher(parseKeywordList(list));

describe('normalisation', () => {
  test('full-width, case, spaces, punctuation and symbols between characters all fold away', () => {
    expect(normalizeText('f u c k')).toBe('fuck');
    expect(normalizeText('Ｆ－Ｕ．Ｃ．Ｋ')).toBe('fuck');
    expect(normalizeText('FuCk')).toBe('fuck');
    expect(normalizeText('违 禁*词')).toBe('违禁词');
    expect(normalizeText('违　禁，词！')).toBe('违禁词'); // ideographic space, full-width punctuation
    expect(normalizeText('f\u200bu\u200dck')).toBe('fuck'); // zero-width characters
    expect(normalizeText('f̸u̸c̸k̸')).toBe('fuck'); // combining overlays
    expect(normalizeText('ⓕⓤⓒⓚ 💣')).toBe('fuck'); // circled letters (NFKC), emoji dropped
    expect(normalizeText('Straße')).toBe('straße');
  });
});

describe('keyword matching', () => {
  const list = matcher(['fuck', '违禁词', '[weapons]', 'bomb*', 'rapist', 'kill', '*porn*'].join('\n'));

  test('the variants of the issue match', () => {
    for (const text of ['f u c k', 'Ｆ－Ｕ．Ｃ．Ｋ', 'what the FUCK!', 'F.U.C.K', 'f_u-c k', 'ｆｕｃｋ', '这是违 禁*词吗', '违禁词', '把违-禁-词画出来']) {
      expect({ text, matched: list.match(text).matched }).toEqual({ text, matched: expect.arrayContaining([expect.any(String)]) });
    }
    expect(list.match('Ｆ－Ｕ．Ｃ．Ｋ and 违 禁*词').matched.sort()).toEqual(['fuck', '违禁词']);
  });

  test('letters of an entry spread across ordinary words do not match (word boundaries)', () => {
    for (const text of [
      'a portrait of a therapist in her office', // "rapist" inside a word
      'a sketch: skill llama', // "kill" across words, starting mid-word
      'shift uck', // "f u c k" where the f ends another word
      'a cat that kills mice', // "kill" followed by more of the word
      'a landscape with grapefruit trees',
    ]) {
      expect({ text, matched: list.match(text).matched }).toEqual({ text, matched: [] });
    }
  });

  test('whole words, spread-out letters and * wildcards do match', () => {
    expect(list.match('the rapist').matched).toEqual(['rapist']);
    expect(list.match('k i l l him').matched).toEqual(['kill']);
    expect(list.match('k.i.l.l').matched).toEqual(['kill']);
    expect(list.match('three bombs').matched).toEqual(['bomb']); // bomb*: any ending
    expect(list.match('a bombastic speech').matched).toEqual(['bomb']); // … which is the operator's choice
    expect(list.match('unbomb').matched).toEqual([]); // the start is still a word boundary
    expect(list.match('xxxPORNxxx').matched).toEqual(['porn']); // *porn*: anywhere
    expect(list.match('画一个kill的场景').matched).toEqual(['kill']); // Chinese around a Latin word is a boundary
    expect(list.match('a bomb').categories).toEqual(['weapons']);
    expect(list.match('fuck').categories).toEqual(['keyword']);
  });

  test('the shipped list is in the module and catches its examples in every variant', () => {
    expect(DEFAULT_KEYWORDS_TEXT).toContain('恐怖袭击');
    const shipped = matcher(DEFAULT_KEYWORDS_TEXT);
    expect(shipped.size).toBeGreaterThan(10);
    for (const text of ['策划一场恐怖袭击', '恐 怖 袭 击', '恐-怖-袭-击', '恐怖　袭击']) {
      expect(shipped.match(text)).toEqual({ matched: ['恐怖袭击'], categories: ['terrorism'] });
    }
    expect(shipped.match('A TERRORIST ATTACK on a city').categories).toEqual(['terrorism']);
    expect(shipped.match('ｃｈｉｌｄ　ｐｏｒｎ').categories).toEqual(['csam']);
    expect(shipped.match('儿童色情').categories).toEqual(['csam']);
    for (const text of ['一只可爱的猫坐在窗台上，阳光明媚', 'a therapist talking to a child in a park, watercolor', 'a bomber jacket on a mannequin']) {
      expect(shipped.match(text).matched).toEqual([]);
    }
  });

  test('a 2,000-character prompt against 3,000 entries takes well under a millisecond', () => {
    const rand = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
    const entries = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `违禁${i}号` : `${rand(4 + (i % 8))}${i}`));
    const big = matcher(entries.join('\n'));
    const prompt = Array.from({ length: 400 }, () => `${rand(4)} `).join('').slice(0, 1950) + ' 违 禁 30号';
    expect(prompt.length).toBeGreaterThan(1950);
    for (let i = 0; i < 50; i++) big.match(prompt); // warm up
    // the fastest of 10 batches: other test files running on the machine only ever slow a batch down
    let each = Infinity;
    for (let batch = 0; batch < 10; batch++) {
      const t0 = performance.now();
      for (let i = 0; i < 40; i++) big.match(prompt);
      each = Math.min(each, (performance.now() - t0) / 40);
    }
    expect(big.match(prompt).matched).toContain('违禁30号');
    expect(each).toBeLessThan(0.5);
  });
});

describe('settings', () => {
  test('defaults: keywords from the shipped list, closed, 0.5', () => {
    expect(readModerationSettings({})).toEqual({ mode: 'keywords', reviewThreshold: 0.5, failMode: 'closed', timeoutMs: 10_000 });
  });

  test('openai: MODERATION_* first, OPENAI_* as fallback, the default base URL and model', () => {
    expect(readModerationSettings({ MODERATION: 'openai', OPENAI_API_KEY: 'sk-a' })).toMatchObject({
      mode: 'openai',
      apiKey: 'sk-a',
      baseUrl: 'https://api.openai.com/v1',
      model: 'omni-moderation-latest',
    });
    const s = readModerationSettings({
      MODERATION: 'OpenAI',
      OPENAI_API_KEY: 'sk-a',
      OPENAI_BASE_URL: 'http://gw:4000/v1',
      MODERATION_API_KEY: 'sk-b',
      MODERATION_BASE_URL: 'http://mod:8080/v1/',
      MODERATION_MODEL: 'text-moderation-latest',
      MODERATION_REVIEW_THRESHOLD: '0.8',
      MODERATION_FAIL: 'open',
      MODERATION_TIMEOUT_MS: '2500',
    });
    expect(s).toEqual({
      mode: 'openai',
      apiKey: 'sk-b',
      baseUrl: 'http://mod:8080/v1',
      model: 'text-moderation-latest',
      reviewThreshold: 0.8,
      failMode: 'open',
      timeoutMs: 2500,
    });
    expect(readModerationSettings({ MODERATION: 'openai', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://gw:4000/v1' }).baseUrl).toBe('http://gw:4000/v1');
  });

  test('a bad value throws a ConfigError naming its variable', () => {
    const cases: [Record<string, string>, string][] = [
      [{ MODERATION: 'strict' }, 'MODERATION='],
      [{ MODERATION_FAIL: 'maybe' }, 'MODERATION_FAIL'],
      [{ MODERATION_REVIEW_THRESHOLD: '0' }, 'MODERATION_REVIEW_THRESHOLD'],
      [{ MODERATION_REVIEW_THRESHOLD: '1.5' }, 'MODERATION_REVIEW_THRESHOLD'],
      [{ MODERATION_REVIEW_THRESHOLD: 'high' }, 'MODERATION_REVIEW_THRESHOLD'],
      [{ MODERATION_TIMEOUT_MS: '5s' }, 'MODERATION_TIMEOUT_MS'],
      [{ MODERATION_TIMEOUT_MS: '10' }, 'MODERATION_TIMEOUT_MS'],
      [{ MODERATION: 'openai' }, 'MODERATION_API_KEY'],
      [{ MODERATION: 'openai', MODERATION_API_KEY: 'k', MODERATION_BASE_URL: 'not a url' }, 'MODERATION_BASE_URL'],
      [{ MODERATION: 'openai', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'ftp://x/v1' }, 'OPENAI_BASE_URL'],
      [{ MODERATION_KEYWORDS_FILE: join(dir, 'missing.txt') }, 'MODERATION_KEYWORDS_FILE'],
      [{ MODERATION_KEYWORDS_FILE: writeList('empty.txt', '# only comments\n\n[csam]\n   \n*\n') }, 'MODERATION_KEYWORDS_FILE'],
    ];
    for (const [env, name] of cases) {
      let thrown: unknown;
      try {
        readModerationSettings(env);
      } catch (e) {
        thrown = e;
      }
      expect({ env, ok: thrown instanceof ConfigError }).toEqual({ env, ok: true });
      expect((thrown as Error).message).toContain(name);
    }
  });

  test('MODERATION=none approves everything; the keywords file is not read then', async () => {
    const s = readModerationSettings({ MODERATION: 'none', MODERATION_KEYWORDS_FILE: join(dir, 'missing.txt') });
    const m = createModerator(s, { log: recordingLogger().log });
    expect(m.mode).toBe('none');
    expect(m.checksImages).toBe(false);
    expect(await m.checkText('恐怖袭击')).toEqual({ decision: 'approve', provider: 'none', categories: [], scores: {}, message: null });
    expect((await m.checkImages([{ bytes: RED, mime: 'image/png' }])).decision).toBe('approve');
  });
});

describe('keywords moderator', () => {
  test('a custom list replaces the shipped one; its sections are the categories', async () => {
    const file = writeList('custom.txt', '# our list\nbadword\n[drugs]\n冰 毒\n[weapons]\ngun*\n');
    const s = readModerationSettings({ MODERATION_KEYWORDS_FILE: file });
    expect(s.keywordsFile).toBe(file);
    const m = createModerator(s, { log: recordingLogger().log });
    expect(m.mode).toBe('keywords');
    expect(m.checksImages).toBe(false);

    const v = await m.checkText('ＢＡＤ-ＷＯＲＤ with 冰　毒 and GUNS');
    expect(v).toEqual({
      decision: 'reject',
      provider: 'keywords',
      categories: ['keyword', 'drugs', 'weapons'],
      scores: {},
      matched: ['badword', '冰毒', 'gun'],
      message: MODERATION_MESSAGES.text,
      detail: expect.any(String),
    });
    expect(v.detail).not.toContain('badword'); // the entries are for the audit record, not the log
    expect((await m.checkText('恐怖袭击')).decision).toBe('approve'); // not in this list
    expect(await m.checkText('a quiet lake at dawn')).toEqual({ decision: 'approve', provider: 'keywords', categories: [], scores: {}, message: null });
  });

  test('the shipped list by default; checkImages checks the text only', async () => {
    const m = createModerator(readModerationSettings({}), { log: recordingLogger().log });
    const v = await m.checkText('恐 怖 袭 击 现场');
    expect(v.decision).toBe('reject');
    expect(v.categories).toEqual(['terrorism']);
    expect(v.matched).toEqual(['恐怖袭击']);
    expect((await m.checkImages([{ bytes: RED, mime: 'image/png' }])).decision).toBe('approve');
    expect((await m.checkImages([{ bytes: BLUE, mime: 'image/png' }], 'Terrorist-Attack')).decision).toBe('reject');
  });
});

describe('openai moderator (fake server)', () => {
  let fake: FakeModeration;
  beforeAll(async () => {
    fake = await startFakeModeration();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.down = false;
  });

  const settings = (over: Partial<ModerationSettings> = {}): ModerationSettings => ({
    mode: 'openai',
    baseUrl: fake.baseUrl,
    apiKey: fake.apiKey,
    model: 'omni-moderation-latest',
    reviewThreshold: 0.5,
    failMode: 'closed',
    timeoutMs: 5000,
    ...over,
  });
  const moderator = (over: Partial<ModerationSettings> = {}) => {
    const rec = recordingLogger();
    return { m: createModerator(settings(over), { log: rec.log }), lines: rec.lines };
  };

  test('flagged → reject with the flagged categories and every score; the request is OpenAI-shaped', async () => {
    const { m } = moderator();
    expect(m.mode).toBe('openai');
    expect(m.checksImages).toBe(true);
    const v = await m.checkText('a murder scene');
    expect(v.decision).toBe('reject');
    expect(v.provider).toBe('openai');
    expect(v.categories).toEqual(['violence']);
    expect(v.message).toBe(MODERATION_MESSAGES.text);
    expect(v.unavailable).toBeUndefined();
    expect(Object.keys(v.scores)).toHaveLength(13);
    expect(v.scores.violence).toBe(0.97);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(fake.requests[0].contentType).toContain('application/json');
    expect(fake.requests[0].body).toEqual({ model: 'omni-moderation-latest', input: 'a murder scene' });
  });

  test('a score over the threshold without a flag → review; the threshold is configurable', async () => {
    const v = await moderator().m.checkText('a bar brawl, oil painting');
    expect(v).toMatchObject({ decision: 'review', categories: ['violence'], message: MODERATION_MESSAGES.review });
    expect(v.scores.violence).toBe(0.62);
    expect((await moderator({ reviewThreshold: 0.7 }).m.checkText('a bar brawl')).decision).toBe('approve');
  });

  test('a harmless prompt → approve', async () => {
    const v = await moderator().m.checkText('a cat on a windowsill, morning light');
    expect(v).toMatchObject({ decision: 'approve', provider: 'openai', categories: [], message: null });
    expect(v.scores.violence).toBeLessThan(0.01);
  });

  test('images go as base64 data URLs, one image per request, the text with the first', async () => {
    const { m } = moderator();
    // a PNG labelled with the wrong type is still sent as image/png (its signature decides)
    const v = await m.checkImages(
      [
        { bytes: BLUE, mime: 'application/octet-stream' },
        { bytes: BLUE, mime: 'image/png' },
      ],
      'a blue square',
    );
    expect(v.decision).toBe('approve');
    expect(fake.requests).toHaveLength(2);
    const inputs = fake.requests.map((r) => r.body!.input as any[]);
    expect(inputs[0]).toEqual([
      { type: 'text', text: 'a blue square' },
      { type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/png;base64,/) } },
    ]);
    expect(inputs[1]).toEqual([{ type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/png;base64,/) } }]);
    const sent = Buffer.from(inputs[0][1].image_url.url.split(',')[1], 'base64');
    expect(Buffer.compare(sent, Buffer.from(BLUE))).toBe(0);
    expect(fake.requests[0].body!.model).toBe('omni-moderation-latest');
  });

  test('an image the service flags → reject with the images message', async () => {
    const v = await moderator().m.checkImages([
      { bytes: BLUE, mime: 'image/png' },
      { bytes: RED, mime: 'image/png' },
    ]);
    expect(v).toMatchObject({ decision: 'reject', categories: ['violence/graphic'], message: MODERATION_MESSAGES.images });
    expect(v.scores['violence/graphic']).toBe(0.91);
    // a flagged text with a harmless image is rejected too
    expect((await moderator().m.checkImages([{ bytes: BLUE, mime: 'image/png' }], 'murder')).categories).toEqual(['violence']);
    // no images: the text alone, as a string input
    fake.requests.length = 0;
    expect((await moderator().m.checkImages([], 'a bar brawl')).decision).toBe('review');
    expect(fake.requests[0].body!.input).toBe('a bar brawl');
  });

  test('down (503) with MODERATION_FAIL=closed → reject, unavailable, after a few retries', async () => {
    fake.down = '503';
    const { m, lines } = moderator({ failMode: 'closed' });
    const v = await m.checkText('a cat');
    expect(v).toMatchObject({ decision: 'reject', provider: 'openai', unavailable: true, message: MODERATION_MESSAGES.unavailable, categories: [], scores: {} });
    expect(v.detail).toContain('HTTP 503');
    expect(fake.requests).toHaveLength(3); // the first attempt and two retries
    expect(lines.some((l) => l.startsWith('WARN') && l.includes('unavailable') && l.includes('MODERATION_FAIL=closed'))).toBe(true);
  });

  test('down (503) with MODERATION_FAIL=open → approve, unavailable', async () => {
    fake.down = '503';
    const v = await moderator({ failMode: 'open' }).m.checkImages([{ bytes: RED, mime: 'image/png' }]);
    expect(v).toMatchObject({ decision: 'approve', unavailable: true, message: null });
  });

  test('a server that never answers: unavailable within MODERATION_TIMEOUT_MS', async () => {
    fake.down = 'hang';
    const t0 = Date.now();
    const v = await moderator({ timeoutMs: 400 }).m.checkText('a cat');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(v).toMatchObject({ decision: 'reject', unavailable: true });
    expect(v.detail).toContain('400 ms');
  });

  test('a refused connection: unavailable', async () => {
    const gone = await startFakeModeration();
    const baseUrl = gone.baseUrl;
    await gone.stop();
    const v = await moderator({ baseUrl, failMode: 'open' }).m.checkText('a cat');
    expect(v).toMatchObject({ decision: 'approve', unavailable: true });
  });

  test('429 once, then the answer: retried after Retry-After', async () => {
    fake.failNext('429', 1, '1');
    const { m, lines } = moderator();
    const t0 = Date.now();
    const v = await m.checkText('a murder mystery novel cover');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(v.decision).toBe('reject');
    expect(v.unavailable).toBeUndefined();
    expect(fake.requests).toHaveLength(2);
    expect(lines.some((l) => l.includes('HTTP 429') && l.includes('retry 1/2'))).toBe(true);
  });

  test('a wrong key: unavailable at once (no retry), and the key is in no log line nor the verdict', async () => {
    const wrongKey = 'sk-wrong-SECRET-9876543210zyxw';
    const { m, lines } = moderator({ apiKey: wrongKey });
    const v = await m.checkText('a cat');
    expect(v).toMatchObject({ decision: 'reject', unavailable: true });
    expect(v.detail).toContain('HTTP 401');
    expect(v.detail).toContain('invalid_api_key');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].authorization).toBe(`Bearer ${wrongKey}`);
    expect(lines.length).toBeGreaterThan(0);
    const everything = [...lines, JSON.stringify(v)].join('\n');
    expect(everything).not.toContain(wrongKey);
    expect(everything).not.toContain('sk-wro'); // OpenAI quotes the key's first and last characters
    expect(everything).not.toContain('zyxw');
  });

  test('an unknown model (404) is unavailable too; its message is logged', async () => {
    const { m, lines } = moderator({ model: 'no-such-model', failMode: 'open' });
    const v = await m.checkText('a cat');
    expect(v).toMatchObject({ decision: 'approve', unavailable: true });
    expect(lines.some((l) => l.includes('HTTP 404') && l.includes('model_not_found'))).toBe(true);
  });

  test("the caller's abort rejects with its reason instead of deciding", async () => {
    fake.down = 'hang';
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('task canceled')), 100);
    expect(moderator().m.checkText('a cat', ac.signal)).rejects.toThrow('task canceled');
    await Bun.sleep(150);
  });

  test('unchecked(): content that cannot be checked is decided by MODERATION_FAIL', async () => {
    const closed = moderator({ failMode: 'closed' });
    expect(closed.m.unchecked('no frames could be sampled')).toEqual({
      decision: 'reject',
      provider: 'openai',
      categories: [],
      scores: {},
      message: MODERATION_MESSAGES.unavailable,
      unavailable: true,
      detail: 'no frames could be sampled',
    });
    expect(closed.lines.some((l) => l.includes('cannot check: no frames could be sampled'))).toBe(true);
    expect(moderator({ failMode: 'open' }).m.unchecked('x')).toMatchObject({ decision: 'approve', unavailable: true, message: null });
    const keywords = createModerator(readModerationSettings({}), { log: recordingLogger().log });
    expect(keywords.unchecked('x')).toMatchObject({ decision: 'approve', provider: 'keywords' });
    expect(fake.requests).toHaveLength(0);
  });

  test('readModerationSettings + createModerator end to end with the fake', async () => {
    const s = readModerationSettings({ MODERATION: 'openai', OPENAI_API_KEY: fake.apiKey, MODERATION_BASE_URL: fake.baseUrl });
    const v = await createModerator(s, { log: recordingLogger().log }).checkText('murder');
    expect(v.decision).toBe('reject');
  });
});
