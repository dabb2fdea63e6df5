/** Minimal line logger; tests pass a silent one. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
}

export const consoleLogger: Logger = {
  info: (msg) => console.log(`${new Date().toISOString()} INFO ${msg}`),
  warn: (msg) => console.warn(`${new Date().toISOString()} WARN ${msg}`),
  error: (msg, err) =>
    console.error(`${new Date().toISOString()} ERROR ${msg}`, err instanceof Error ? err.stack : (err ?? '')),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
