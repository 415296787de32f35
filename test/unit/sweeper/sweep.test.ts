/**
 * The sweep on the fakes: one job per mailbox that needs the lifecycle, for each reason the
 * lifecycle section names, never twice while one waits, and the counts the alarms read.
 */
import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { NEEDS_ATTENTION_PREFIX } from '../../../functions/domain/renewal-job.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { sweep } from '../../../functions/sweeper/sweep.ts';
import { type FakeWorld, fakeWorld } from '../../support/fakes/index.ts';

const MINUTE = 60_000;

function record(
  world: FakeWorld,
  name: string,
  overrides: Partial<SubscriptionRecord> = {},
): SubscriptionRecord {
  const mailbox = `${name}@contoso.test`;
  const r: SubscriptionRecord = {
    mailboxKey: mailboxKeyOf(mailbox),
    mailbox,
    connection: 'default',
    folders: 'all',
    eventTypes: ['CreatedEvent'],
    statusFrequency: 5,
    state: 'active',
    generation: 2,
    subscriptionId: 'S2',
    watermark: 'W',
    lastContactAt: world.clock.now() - MINUTE,
    attempts: 0,
    checkpointDueAt: world.clock.now() + 60 * MINUTE,
    createdAt: 0,
    updatedAt: world.clock.now(),
    ...overrides,
  };
  world.table.put(r);
  return r;
}

describe('sweep', () => {
  it('queues one job per mailbox that needs one, with its reason, and counts what it saw', async () => {
    const world = fakeWorld();
    const now = world.clock.now();
    record(world, 'healthy');
    record(world, 'stale', { lastContactAt: now - (2 * 5 * MINUTE + 60_000) - 1 });
    record(world, 'gap', { recovery: 'gap', recoveryWatermark: 'W0' });
    record(world, 'dead', { recovery: 'dead' });
    record(world, 'added', { state: 'subscribing', nextAttemptAt: now });
    record(world, 'retry-due', { state: 'renewing', nextAttemptAt: now - 1, attempts: 2 });
    record(world, 'retry-later', { state: 'renewing', nextAttemptAt: now + 1, attempts: 2 });
    record(world, 'renewal-under-way', { state: 'renewing', updatedAt: now - 60_000 });
    record(world, 'renewal-abandoned', { state: 'renewing', updatedAt: now - 5 * MINUTE });
    record(world, 'lost', {
      state: 'lost',
      nextAttemptAt: now + 10 * MINUTE,
      lastError: `${NEEDS_ATTENTION_PREFIX}rights`,
    });
    record(world, 'sync-owed', { syncWork: 'catchUp' });
    record(world, 'sync-later', { syncWork: 'catchUp', nextAttemptAt: now + 1 });
    record(world, 'checkpoint-due', { checkpointDueAt: now });
    record(world, 'removed', { state: 'removed', recovery: 'gap' });
    // Graph mailboxes: no heartbeat to go stale; renewal by expiry, lifecycle work from the receiver.
    const graph = (expiresAt: number): Partial<SubscriptionRecord> => {
      const {
        subscriptionId: _,
        watermark: __,
        lastContactAt: ___,
        ...ews
      } = {} as Partial<SubscriptionRecord>;
      return {
        ...ews,
        source: 'graph',
        statusFrequency: 0,
        // Silent for a day: for a Graph mailbox that means nothing.
        lastContactAt: now - 24 * 60 * MINUTE,
        graph: {
          userId: 'u',
          messages: { generation: 2, subscriptionId: 'SM', expiresAt },
          events: { generation: 2, subscriptionId: 'SE', expiresAt: now + 7 * 24 * 60 * MINUTE },
        },
      };
    };
    const halfLife = (10_080 * MINUTE) / 2;
    record(world, 'graph-healthy', graph(now + halfLife + MINUTE));
    record(world, 'graph-renewal-due', graph(now + halfLife));
    record(world, 'graph-removed-by-graph', {
      ...graph(now + halfLife + MINUTE),
      graphWork: { messages: ['recreate'] },
    });
    record(world, 'graph-obsolete', { ...graph(now + halfLife + MINUTE), graphObsolete: ['OLD'] });
    record(world, 'graph-no-events', {
      ...graph(now + halfLife + MINUTE),
      graph: {
        userId: 'u',
        messages: { generation: 2, subscriptionId: 'SM', expiresAt: now + halfLife + MINUTE },
      },
    });
    // Renewal not working: a day from expiring (counted for the GraphSubscriptionsExpiring alarm);
    // a removed one is nobody's concern.
    record(world, 'graph-expiring', graph(now + 24 * 60 * MINUTE));
    record(world, 'graph-removed', { ...graph(now + MINUTE), state: 'removed' });
    const summary = await sweep(world.sweepDeps);
    expect(summary).toEqual({
      scanned: 21,
      active: 13,
      stale: 1,
      renewing: 5,
      lost: 1,
      needingAttention: 1,
      enqueued: 13,
      byReason: { stale: 1, gap: 1, dead: 1, retry: 3, sync: 1, checkpoint: 1, renew: 3, lifecycle: 2 },
      graphMailboxes: 6,
      graphExpiring: 1,
    });
    const jobs = world.queue.receive();
    const byMailbox = Object.fromEntries(
      [...jobs].map((j) => [world.table.peek(j.mailboxKey)?.mailbox.split('@')[0], j.reason]),
    );
    expect(byMailbox).toEqual({
      stale: 'stale',
      gap: 'gap',
      dead: 'dead',
      added: 'retry',
      'retry-due': 'retry',
      'renewal-abandoned': 'retry',
      'sync-owed': 'sync',
      'checkpoint-due': 'checkpoint',
      'graph-renewal-due': 'renew',
      'graph-removed-by-graph': 'lifecycle',
      'graph-obsolete': 'lifecycle',
      'graph-no-events': 'renew',
      'graph-expiring': 'renew',
    });
    for (const job of jobs) expect(world.table.peek(job.mailboxKey)?.renewalQueuedAt).toBe(world.clock.now());
  });

  it('does not queue a mailbox again while its job waits, and does after 15 minutes', async () => {
    const world = fakeWorld();
    record(world, 'gap', { recovery: 'gap' });
    expect((await sweep(world.sweepDeps)).enqueued).toBe(1);
    world.clock.advance(15 * MINUTE - 1);
    expect((await sweep(world.sweepDeps)).enqueued).toBe(0);
    world.clock.advance(1);
    expect((await sweep(world.sweepDeps)).enqueued).toBe(1);
    expect(world.queue.receive()).toHaveLength(2);
  });

  it('marks jobs queued only after sending them: a failed send leaves them to the next sweep', async () => {
    const world = fakeWorld();
    const gap = record(world, 'gap', { recovery: 'gap' });
    world.queue.failures.failOn('enqueue', 1);
    await expect(sweep(world.sweepDeps)).rejects.toThrow(/injected/);
    expect(world.table.peek(gap.mailboxKey)?.renewalQueuedAt).toBeUndefined();
    expect((await sweep(world.sweepDeps)).enqueued).toBe(1);
  });

  it('an empty table: nothing queued', async () => {
    const world = fakeWorld();
    expect(await sweep(world.sweepDeps)).toMatchObject({ scanned: 0, enqueued: 0 });
  });
});
