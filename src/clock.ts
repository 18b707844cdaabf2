// The one source of time for everything that decides on expiry. Tests inject a frozen clock and move it
// by hand instead of sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; used by tests and by the benchmark's reproducible runs. */
export class ManualClock implements Clock {
  #now: number;

  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}

export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
