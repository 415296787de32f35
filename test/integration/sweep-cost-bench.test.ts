/**
 * The sweep-cost benchmark drives the real subscription store; a change to the store's writes can
 * break it (it once did, unnoticed until `npm run bench`). Run it small, on the emulator, and check
 * what it measures is what docs/sweep-cost.md relies on.
 */
import { describe, expect, it } from 'vitest';
import { measureSweepCost } from '../../bench/sweep-cost.ts';

describe('the sweep-cost measurement, at a small scale', () => {
  it('runs against the store as it is, and finds exactly the silent records', async () => {
    const measured = await measureSweepCost({
      populations: [200, 400],
      staleEvery: 100,
      scanSegments: 4,
      indexShards: 10,
      sharedTable: { mailboxes: 100, otherBytesPerMailbox: 1_024 },
      onProgress: () => {},
      log: () => {},
    });
    expect(measured.sweeps.map((s) => [s.mailboxes, s.scan.staleFound, s.index.staleFound])).toEqual([
      [200, 2, 2],
      [400, 4, 4],
    ]);
    // A heartbeat rewrites a record under 1 KB: one write unit. In B it also moves the index key,
    // which DynamoDB charges as a delete and a put of the index entry: two more.
    const { scan, index } = measured.heartbeat;
    expect(scan.itemBytesAfter).toBeLessThan(1_024);
    expect(scan.total.awsRules).toBe(1);
    expect(index.total.awsRules).toBe(3);
    // The Scan reads every record; the index Query reads only the stale entries.
    const [, larger] = measured.sweeps;
    expect(larger?.scan.itemsRead).toBe(400);
    expect(larger?.index.entriesRead).toBe(4);
  }, 60_000);
});
