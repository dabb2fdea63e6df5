// Signed result links (issue 14): `signed_url` lets a browser show a result in `<img src>` / `<video src>`, which cannot
// send the Authorization header. A link is the result's path plus `exp` (unix seconds), `sid` (the session that asked
// for it) and `sig` = HMAC-SHA256(key, path, exp, sid), the key derived from JWT_SECRET with a purpose string of its
// own (a link's signature can never pass for a token's, or for an AI-content label's).
//
// Verifying costs no query; the route then checks that the session is still alive (logout, password change or
// revocation kills every link the session was given) and that the record is still the session user's, in the one
// query it runs to find the file. The expiry is rounded up to a quarter of the TTL, so one session gets the same URL
// for a result for a quarter of an hour (by default): the browser's cache keeps serving it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';

/** Separates this key from every other key derived from JWT_SECRET. */
const PURPOSE = 'aigc-signed-result-url-v1';

const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
const EXP = /^\d{1,12}$/;
const SIG = /^[0-9a-f]{64}$/;

export interface SignedQuery {
  exp?: string | null;
  sid?: string | null;
  sig?: string | null;
}

export interface ResultLinks {
  /** `path?exp=…&sid=…&sig=…` for the session, valid at least the TTL (at most 1.25 × TTL) */
  sign(path: string, sessionId: string): string;
  /** the `exp` that sign() puts in a link made now: while it stays the same, so does every link sign() makes */
  expiry(): string;
  /** the session id of a correct, unexpired signature of `path`, or null (no database look-up: see the route) */
  verify(path: string, q: SignedQuery): string | null;
}

/** Links signed with a key derived from `secret`, valid `ttlSeconds` (rounded up to TTL/4); `clock` is "now". */
export function createResultLinks(secret: string, ttlSeconds: number, clock: Clock): ResultLinks {
  const key = createHmac('sha256', secret).update(PURPOSE).digest();
  const step = Math.max(1, Math.floor(ttlSeconds / 4));
  // an HMAC state with the key already absorbed, copied per link: 0.7 µs a link instead of 5.7 with node:crypto
  // (a history of 1,000 completed records signs 1,000 links)
  const keyed = new Bun.CryptoHasher('sha256', key);
  const mac = (path: string, exp: string, sid: string) => keyed.copy().update(`${path}\n${exp}\n${sid}`).digest() as Buffer;
  const nowSeconds = () => Math.floor((clock.nowMs ? clock.nowMs() : clock.now().getTime()) / 1000);
  // the same string while the step lasts (the poll's fast path compares it by identity)
  let lastExp = NaN;
  let lastExpString = '';
  const expiry = () => {
    const exp = Math.ceil((nowSeconds() + ttlSeconds) / step) * step;
    if (exp !== lastExp) {
      lastExp = exp;
      lastExpString = String(exp);
    }
    return lastExpString;
  };
  return {
    expiry,
    sign(path, sessionId) {
      const exp = expiry();
      return `${path}?exp=${exp}&sid=${sessionId}&sig=${mac(path, exp, sessionId).toString('hex')}`;
    },
    verify(path, { exp, sid, sig }) {
      if (!exp || !sid || !sig || !EXP.test(exp) || !SESSION_ID.test(sid) || !SIG.test(sig)) return null;
      const given = Buffer.from(sig, 'hex');
      if (!timingSafeEqual(given, mac(path, exp, sid))) return null;
      return Number(exp) > nowSeconds() ? sid : null;
    },
  };
}

/**
 * A body that holds signed links of one session (a poll's or a history's), kept per key (a cached row, a cached
 * list) and built again only when the session or the links' expiry step changes: no HMAC per request.
 */
export function linkStepMemo<K extends object, V = string>(): (key: K, sessionId: string, exp: string, build: () => V) => V {
  const last = new WeakMap<K, { sessionId: string; exp: string; body: V }>();
  return (key, sessionId, exp, build) => {
    const m = last.get(key);
    if (m && m.sessionId === sessionId && m.exp === exp) return m.body;
    const body = build();
    last.set(key, { sessionId, exp, body });
    return body;
  };
}
