/**
 * Every port of the use cases, in memory, wired to one manual clock: what a unit test of
 * `receive`, a renewal job, `sweep` or mailbox management is given. No vitest mocks: each fake
 * behaves as its adapter does (conditional writes, FIFO de-duplication, delays), and the contract
 * suites in test/contract/ run the same assertions against the fakes and the real adapters.
 */

import type { ManageDeps } from '../../../functions/admin/manage.ts';
import { callbackKeyFrom } from '../../../functions/domain/callback.ts';
import { DEFAULT_POLICY, type LifecyclePolicy } from '../../../functions/domain/policy.ts';
import type { ReceiveDeps } from '../../../functions/receiver/receive.ts';
import type { RenewDeps } from '../../../functions/renewer/job.ts';
import type { SweepDeps } from '../../../functions/sweeper/sweep.ts';
import { manualClock } from '../manual-clock.ts';
import { FakeExchange } from './exchange.ts';
import { FakeGraphSubscriptions } from './graph.ts';
import { FakeEventPublisher, FakeRenewalQueue } from './queues.ts';
import { FakeSubscriptionTable } from './subscription-table.ts';
import { FakeSyncStateStore } from './sync-state-table.ts';

export { ewsError, FakeExchange, serverBusy } from './exchange.ts';
export { InjectedFailureError } from './failures.ts';
export { FakeGraphSubscriptions } from './graph.ts';
export { FakeEventPublisher, FakeEventTopic, FakeRenewalQueue } from './queues.ts';
export { FakeSubscriptionTable } from './subscription-table.ts';
export { FakeGraphDeltaStore, FakePushedItemList, FakeSyncStateStore } from './sync-state-table.ts';

/** The callback signing key (the fake of the key secret): fixed bytes, 32 of them. */
export const CALLBACK_KEY = callbackKeyFrom(new Uint8Array(32).fill(7));
export const CALLBACK_BASE_URL = 'https://bridge.example.test';

export type FakeWorld = ReturnType<typeof fakeWorld>;

/**
 * One bridge in memory. `connections` names the Exchange connections configured (the fake of the
 * connections secret); each is served by the one FakeExchange unless a test removes it.
 */
export function fakeWorld(
  options: { policy?: Partial<LifecyclePolicy>; connections?: string[]; graphConnections?: string[] } = {},
) {
  const clock = manualClock();
  const table = new FakeSubscriptionTable();
  const syncStates = new FakeSyncStateStore();
  const pushedItems = syncStates.pushedItems;
  const publisher = new FakeEventPublisher(clock);
  const queue = new FakeRenewalQueue(clock);
  const exchange = new FakeExchange();
  /** Graph's subscriptions, as mailbox management DELETEs them (one for every Graph connection). */
  const graphSubscriptions = new FakeGraphSubscriptions();
  const connections = new Set(options.connections ?? ['default']);
  const graphConnections = new Set(options.graphConnections ?? []);
  const policy: LifecyclePolicy = { ...DEFAULT_POLICY, ...options.policy };
  const progress: string[] = [];
  /** The jitter source: 0.5 unless a test sets it. */
  const random = { value: 0.5 };

  const receiveDeps: ReceiveDeps = { store: table, publisher, pushedItemList: pushedItems, clock };
  const renewDeps: RenewDeps = {
    store: table,
    syncStates,
    pushedItemList: pushedItems,
    exchange: async (name) => (connections.has(name) ? exchange : undefined),
    queue,
    publisher,
    callbackBaseUrl: CALLBACK_BASE_URL,
    callbackKey: async () => CALLBACK_KEY,
    clock,
    policy,
    random: () => random.value,
    progress: (line) => progress.push(line),
  };
  const sweepDeps: SweepDeps = { records: table, queue, clock, policy };
  const manageDeps: ManageDeps = {
    records: table,
    connectionNames: async () => [...connections].sort(),
    graphConnectionNames: async () => [...graphConnections].sort(),
    graphSubscriptions: async (name) => (graphConnections.has(name) ? graphSubscriptions : undefined),
    callbackBaseUrl: CALLBACK_BASE_URL,
    callbackKey: async () => CALLBACK_KEY,
    clock,
    publisher,
    syncStates,
    progress: (line) => progress.push(line),
  };
  return {
    clock,
    table,
    syncStates,
    pushedItems,
    publisher,
    queue,
    exchange,
    graphSubscriptions,
    connections,
    graphConnections,
    policy,
    random,
    progress,
    receiveDeps,
    renewDeps,
    sweepDeps,
    manageDeps,
  };
}
