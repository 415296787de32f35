/**
 * Time, as every part of the system sees it. In Lambda it is the wall clock; in the local run and
 * the tests one scaled clock is shared by the EWS simulator and the bridge, so StatusFrequency,
 * staleness, retry back-off and watermark expiry all run faster together (`timeScale` 60: one real
 * second is one simulated minute).
 */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` after `ms` of this clock's time; returns a function that cancels it. A scaled clock
   * never calls it early: when `fn` runs, `now()` is at least the time it was set plus `ms`.
   */
  setTimer(ms: number, fn: () => void): () => void;
  /** Resolves after `ms` of this clock's time (for a scaled clock, never earlier). */
  sleep(ms: number): Promise<void>;
  /** Simulated seconds per real second (1 for the wall clock). */
  readonly timeScale: number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
  timeScale: 1,
};

/**
 * A clock that runs `timeScale` times faster than real time, starting at `start` (epoch ms,
 * default: now). Timers fire after `ms / timeScale` real milliseconds, and never before `now()`
 * has reached their time.
 */
export function createScaledClock(options: { timeScale: number; start?: number }): Clock {
  const { timeScale } = options;
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new RangeError(
      `timeScale ${timeScale} must be a positive number (simulated seconds per real second)`,
    );
  }
  const realStart = performance.now();
  const simulatedStart = options.start ?? Date.now();
  const toReal = (ms: number) => Math.max(0, ms) / timeScale;
  const now = () => simulatedStart + Math.floor((performance.now() - realStart) * timeScale);
  const setTimer = (ms: number, fn: () => void): (() => void) => {
    const due = now() + Math.max(0, ms);
    let timer: ReturnType<typeof setTimeout>;
    // Node rounds a timer's delay to whole real milliseconds and measures it on its loop time, so
    // a timer can fire up to a real millisecond before now() says the delay has passed: at 600x,
    // 600 simulated ms early. Wait out the remainder, so a heartbeat, a retry or a timeout never
    // happens before its simulated time.
    const fire = () => {
      const remaining = due - now();
      if (remaining > 0) timer = setTimeout(fire, toReal(remaining));
      else fn();
    };
    timer = setTimeout(fire, toReal(ms));
    return () => clearTimeout(timer);
  };
  return {
    now,
    setTimer,
    sleep: (ms) => new Promise((resolve) => setTimer(ms, resolve)),
    timeScale,
  };
}
