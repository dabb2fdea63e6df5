import { jwt } from '@elysiajs/jwt';
import type { Clock } from '../clock';

export interface TokenClaims {
  userId: number;
  /** the login session the token belongs to; the token is valid while the session row exists (sessions table) */
  sessionId: string;
}

export interface Tokens {
  issue(claims: TokenClaims): Promise<{ token: string; expiresAt: Date }>;
  /** the claims of a well-formed, HS256-signed, unexpired token; null otherwise */
  verify(token: string): Promise<TokenClaims | null>;
  /**
   * A token that `verify` accepted before and that has not expired since: its claims and `exp` (unix seconds);
   * undefined otherwise
   */
  peek(token: string): VerifiedToken | undefined;
}

export interface VerifiedToken {
  claims: TokenClaims;
  /** the token's `exp` (unix seconds) */
  exp: number;
}

interface Signer {
  sign(payload: Record<string, unknown>): Promise<string>;
  verify(token: string, options?: { algorithms?: string[] }): Promise<Record<string, unknown> | false>;
}

/** How many verified tokens are remembered (about 200 bytes each). */
export const VERIFIED_CACHE_MAX = 10_000;

/** The only signing algorithm accepted: a token signed otherwise (HS512 with the same secret, `none`…) is refused. */
export const TOKEN_ALG = 'HS256';

const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * HS256 tokens through @elysiajs/jwt; `sub` is the user id, `sid` the session id.
 *
 * A token that verified once is remembered until its `exp` (bounded, oldest forgotten first): a client polls
 * with the same token every 2 s, and checking the signature again (jose imports the key on every call) was
 * the largest cost of the poll endpoint. The cache only saves the signature check: expiry is checked on every
 * use, and revocation (the session row) is checked against the database by the routes.
 */
export function createTokens(secret: string, ttlSeconds: number, clock: Clock): Tokens {
  const plugin = jwt({ name: 'jwt', secret, alg: TOKEN_ALG });
  const signer = (plugin.decorator as unknown as { jwt: Signer }).jwt;
  const verified = new Map<string, VerifiedToken>();
  return {
    async issue({ userId, sessionId }) {
      const exp = Math.floor(clock.now().getTime() / 1000) + ttlSeconds;
      const token = await signer.sign({ sub: String(userId), sid: sessionId, exp });
      return { token, expiresAt: new Date(exp * 1000) };
    },
    peek(token) {
      const hit = verified.get(token);
      return hit && hit.exp > Date.now() / 1000 ? hit : undefined;
    },
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        // the same time source as jose's own exp check
        if (hit.exp > Date.now() / 1000) return hit.claims;
        verified.delete(token);
        return null;
      }
      const payload = await signer.verify(token, { algorithms: [TOKEN_ALG] });
      if (!payload) return null;
      const userId = Number(payload.sub);
      const sessionId = payload.sid;
      if (!Number.isSafeInteger(userId) || userId <= 0) return null;
      if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) return null;
      if (typeof payload.exp !== 'number') return null;
      const claims = { userId, sessionId };
      if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(token, { claims, exp: payload.exp });
      return claims;
    },
  };
}
