// The live PCR-360 session count for the sessions gauge. Counting means listing sessions in the store, so the
// answer is reused for a while and concurrent scrapes share one query.

import { performance } from 'node:perf_hooks';

export class ActiveSessionsCount {
  readonly #refreshMs: number;
  #count = 0;
  #countedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | null = null;

  constructor(refreshMs: number) {
    this.#refreshMs = refreshMs;
  }

  /** The last count, refreshed first when it is older than the interval; `countSessions` is null until there is a store. */
  async current(countSessions: (() => Promise<number>) | null): Promise<number> {
    await this.#refresh(countSessions);
    return this.#count;
  }

  #refresh(countSessions: (() => Promise<number>) | null): Promise<void> {
    if (performance.now() - this.#countedAt < this.#refreshMs) return Promise.resolve();
    if (countSessions === null) return Promise.resolve();
    this.#pending ??= countSessions()
      .then(
        (count) => {
          this.#count = count;
          this.#countedAt = performance.now();
        },
        () => {
          // The last known value stays; store failures show in the store metrics and /readyz.
        },
      )
      .finally(() => {
        this.#pending = null;
      });
    return this.#pending;
  }
}
