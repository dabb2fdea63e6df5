import { jwt } from '@elysiajs/jwt';
import type { Clock } from '../clock';

export interface TokenClaims {
  userId: number;
  /** the user's token version when the token was issued; a password change bumps it */
  version: number;
}

export interface Tokens {
  issue(claims: TokenClaims): Promise<{ token: string; expiresAt: Date }>;
  /** the claims of a well-formed, correctly signed, unexpired token; null otherwise */
  verify(token: string): Promise<TokenClaims | null>;
}

interface Signer {
  sign(payload: Record<string, unknown>): Promise<string>;
  verify(token: string): Promise<Record<string, unknown> | false>;
}

/** HS256 tokens through @elysiajs/jwt; `sub` is the user id, `ver` the token version. */
export function createTokens(secret: string, ttlSeconds: number, clock: Clock): Tokens {
  const plugin = jwt({ name: 'jwt', secret, alg: 'HS256' });
  const signer = (plugin.decorator as unknown as { jwt: Signer }).jwt;
  return {
    async issue({ userId, version }) {
      const exp = Math.floor(clock.now().getTime() / 1000) + ttlSeconds;
      const token = await signer.sign({ sub: String(userId), ver: version, exp });
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verify(token) {
      const payload = await signer.verify(token);
      if (!payload) return null;
      const userId = Number(payload.sub);
      const version = payload.ver;
      if (!Number.isSafeInteger(userId) || userId <= 0 || typeof version !== 'number') return null;
      if (typeof payload.exp !== 'number') return null;
      return { userId, version };
    },
  };
}
