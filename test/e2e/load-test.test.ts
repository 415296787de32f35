/**
 * The seed's load test scaled down (issue 13): 2,000 calendar items created across 80 mailboxes
 * with enrichment on, on the whole local run. Every item reaches the consumer as a CreatedEvent
 * that carries it (`data.item`), no change is missing, nothing is delivered twice. The full
 * 100,000 is `npm run load-test -- --items 100000` (no timing is asserted here).
 */
import { describe, expect, it } from 'vitest';
import { runLoadTest } from '../../local/load-test.ts';

describe('the load test, scaled down', () => {
  it('delivers every one of 2,000 calendar items across 80 mailboxes with its item', {
    timeout: 300_000,
  }, async () => {
    const result = await runLoadTest({ items: 2_000, mailboxes: 80 });
    expect(result.deliveredWithItem).toBe(2_000);
    expect(result.missingItems).toBe(0);
    expect(result.enrichmentOutcomes).toEqual({});
    expect(result.settled).toBe(true);
    expect(result.report).toMatchObject({
      settled: true,
      missingChanges: 0,
      duplicateEvents: 0,
      unhealed: 0,
      awaitingChanges: 0,
    });
    // The watched changes are the 2,000 creates (the mailboxes' initial items predate watching).
    expect(result.report.generatedChanges).toBe(2_000);
    expect(result.latencyMs.p50).toBeGreaterThan(0);
  });
});
