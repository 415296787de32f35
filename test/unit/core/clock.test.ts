/**
 * The scaled clock's timers never fire before their time on the clock itself. Node rounds timer
 * delays to whole real milliseconds and measures them on its own loop time, so a timer can fire up
 * to a real millisecond before `performance.now()` says it is due: at 3600x that is 3.6 simulated
 * seconds. The checks compare `clock.now()` with the due time inside each callback; they do not
 * measure how late a timer is (that depends on the machine).
 */
import { describe, expect, it } from 'vitest';
import { createScaledClock } from '../../../functions/core/clock.ts';

/** Enough timers, with delays that are not whole real milliseconds, that an early one shows up. */
const TIMERS = 300;
const TIME_SCALE = 3600;
/** Simulated delays from 0 to ~5 real ms, most of them fractions of a real millisecond off. */
const delayOf = (i: number) => (i * 61) % (5 * TIME_SCALE);

describe('createScaledClock', () => {
  it('fires no setTimer callback before now() reaches the time it was due', async () => {
    const clock = createScaledClock({ timeScale: TIME_SCALE });
    const early: Array<{ delay: number; early: number }> = [];
    await Promise.all(
      Array.from(
        { length: TIMERS },
        (_, i) =>
          new Promise<void>((resolve) => {
            const delay = delayOf(i);
            const due = clock.now() + delay;
            clock.setTimer(delay, () => {
              const now = clock.now();
              if (now < due) early.push({ delay, early: due - now });
              resolve();
            });
          }),
      ),
    );
    expect(early, 'timers that fired before their time (simulated ms early)').toEqual([]);
  });

  it('resolves no sleep before now() reaches the time it was due', async () => {
    const clock = createScaledClock({ timeScale: TIME_SCALE });
    const early: Array<{ delay: number; early: number }> = [];
    await Promise.all(
      Array.from({ length: TIMERS }, async (_, i) => {
        const delay = delayOf(i);
        const due = clock.now() + delay;
        await clock.sleep(delay);
        const now = clock.now();
        if (now < due) early.push({ delay, early: due - now });
      }),
    );
    expect(early, 'sleeps that ended before their time (simulated ms early)').toEqual([]);
  });

  it('never fires a cancelled timer, also one cancelled while it waits out a remainder', async () => {
    const clock = createScaledClock({ timeScale: TIME_SCALE });
    let cancelled = false;
    let firedAfterCancel = 0;
    const cancels = Array.from({ length: TIMERS }, (_, i) =>
      clock.setTimer(delayOf(i), () => {
        if (cancelled) firedAfterCancel++;
      }),
    );
    // Cancel halfway through, when some timers have fired, some wait, some are re-armed.
    await clock.sleep(delayOf(TIMERS / 2));
    cancelled = true;
    for (const cancel of cancels) cancel();
    await clock.sleep(10 * TIME_SCALE);
    expect(firedAfterCancel).toBe(0);
  });

  it('refuses a time scale that is not a positive number, saying what it means', () => {
    for (const timeScale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createScaledClock({ timeScale })).toThrow(/must be a positive number/);
    }
  });
});
