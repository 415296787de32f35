/**
 * Every timer the simulator sets goes through one Timers, so `stop()` can cancel them all and
 * leave no handle behind. Times are in the simulator's clock (simulated milliseconds).
 */
import type { Clock } from '../functions/core/clock.ts';

export class Timers {
  readonly #clock: Clock;
  readonly #pending = new Set<() => void>();
  #stopped = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Calls `fn` after `ms` simulated milliseconds, never earlier (the clock's own guarantee: a
   * scaled clock waits out the rounding of Node's timers); returns a cancel function. No-op once
   * stopped.
   */
  set(ms: number, fn: () => void): () => void {
    if (this.#stopped) return () => {};
    const cancel = () => {
      this.#pending.delete(cancel);
      cancelClock();
    };
    const cancelClock = this.#clock.setTimer(ms, () => {
      this.#pending.delete(cancel);
      fn();
    });
    this.#pending.add(cancel);
    return cancel;
  }

  /** Calls `fn` at the simulated time `at` (now, if that is past). */
  at(at: number, fn: () => void): () => void {
    return this.set(Math.max(0, at - this.#clock.now()), fn);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  cancelAll(): void {
    this.#stopped = true;
    for (const cancel of [...this.#pending]) cancel();
  }
}
