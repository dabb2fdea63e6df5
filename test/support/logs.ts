import type { Logger } from '../../src/logger';

/** A Logger that keeps every line (`INFO …`, `WARN …`, `ERROR … <message and stack>`), for tests that read the log. */
export function recordingLogger(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => void lines.push(`INFO ${m}`),
    warn: (m) => void lines.push(`WARN ${m}`),
    error: (m, e) => void lines.push(`ERROR ${m} ${e instanceof Error ? `${e.message}\n${e.stack}` : String(e ?? '')}`),
  };
  return { lines, log };
}
