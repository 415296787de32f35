/** The contract suites against the in-memory fakes (the fast lane: no emulator, no process). */
import { describe } from 'vitest';
import {
  FakeEventPublisher,
  FakeEventTopic,
  FakeExchange,
  FakeGraphDeltaStore,
  FakeRenewalQueue,
  FakeSubscriptionTable,
  FakeSyncStateStore,
} from '../support/fakes/index.ts';
import { manualClock } from '../support/manual-clock.ts';
import { eventTopicContract } from './event-topic.contract.ts';
import { exchangeContract } from './exchange.contract.ts';
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
    const deltas = new FakeGraphDeltaStore();
    syncStateTableContract(() => ({ states, items: states.pushedItems, deltas }));
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

  describe('events topic', () => {
    const topic = new FakeEventTopic();
    eventTopicContract(() => ({
      topic,
      received: async () => topic.drain().map((m) => ({ groupId: m.groupId, body: m.body.body })),
    }));
  });

  describe('Exchange (RenewalExchange)', () => {
    const exchange = new FakeExchange();
    const folder = { distinguishedFolderId: 'inbox' } as const;
    let mailboxes = 0;
    let items = 0;
    exchangeContract(() => ({
      exchange,
      folder,
      newMailbox: async () => {
        const mailbox = `fake${++mailboxes}@contoso.test`;
        exchange.mailbox(mailbox, [folder]);
        return mailbox;
      },
      createItem: async (mailbox) => {
        const id = `AAMk-fake-${++items}`;
        exchange.createItem(mailbox, folder, id);
        return id;
      },
      deleteItem: async (mailbox, itemId) => {
        exchange.deleteItem(mailbox, folder, itemId);
      },
    }));
  });
});
