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
   * Calls `fn` after `ms` simulated milliseconds, never earlier; returns a cancel function. No-op
   * once stopped.
   */
  set(ms: number, fn: () => void): () => void {
    if (this.#stopped) return () => {};
    const due = this.#clock.now() + Math.max(0, ms);
    let cancelClock: () => void = () => {};
    const cancel = () => {
      this.#pending.delete(cancel);
      cancelClock();
    };
    // A scaled clock's timers can fire up to a real millisecond early (Node rounds timer delays
    // down to whole milliseconds), which at 600x is 600 simulated ms: wait out the rest, so a
    // heartbeat or retry never happens before its simulated time.
    const arm = (delay: number) => {
      cancelClock = this.#clock.setTimer(delay, () => {
        const early = due - this.#clock.now();
        if (early > 0) {
          arm(early);
          return;
        }
        this.#pending.delete(cancel);
        fn();
      });
    };
    this.#pending.add(cancel);
    arm(Math.max(0, ms));
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
