import type { Clock } from '../clock';
import { tooMany } from './envelope';

/** A fixed-window counter per key, in memory (per process). */
export function createRateLimiter(limit: number, windowMs: number, clock: Clock) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    /** counts one hit for key; throws HTTP 429 (code 429, Retry-After) past the limit */
    hit(key: string) {
      const now = clock.now().getTime();
      if (windows.size > 10_000) {
        for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k);
      }
      let w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        w = { start: now, count: 0 };
        windows.set(key, w);
      }
      if (++w.count > limit) throw tooMany((w.start + windowMs - now) / 1000);
    },
  };
}

interface IpSource {
  requestIP(req: Request): { address: string } | null;
}

export function clientIp(request: Request, server: IpSource | null | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = request.headers.get('x-forwarded-for');
    if (fwd) return fwd.split(',')[0].trim();
  }
  return server?.requestIP(request)?.address ?? 'unknown';
}
