/**
 * Time, as every part of the system sees it. In Lambda it is the wall clock; in the local run and
 * the tests one scaled clock is shared by the EWS simulator and the bridge, so StatusFrequency,
 * staleness, retry back-off and watermark expiry all run faster together (`timeScale` 60: one real
 * second is one simulated minute).
 */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Calls `fn` after `ms` of this clock's time; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Resolves after `ms` of this clock's time. */
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
 * default: now). Timers fire after `ms / timeScale` real milliseconds.
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
  return {
    now: () => simulatedStart + Math.floor((performance.now() - realStart) * timeScale),
    setTimer(ms, fn) {
      const timer = setTimeout(fn, toReal(ms));
      return () => clearTimeout(timer);
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, toReal(ms))),
    timeScale,
  };
}
