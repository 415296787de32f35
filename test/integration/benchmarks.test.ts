/**
 * The benchmarks drive the real decoder, handler and store; a change there can break them (the
 * sweep-cost one once did, unnoticed until `npm run bench`). Each runs here at a token size: it
 * must still run and check its own inputs. Timings are not asserted (they mean nothing at this
 * size); the sweep-cost request units are deterministic, so they are.
 */
import { describe, expect, it } from 'vitest';
import { measureCost } from '../../bench/cost.ts';
import { benchDecode } from '../../bench/decode.ts';
import { benchEnrichment } from '../../bench/enrichment.ts';
import { benchGraphReceiver } from '../../bench/graph-receiver.ts';
import { benchLocalClients } from '../../bench/local-clients.ts';
import { benchReceiver } from '../../bench/receiver.ts';
import { measureSweepCost } from '../../bench/sweep-cost.ts';

describe('the timing benchmarks, one round of two iterations', () => {
  it('decode: both sizes, as npm run bench runs them', async () => {
    const results = await benchDecode(() => {}, 'smoke');
    expect(results.map((r) => [r.rounds, r.iterationsPerRound, r.target])).toEqual([
      [1, 2, 1.3],
      [1, 2, 1.3],
    ]);
    for (const r of results) expect(r.candidateMicros).toBeGreaterThan(0);
  });

  it('receiver: the handler makes the calls its bare baseline makes', async () => {
    const results = await benchReceiver(() => {}, 'smoke');
    expect(results.map((r) => r.name)).toEqual([
      'receiver handler, notification with 5 events',
      'receiver handler noting 5 created items in the pushed-item list',
      'receiver handler, heartbeat (StatusEvent)',
    ]);
    for (const r of results) expect(r.baselineMicros).toBeGreaterThan(0);
  }, 60_000);

  it('local-clients: the unsigned clients make the signed ones’ calls on the same emulators', async () => {
    const results = await benchLocalClients(() => {}, 'smoke');
    expect(results.map((r) => [r.rounds, r.target])).toEqual([
      [1, null],
      [1, null],
    ]);
    for (const r of results) expect(r.candidateMicros).toBeGreaterThan(0);
  }, 60_000);

  it('enrichment: items reach the Events queue with data.item, and every floor hop is timed', async () => {
    const result = await benchEnrichment(() => {}, 'smoke');
    expect(result.samples).toBe(3);
    expect(result.comparisons.map((c) => c.name)).toEqual([
      'enriched event, change → push → ack → GetItem → consumer, p50',
      'enriched event, change → push → ack → GetItem → consumer, p99',
    ]);
    expect(Object.keys(result.floor)).toEqual([
      'HTTP POST to the front end',
      'DynamoDB GetItem',
      'DynamoDB PutItem',
      'SQS SendMessage',
      'SQS ReceiveMessage',
      'SQS DeleteMessage',
      'GetItem (simulator)',
      'SNS Publish → queue receive + delete',
    ]);
    for (const hop of Object.values(result.floor)) expect(hop.p50).toBeGreaterThan(0);
    expect(result.endToEnd.p50).toBeGreaterThan(0);
  }, 120_000);

  it('graph-receiver: validation and batches of 1 and 50, each against its floor', async () => {
    const results = await benchGraphReceiver(() => {}, 'smoke');
    expect(results.map((r) => [r.name, r.baseline])).toEqual([
      [
        'receiver handler, Graph validation request',
        'bare validationTokenOf + validationAnswer (no edge, no routing)',
      ],
      [
        'receiver handler, Graph batch of 1 change notification',
        'bare GetItem + 1 SendMessageBatch alongside 1 BatchWriteItem',
      ],
      [
        'receiver handler, Graph batch of 50 change notifications',
        'bare GetItem + 5 SendMessageBatch alongside 2 BatchWriteItem',
      ],
    ]);
    for (const r of results) expect(r.baselineMicros).toBeGreaterThan(0);
  }, 60_000);
});

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

describe('the cost of a mailbox-month (docs/cost.md)', () => {
  it('measures the bytes of a heartbeat and a notification through the real handler, and prices every line', async () => {
    const { bytes, months } = await measureCost();
    // A heartbeat publishes a metrics line and no application log line; a notification's events
    // are published CloudEvents of about a kilobyte.
    expect(bytes.heartbeatMetricsLine).toBeGreaterThan(100);
    expect(bytes.heartbeatAppLogLines).toBe(0);
    expect(bytes.event).toBeGreaterThan(500);
    expect(months.map((m) => [m.statusFrequency, m.eventsPerDay])).toEqual([
      [1, 0],
      [1, 100],
      [5, 0],
      [5, 100],
      [30, 0],
      [30, 100],
    ]);
    const total = (sf: number, events: number) =>
      months.find((m) => m.statusFrequency === sf && m.eventsPerDay === events)?.total ?? Number.NaN;
    // Heartbeats scale with 1 / StatusFrequency; events add the same amount at every frequency.
    expect(total(1, 0)).toBeGreaterThan(total(5, 0));
    expect(total(5, 0)).toBeGreaterThan(total(30, 0));
    expect(total(1, 100) - total(1, 0)).toBeCloseTo(total(30, 100) - total(30, 0), 6);
    for (const month of months)
      for (const line of month.lines) expect(line.perMonth).toBeGreaterThanOrEqual(0);
  });

  it('prices a Graph mailbox from the Graph route it measures: no heartbeat, so an idle one costs less', async () => {
    const { months, graphMonths, graphBytes } = await measureCost();
    expect(graphBytes.notificationMetricsLine).toBeGreaterThan(100);
    expect(graphBytes.event).toBeGreaterThan(500);
    expect(graphMonths.map((m) => m.eventsPerDay)).toEqual([0, 50]);
    const idleEws = months.find((m) => m.statusFrequency === 5 && m.eventsPerDay === 0)?.total ?? 0;
    const [idle, busy] = graphMonths;
    expect(idle?.total).toBeLessThan(idleEws);
    expect(busy?.total).toBeGreaterThan(idle?.total ?? Number.POSITIVE_INFINITY);
    // Idle or not, it pays the daily checkpoint that keeps its delta links fresh.
    const checkpoint = idle?.lines.find((l) => l.item.startsWith('daily checkpoint'));
    expect(checkpoint?.perMonth).toBeGreaterThan(0);
  });
});
