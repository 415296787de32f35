import type { Clock } from '../../functions/core/clock.ts';

export interface SteppedClock extends Clock {
  /** Moves time forward and fires, in time order, every timer that falls due. */
  advance(ms: number): void;
  /** Timers set and not yet fired or cancelled. */
  pendingTimers(): number;
}

/**
 * A clock that moves only when told to, with working timers: a test can expire a token or fire a
 * request timeout at an exact moment instead of waiting (and without timing assertions).
 */
export function steppedClock(
  start = Date.UTC(2026, 10, 21, 10, 0, 0),
  /**
   * Simulated seconds per real second the test means to step it at: what parts that turn
   * simulated time into real time (request timeouts, SQS delays) divide by.
   */
  timeScale = 1,
): SteppedClock {
  let now = start;
  let timers: Array<{ readonly at: number; readonly fn: () => void }> = [];
  const setTimer = (ms: number, fn: () => void) => {
    const timer = { at: now + Math.max(0, ms), fn };
    timers.push(timer);
    return () => {
      timers = timers.filter((t) => t !== timer);
    };
  };
  return {
    now: () => now,
    setTimer,
    sleep: (ms) => new Promise<void>((resolve) => setTimer(ms, resolve)),
    timeScale,
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
      timers = timers.filter((t) => t.at > now);
      for (const timer of due) timer.fn();
    },
    pendingTimers: () => timers.length,
  };
}
