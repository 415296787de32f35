import type { Clock } from '../../functions/core/clock.ts';

/** A clock that moves only when told to: for asserting on stored times. */
export function manualClock(start = Date.UTC(2026, 10, 21, 10, 0, 0)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    setTimer: () => () => {},
    sleep: async (ms) => {
      now += ms;
    },
    timeScale: 1,
  };
}
