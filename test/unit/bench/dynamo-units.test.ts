import { describe, expect, it } from 'vitest';
import {
  candidateMonthlyUnits,
  heartbeatMonthlyUnits,
  type IndexDefinition,
  indexEntry,
  indexWriteUnits,
  itemSize,
  MINUTES_PER_MONTH,
  monthlyUsd,
  numberSize,
  readUnits,
  US_EAST_1_ON_DEMAND,
  updateWriteUnits,
  valueSize,
  writeUnits,
} from '../../../bench/dynamo-units.ts';

describe('item sizes, by the documented rules', () => {
  it('counts attribute names and UTF-8 bytes of strings', () => {
    expect(itemSize({ pk: { S: 'abc' } })).toBe(2 + 3);
    expect(itemSize({ name: { S: 'é' } })).toBe(4 + 2);
  });

  it('sizes numbers at one byte per two significant digits plus one', () => {
    expect(numberSize('0')).toBe(1);
    expect(numberSize('7')).toBe(2);
    expect(numberSize('1763712345678')).toBe(8); // 13 digits
    expect(numberSize('1763712000000')).toBe(5); // trailing zeros trimmed: 7 digits
    expect(numberSize('-0012.50')).toBe(3); // sign, point and leading/trailing zeros do not count
    expect(numberSize('1.5E+3')).toBe(2);
  });

  it('adds 3 bytes per list or map and 1 byte per element', () => {
    expect(valueSize({ L: [] })).toBe(3);
    expect(valueSize({ L: [{ S: 'ab' }, { S: 'c' }] })).toBe(3 + (1 + 2) + (1 + 1));
    expect(valueSize({ M: { id: { S: 'x' } } })).toBe(3 + 1 + 2 + 1);
    expect(valueSize({ BOOL: false })).toBe(1);
    expect(valueSize({ NULL: true })).toBe(1);
  });
});

describe('request units', () => {
  it('rounds reads up to 4 KB, halves eventually consistent ones, and never charges less than one block', () => {
    expect(readUnits(0, 'eventual')).toBe(0.5);
    expect(readUnits(4096, 'eventual')).toBe(0.5);
    expect(readUnits(4097, 'eventual')).toBe(1);
    // The guide's Query example: 40.8 KB rounds to 44 KB, 11 strongly consistent units.
    expect(readUnits(40.8 * 1024, 'strong')).toBe(11);
    // A full 1 MB Scan page read eventually consistently.
    expect(readUnits(1024 * 1024, 'eventual')).toBe(128);
  });

  it('rounds writes up to 1 KB and bills an update on the larger image', () => {
    expect(writeUnits(1)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1.6 * 1024)).toBe(2);
    const small = { pk: { S: 'k' } };
    const large = { pk: { S: 'k' }, blob: { S: 'x'.repeat(1500) } };
    expect(updateWriteUnits(small, large)).toBe(2);
    expect(updateWriteUnits(large, small)).toBe(2);
  });
});

describe('global secondary index writes', () => {
  const keys = ['pk', 'sk'];
  const index: IndexDefinition = { partitionKey: 'shard', sortKey: 'staleAt', projection: 'KEYS_ONLY' };
  const item = (staleAt: string | undefined, extra: string) => ({
    pk: { S: 'm1' },
    sk: { S: 'subscription' },
    shard: { S: 's1' },
    watermark: { S: extra },
    ...(staleAt === undefined ? {} : { staleAt: { N: staleAt } }),
  });

  it('projects keys only for KEYS_ONLY, and leaves items without the index key out', () => {
    expect(indexEntry(item('5', 'w'), index, keys)).toEqual({
      pk: { S: 'm1' },
      sk: { S: 'subscription' },
      shard: { S: 's1' },
      staleAt: { N: '5' },
    });
    expect(indexEntry(item(undefined, 'w'), index, keys)).toBeUndefined();
  });

  it('costs a delete and a put when the index key changes (every heartbeat of candidate B)', () => {
    expect(indexWriteUnits(item('5', 'w1'), item('6', 'w2'), index, keys)).toBe(2);
  });

  it('costs nothing when neither key nor projection changes (KEYS_ONLY, a non-key attribute written)', () => {
    expect(indexWriteUnits(item('5', 'w1'), item('5', 'w2'), index, keys)).toBe(0);
  });

  it('costs one put when only a projected attribute changes', () => {
    const all: IndexDefinition = { ...index, projection: 'ALL' };
    expect(indexWriteUnits(item('5', 'w1'), item('5', 'w2'), all, keys)).toBe(1);
    const include: IndexDefinition = { ...index, projection: ['watermark'] };
    expect(indexWriteUnits(item('5', 'w1'), item('5', 'w2'), include, keys)).toBe(1);
  });

  it('costs one write to add or remove an entry of a sparse index, none when it stays absent', () => {
    expect(indexWriteUnits(item(undefined, 'w'), item('5', 'w'), index, keys)).toBe(1);
    expect(indexWriteUnits(item('5', 'w'), item(undefined, 'w'), index, keys)).toBe(1);
    expect(indexWriteUnits(item(undefined, 'w1'), item(undefined, 'w2'), index, keys)).toBe(0);
    expect(indexWriteUnits(undefined, item('5', 'w'), index, keys)).toBe(1);
  });
});

describe('monthly cost', () => {
  it('uses a 730-hour month', () => {
    expect(MINUTES_PER_MONTH).toBe(43_800);
  });

  it('prices a scan sweep a minute and an index that adds two writes per heartbeat', () => {
    const workload = { mailboxes: 100_000, statusFrequencyMinutes: 5 };
    const scan = candidateMonthlyUnits(
      { readUnitsPerSweep: 6_000, extraWriteUnitsPerHeartbeat: 0, sweepEveryMinutes: 1 },
      workload,
    );
    expect(scan).toEqual({ readUnits: 6_000 * 43_800, writeUnits: 0 });
    expect(monthlyUsd(scan, US_EAST_1_ON_DEMAND)).toBeCloseTo(32.85, 2);

    const index = candidateMonthlyUnits(
      { readUnitsPerSweep: 10, extraWriteUnitsPerHeartbeat: 2, sweepEveryMinutes: 1 },
      workload,
    );
    // 100,000 mailboxes × 8,760 heartbeats a month × 2 index writes.
    expect(index).toEqual({ readUnits: 438_000, writeUnits: 1_752_000_000 });
    expect(monthlyUsd(index, US_EAST_1_ON_DEMAND)).toBeCloseTo(1_095.05, 2);

    const heartbeats = heartbeatMonthlyUnits(1, workload);
    expect(monthlyUsd(heartbeats, US_EAST_1_ON_DEMAND)).toBeCloseTo(547.5, 2);
  });

  it('divides the read cost by the sweep period', () => {
    const every5 = candidateMonthlyUnits(
      { readUnitsPerSweep: 600, extraWriteUnitsPerHeartbeat: 0, sweepEveryMinutes: 5 },
      { mailboxes: 10_000, statusFrequencyMinutes: 1 },
    );
    expect(every5.readUnits).toBe((600 * 43_800) / 5);
  });
});
