/** Source of "now" for services, so tests can move time. */
export interface Clock {
  now(): Date;
  /** the same instant in epoch ms, without making a Date (a hot path reads it on every request) */
  nowMs?(): number;
}

export const systemClock: Clock = { now: () => new Date(), nowMs: Date.now };
