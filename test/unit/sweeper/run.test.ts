import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { DEFAULT_POLICY } from '../../../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { createSweepHandler } from '../../../functions/sweeper/run.ts';
import { manualClock } from '../../support/manual-clock.ts';

describe('the sweeper', () => {
  it('logs its run as routine (info) even when it finds stale subscriptions; the metrics carry the alarm', async () => {
    const clock = manualClock();
    const stale: SubscriptionRecord = {
      mailboxKey: mailboxKeyOf('quiet@contoso.test'),
      mailbox: 'quiet@contoso.test',
      connection: 'exo',
      folders: 'all',
      eventTypes: ['CreatedEvent'],
      statusFrequency: 1,
      state: 'active',
      generation: 1,
      subscriptionId: 'S1',
      watermark: 'W1',
      lastContactAt: clock.now() - 60 * 60_000,
      attempts: 0,
      createdAt: 0,
      updatedAt: 0,
    };
    const lines: string[] = [];
    const counted = new Map<string, number>();
    const log = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
    const sweep = createSweepHandler({
      records: {
        async *scan() {
          yield stale;
        },
        markQueued: async () => true,
      },
      queue: { enqueue: async () => {}, requeue: async () => {} },
      clock,
      policy: DEFAULT_POLICY,
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      metrics: { count: (name, value) => counted.set(name, value ?? 1), flush: () => {} },
    });
    expect(await sweep()).toMatchObject({ stale: 1, enqueued: 1 });
    expect(lines).toEqual(['info: sweep done']);
    expect(counted.get('StaleSubscriptions')).toBe(1);
    // Gauges every sweep sends, zero included (an alarm on them must see 0, not missing data).
    expect(counted.get('GraphMailboxes')).toBe(0);
    expect(counted.get('GraphSubscriptionsExpiring')).toBe(0);
  });
});
