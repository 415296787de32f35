import { describe, expect, it } from 'vitest';
import { drainGoesOn } from '../../../local/drain.ts';

const past = { waitedMs: 40_000, capMs: 600_000, fixed: false };

describe('the drain past its bound', () => {
  it('goes on while the queues shrink', () => {
    expect(drainGoesOn({ ...past, queued: 5, queuedBefore: 9, graphOwed: 0 })).toBe(true);
    expect(drainGoesOn({ ...past, queued: 9, queuedBefore: 9, graphOwed: 0 })).toBe(false);
  });

  it('goes on while the Graph stand-in owes a notification, though nothing shrinks (a retry an hour of backoff away)', () => {
    expect(drainGoesOn({ ...past, queued: 1, queuedBefore: 1, graphOwed: 1 })).toBe(true);
  });

  it('stops at the cap, and at once for a fixed bound, whatever is owed', () => {
    expect(drainGoesOn({ ...past, waitedMs: 600_000, queued: 5, queuedBefore: 9, graphOwed: 3 })).toBe(false);
    expect(drainGoesOn({ ...past, fixed: true, queued: 5, queuedBefore: 9, graphOwed: 3 })).toBe(false);
  });
});
