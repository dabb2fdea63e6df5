// Content review (issue 13): the shared types of the moderation module. A Moderator checks a prompt (text) or
// images (reference images, generated images, sampled video frames) and answers a Verdict: approve, review or
// reject, with what triggered it for the audit record and a short Chinese message for the user.
export type Decision = 'approve' | 'review' | 'reject';

export type ModerationMode = 'none' | 'keywords' | 'openai';

export interface Verdict {
  decision: Decision;
  provider: ModerationMode;
  /**
   * Categories that triggered. keywords: the categories of the matched list entries (e.g. 'keyword', 'csam');
   * openai: the flagged categories, plus those whose score reached the review threshold.
   */
  categories: string[];
  /** openai: every category score (the highest over all requests of one check); keywords and none: {} */
  scores: Record<string, number>;
  /** keywords: the matched list entries (normalised), for the audit record; never shown to users */
  matched?: string[];
  /** a short Chinese message for the user when not approved; null when approved */
  message: string | null;
  /** true when the moderation service could not be reached (or refused us) and MODERATION_FAIL decided */
  unavailable?: boolean;
  /** the provider's own words (or ours), for logs; never holds the API key */
  detail?: string;
}

export interface ModerationSettings {
  mode: ModerationMode;
  /** MODERATION_KEYWORDS_FILE; unset: the list shipped in the binary (src/moderation/default-keywords.txt) */
  keywordsFile?: string;
  /** openai: the base URL without a trailing slash (…/v1), the key, the model (default omni-moderation-latest) */
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  /** a category score ≥ this (when not flagged) sends the content to review; 0 < x ≤ 1, default 0.5 */
  reviewThreshold: number;
  /** the provider cannot be reached: open → approve, closed → reject (both with unavailable: true) */
  failMode: 'open' | 'closed';
  /** the longest one check may take, retries included (default 10 000 ms) */
  timeoutMs?: number;
}

export interface ModerationImage {
  bytes: Uint8Array;
  /** image/png, image/jpeg, image/webp or image/gif; the bytes' own signature wins when it disagrees */
  mime: string;
}

export interface Moderator {
  readonly mode: ModerationMode;
  /** true when checkImages really inspects pixels (openai); false for none and keywords */
  readonly checksImages: boolean;
  /** Checks a prompt. Rejects only with the caller's signal's reason (the caller gave up); otherwise a Verdict. */
  checkText(text: string, signal?: AbortSignal): Promise<Verdict>;
  /**
   * Checks images, and `text` with them when given (none: approve; keywords: `text` only). openai sends one
   * request per image (the API takes one image per request) and combines the answers: any reject rejects.
   */
  checkImages(images: ModerationImage[], text?: string, signal?: AbortSignal): Promise<Verdict>;
  /**
   * The verdict when the content cannot be checked at all (e.g. no frame could be sampled from a video), decided
   * like an unreachable service: openai → MODERATION_FAIL (open: approve, closed: reject; unavailable: true);
   * none and keywords → approve (they never look at pixels). `reason` becomes the verdict's detail and is logged.
   */
  unchecked(reason: string): Verdict;
}

/** The messages users see (the envelope's `msg`, a failed task's `error`). */
export const MODERATION_MESSAGES = {
  /** a prompt (text) was rejected */
  text: '提示词包含违规内容，请修改后重试',
  /** images were rejected (reference images or generated output; the caller may show its own words) */
  images: '图片内容未通过安全审核',
  /** sent to review (held for a person) */
  review: '内容需要人工审核，请稍后查看',
  /** MODERATION_FAIL=closed and the service could not be reached */
  unavailable: '内容审核服务暂时不可用，请稍后重试',
} as const;

export const MODERATION_DEFAULTS = {
  mode: 'keywords' as ModerationMode,
  baseUrl: 'https://api.openai.com/v1',
  model: 'omni-moderation-latest',
  reviewThreshold: 0.5,
  failMode: 'closed' as const,
  timeoutMs: 10_000,
};
