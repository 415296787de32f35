import { describe, expect, it } from 'vitest';
import { US_EAST_1_ON_DEMAND } from '../../../bench/dynamo-units.ts';
import {
  costTable,
  indexedItem,
  isStale,
  NOW,
  type QuerySweep,
  type ScanSweep,
  sampleRecord,
  subscriptionItem,
} from '../../../bench/sweep-cost.ts';
import { parseSubscriptionRecord } from '../../../functions/adapters/subscription-table.ts';

describe('the benchmark records', () => {
  it('are valid subscription records, as the store would read them back', () => {
    for (const i of [0, 1, 2, 99, 12_345]) {
      expect(parseSubscriptionRecord(subscriptionItem(sampleRecord(i, 100)))).toEqual(sampleRecord(i, 100));
    }
  });

  it('carry Exchange Online-sized ids and are the same on every run', () => {
    const record = sampleRecord(7, 100);
    expect(record.subscriptionId).toHaveLength(60);
    expect(record.watermark).toHaveLength(44);
    expect(sampleRecord(7, 100)).toEqual(record);
  });

  it('make every n-th record silent, and give B the deadline the sweep compares with', () => {
    expect([98, 99, 100, 199].map((i) => isStale(i, 100))).toEqual([false, true, false, true]);
    const stale = indexedItem(sampleRecord(99, 100), 10);
    const fresh = indexedItem(sampleRecord(98, 100), 10);
    expect(Number(stale.staleAt)).toBeLessThan(NOW);
    expect(Number(fresh.staleAt)).toBeGreaterThan(NOW);
    expect(stale.sweepShard).toMatch(/^s\d$/);
  });
});

describe('the cost table', () => {
  const scan = (units: number): ScanSweep => ({
    requests: 4,
    itemsRead: 0,
    bytesRead: 0,
    staleFound: 0,
    readUnits: { reportedByDynalite: units, awsRules: units },
    millis: 0,
  });
  const query = (units: number): QuerySweep => ({
    requests: 10,
    entriesRead: 0,
    bytesRead: 0,
    staleFound: 0,
    readUnits: { reportedByDynalite: units, awsRules: units },
    millis: 0,
  });
  const heartbeat = (table: number, index: number) => ({
    table: { reportedByDynalite: table, awsRules: table },
    index: { reportedByDynalite: null, awsRules: index },
    total: { reportedByDynalite: table, awsRules: table + index },
    itemBytesBefore: 0,
    itemBytesAfter: 0,
  });

  it('charges B the index writes of every heartbeat and A one scan a minute', () => {
    const [row] = costTable(
      {
        sweeps: [{ mailboxes: 100_000, scan: scan(6_000), index: query(10) }],
        heartbeat: { scan: heartbeat(1, 0), index: heartbeat(1, 2) },
      },
      [30],
      US_EAST_1_ON_DEMAND,
    );
    expect(row?.heartbeats.writeUnits).toBe(100_000 * 1_460);
    expect(row?.scan.readUnits).toBe(6_000 * 43_800);
    expect(row?.scan.writeUnits).toBe(0);
    expect(row?.index.writeUnits).toBe(2 * 100_000 * 1_460);
    expect(row?.index.readUnits).toBe(10 * 43_800);
    // Scanning every 5 minutes, plus one (empty) attention Query a minute at the 0.5-unit minimum.
    expect(row?.slowScan.readUnits).toBe((6_000 * 43_800) / 5 + 0.5 * 43_800);
    expect(row?.indexOverScan).toBeCloseTo(row ? row.index.usd / row.scan.usd : 0, 10);
  });
});
