// Content review (issue 13), the module's entry point: the settings (MODERATION and friends) and the Moderator
// they describe. The callers (POST /generation, the runner) decide what to do with a Verdict and store it.
//
//   MODERATION                   none | keywords | openai (default keywords)
//   MODERATION_KEYWORDS_FILE     keywords: the blocklist (format: default-keywords.txt); default: the shipped list
//   MODERATION_BASE_URL          openai: default OPENAI_BASE_URL, else https://api.openai.com/v1
//   MODERATION_API_KEY           openai: default OPENAI_API_KEY; required
//   MODERATION_MODEL             openai: default omni-moderation-latest
//   MODERATION_REVIEW_THRESHOLD  openai: a category score ≥ this sends the content to review (0 < x ≤ 1, default 0.5)
//   MODERATION_FAIL              open | closed (default closed): what happens when the service cannot be reached
//   MODERATION_TIMEOUT_MS        the longest one check may take, retries included (default 10000)
import { ConfigError } from '../config-error';
import type { Logger } from '../logger';
import { createKeywordModerator, KeywordMatcher, loadKeywordList } from './keywords';
import { createOpenAIModerator } from './openai';
import { MODERATION_DEFAULTS, type ModerationMode, type ModerationSettings, type Moderator } from './types';

export * from './types';
export { KeywordMatcher, loadKeywordList, parseKeywordList, DEFAULT_KEYWORDS_TEXT, type KeywordEntry, type KeywordMatch } from './keywords';
export { normalizeText } from './normalize';

const MODES: readonly ModerationMode[] = ['none', 'keywords', 'openai'];

/** Reads the settings; a bad value is a ConfigError naming its variable. Checks the keywords file is usable. */
export function readModerationSettings(env: Record<string, string | undefined>): ModerationSettings {
  const get = (name: string) => env[name]?.trim() || undefined;

  const rawMode = get('MODERATION');
  const mode = (rawMode?.toLowerCase() ?? MODERATION_DEFAULTS.mode) as ModerationMode;
  if (!MODES.includes(mode)) throw new ConfigError(`MODERATION=${rawMode} must be none, keywords or openai`);

  const rawFail = get('MODERATION_FAIL');
  const failMode = (rawFail?.toLowerCase() ?? MODERATION_DEFAULTS.failMode) as ModerationSettings['failMode'];
  if (failMode !== 'open' && failMode !== 'closed') throw new ConfigError(`MODERATION_FAIL=${rawFail} must be open or closed`);

  const rawThreshold = get('MODERATION_REVIEW_THRESHOLD');
  const reviewThreshold = rawThreshold === undefined ? MODERATION_DEFAULTS.reviewThreshold : Number(rawThreshold);
  if (!Number.isFinite(reviewThreshold) || reviewThreshold <= 0 || reviewThreshold > 1) {
    throw new ConfigError(`MODERATION_REVIEW_THRESHOLD=${rawThreshold} must be a number greater than 0 and at most 1 (example: 0.5)`);
  }

  const rawTimeout = get('MODERATION_TIMEOUT_MS');
  const timeoutMs = rawTimeout === undefined ? MODERATION_DEFAULTS.timeoutMs : Number(rawTimeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
    throw new ConfigError(`MODERATION_TIMEOUT_MS=${rawTimeout} must be an integer from 100 to 600000 (milliseconds)`);
  }

  const settings: ModerationSettings = { mode, reviewThreshold, failMode, timeoutMs };

  if (mode === 'keywords') {
    const file = get('MODERATION_KEYWORDS_FILE');
    if (file !== undefined) {
      loadKeywordList(file); // unreadable or empty: ConfigError now, at start-up
      settings.keywordsFile = file;
    }
  }

  if (mode === 'openai') {
    const apiKey = get('MODERATION_API_KEY') ?? get('OPENAI_API_KEY');
    if (!apiKey) {
      throw new ConfigError('MODERATION_API_KEY (or OPENAI_API_KEY) is required when MODERATION=openai (any value for servers that do not check it)');
    }
    const baseVar = get('MODERATION_BASE_URL') !== undefined ? 'MODERATION_BASE_URL' : 'OPENAI_BASE_URL';
    const rawBase = get(baseVar) ?? MODERATION_DEFAULTS.baseUrl;
    let base: URL;
    try {
      base = new URL(rawBase);
    } catch {
      throw new ConfigError(`${baseVar}=${rawBase} is not a URL (example: https://api.openai.com/v1)`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ConfigError(`${baseVar}=${rawBase} must be an http:// or https:// URL`);
    if (base.search || base.hash) throw new ConfigError(`${baseVar}=${rawBase} must not have a query or fragment`);
    settings.baseUrl = base.href.replace(/\/+$/, '');
    settings.apiKey = apiKey;
    settings.model = get('MODERATION_MODEL') ?? MODERATION_DEFAULTS.model;
  }
  return settings;
}

/** The moderator of `none`: everything is approved. */
const noneModerator: Moderator = {
  mode: 'none',
  checksImages: false,
  async checkText(_text, signal) {
    signal?.throwIfAborted();
    return { decision: 'approve', provider: 'none', categories: [], scores: {}, message: null };
  },
  async checkImages(_images, _text, signal) {
    signal?.throwIfAborted();
    return { decision: 'approve', provider: 'none', categories: [], scores: {}, message: null };
  },
  unchecked: (reason) => ({ decision: 'approve', provider: 'none', categories: [], scores: {}, message: null, detail: reason }),
};

/**
 * The Moderator for the settings. keywords: the list is read and compiled here (a ConfigError when it cannot be).
 * openai: `deps.fetch` replaces the global fetch (tests).
 */
export function createModerator(s: ModerationSettings, deps: { log: Logger; fetch?: typeof fetch }): Moderator {
  switch (s.mode) {
    case 'none':
      return noneModerator;
    case 'keywords': {
      const matcher = new KeywordMatcher(loadKeywordList(s.keywordsFile));
      deps.log.info(`moderation: keywords, ${matcher.size} entries from ${s.keywordsFile ?? 'the shipped list'}`);
      return createKeywordModerator(matcher);
    }
    case 'openai':
      if (!s.apiKey) throw new ConfigError('MODERATION_API_KEY (or OPENAI_API_KEY) is required when MODERATION=openai');
      deps.log.info(`moderation: openai (${s.model ?? MODERATION_DEFAULTS.model}), MODERATION_FAIL=${s.failMode}`);
      return createOpenAIModerator(s, { log: deps.log, fetch: deps.fetch });
  }
}
