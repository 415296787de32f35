/** The contract suites against the in-memory fakes (the fast lane: no emulator, no process). */
import { describe } from 'vitest';
import {
  FakeEventPublisher,
  FakeRenewalQueue,
  FakeSubscriptionTable,
  FakeSyncStateStore,
} from '../support/fakes/index.ts';
import { manualClock } from '../support/manual-clock.ts';
import { ingestQueueContract, renewalsQueueContract } from './queues.contract.ts';
import { subscriptionTableContract } from './subscription-table.contract.ts';
import { syncStateTableContract } from './sync-state-table.contract.ts';

describe('fakes', () => {
  describe('subscription table', () => {
    const table = new FakeSubscriptionTable();
    subscriptionTableContract(() => table);
  });

  describe('SyncStates table', () => {
    const states = new FakeSyncStateStore();
    syncStateTableContract(() => ({ states, items: states.pushedItems }));
  });

  describe('queues', () => {
    const clock = manualClock();
    const publisher = new FakeEventPublisher(clock);
    ingestQueueContract(() => ({
      publisher,
      received: async () => publisher.drain().map((m) => ({ groupId: m.groupId, event: m.body })),
    }));
    const queue = new FakeRenewalQueue(clock);
    renewalsQueueContract(() => ({ queue, received: async () => queue.receive() }));
  });
});
