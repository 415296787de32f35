/**
 * The SyncFolderItems job and the checkpoint on the fakes: what a catch-up owes and how it fails,
 * and how a checkpoint takes pending SyncStates, waits for a drained push built after the take, then moves them
 * and trims the pushed-item list (docs/how-it-works.md, "Checkpoints").
 */
import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import { checkpoint } from '../../../functions/renewer/checkpoint.ts';
import { TRIM_MARGIN_MS } from '../../../functions/renewer/reconcile.ts';
import { synchronize } from '../../../functions/renewer/synchronize.ts';
import { ewsError, type FakeWorld, fakeWorld, serverBusy } from '../../support/fakes/index.ts';

const MINUTE = 60_000;
const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };

/** Active at generation 5, its inbox synchronized to where Exchange stands now. */
async function given(overrides: Partial<SubscriptionRecord> = {}) {
  const world = fakeWorld();
  world.exchange.mailbox(mailbox, [inbox]).createItem(mailbox, inbox, 'a').createItem(mailbox, inbox, 'b');
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: 'default',
    folders: [inbox],
    eventTypes: ['CreatedEvent'],
    statusFrequency: 1,
    state: 'active',
    generation: 5,
    subscriptionId: 'S5',
    watermark: 'W1',
    lastContactAt: world.clock.now(),
    attempts: 0,
    drainedAt: world.clock.now(),
    checkpointDueAt: world.clock.now(),
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
  world.table.put(record);
  await world.syncStates.put(mailboxKey, {
    folder: inbox,
    syncState: world.exchange.syncStateAtEnd(mailbox, inbox),
    complete: true,
    itemsSeen: 2,
    updatedAt: 0,
  });
  return world;
}

const current = (world: FakeWorld) => {
  const r = world.table.peek(mailboxKey);
  if (r === undefined) throw new Error('no record');
  return r;
};

describe('synchronize', () => {
  it('nothing owed: nothing done', async () => {
    const world = await given();
    expect(await synchronize(current(world), world.exchange, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'healthy',
    });
    expect(world.exchange.calls).toEqual([]);
  });

  it('a catch-up: publishes every change since the stored SyncState, in pages, and stores where it got to', async () => {
    const w = await given({ syncWork: 'catchUp', syncReason: 'watermarkRejected' });
    for (const id of ['c', 'd', 'e']) w.exchange.createItem(mailbox, inbox, id);
    w.exchange.deleteItem(mailbox, inbox, 'a');
    const deps = { ...w.renewDeps, policy: { ...w.policy, syncPageSize: 2 } };
    expect(await synchronize(current(w), w.exchange, deps)).toEqual({
      kind: 'synced',
      work: 'catchUp',
      published: 4,
    });
    expect(w.exchange.calls.filter((c) => c.startsWith('syncFolderItems'))).toHaveLength(2);
    expect(w.publisher.types()).toEqual([
      'resync.Create',
      'resync.Create',
      'resync.Create',
      'resync.Delete',
      'subscription.resynced',
    ]);
    expect((await w.syncStates.get(mailboxKey, inbox))?.syncState).toBe(
      w.exchange.syncStateAtEnd(mailbox, inbox),
    );
    expect(current(w).syncWork).toBeUndefined();
    expect(current(w).checkpointDueAt).toBe(w.clock.now() + 24 * 60 * MINUTE);
  });

  it('a SyncState Exchange no longer accepts: the folder starts over and every item is reported', async () => {
    const world = await given({ syncWork: 'catchUp' });
    world.exchange.invalidateSyncStates(mailbox);
    expect(await synchronize(current(world), world.exchange, world.renewDeps)).toMatchObject({
      kind: 'synced',
      published: 2,
    });
    expect(world.publisher.types()).toEqual(['resync.Create', 'resync.Create', 'subscription.resynced']);
  });

  it('an item GetItem cannot tell about stays listed for the next catch-up; no Delete is guessed', async () => {
    const world = await given({ syncWork: 'catchUp' });
    world.pushedItems.note(mailboxKey, { itemId: 'unsure', folderId: null, notedAt: world.clock.now() });
    world.exchange.cannotTell(mailbox, 'unsure');
    await synchronize(current(world), world.exchange, world.renewDeps);
    expect(world.publisher.types()).toEqual(['subscription.resynced']);
    expect(world.pushedItems.entries(mailboxKey).map((e) => e.itemId)).toEqual(['unsure']);
  });

  it('a failure: deferred and requeued after back-off, the work still owed', async () => {
    const world = await given({ syncWork: 'catchUp' });
    world.exchange.failNext('syncFolderItems', ewsError('SyncFolderItems', 'ErrorInternalServerError'));
    const outcome = await synchronize(current(world), world.exchange, world.renewDeps);
    expect(outcome).toMatchObject({ kind: 'failed', lost: false, nextAttemptAt: world.clock.now() + 22_500 });
    expect(current(world)).toMatchObject({ syncWork: 'catchUp', nextAttemptAt: world.clock.now() + 22_500 });
    expect(world.queue.pending().map((p) => [p.job.reason, p.delayMs])).toEqual([['sync', 22_500]]);
  });

  it('throttled: waits as long as Exchange asked', async () => {
    const world = await given({ syncWork: 'catchUp' });
    world.exchange.failNext('checkItems', serverBusy('GetItem', 7_000));
    world.pushedItems.note(mailboxKey, { itemId: 'x', folderId: null, notedAt: 0 });
    expect(await synchronize(current(world), world.exchange, world.renewDeps)).toEqual({
      kind: 'throttled',
      delayMs: 7_000,
    });
    expect(world.queue.pending().map((p) => p.delayMs)).toEqual([7_000]);
    // Nothing was forgotten: the check is made again.
    expect(world.pushedItems.entries(mailboxKey)).toHaveLength(1);
  });

  it('a baseline still owed by an active record: taken, nothing published', async () => {
    const world = await given({ syncWork: 'baseline' });
    await world.syncStates.clear(mailboxKey);
    expect(await synchronize(current(world), world.exchange, world.renewDeps)).toEqual({
      kind: 'synced',
      work: 'baseline',
      published: 0,
    });
    expect(world.publisher.events()).toEqual([]);
    expect((await world.syncStates.get(mailboxKey, inbox))?.complete).toBe(true);
  });
});

describe('checkpoint', () => {
  /** A push saying Exchange's queue was empty arrives now. */
  const drain = async (world: FakeWorld) => {
    await world.table.advance({
      mailboxKey,
      generation: current(world).generation,
      subscriptionId: 'S5',
      expect: { kind: 'subscription' },
      watermark: null,
      contactAt: world.clock.now(),
      drained: true,
    });
  };

  it('takes pending SyncStates, waits for a drained push built after the take, then makes them current and trims the pushed-item list', async () => {
    const world = await given();
    const before = (await world.syncStates.get(mailboxKey, inbox))?.syncState;
    world.pushedItems.note(mailboxKey, {
      itemId: 'old',
      folderId: null,
      notedAt: world.clock.now() - TRIM_MARGIN_MS - 1,
    });
    world.exchange.createItem(mailbox, inbox, 'c');
    const taken = await checkpoint(current(world), world.exchange, world.renewDeps);
    expect(taken).toMatchObject({
      kind: 'checkpointed',
      taken: 1,
      promoted: 0,
      // A heartbeat must come one StatusFrequency (+ slack) after the bound: 2 + 1 + 1 + 1 minutes.
      nextAt: world.clock.now() + 5 * MINUTE,
    });
    expect((await world.syncStates.get(mailboxKey, inbox))?.syncState).toBe(before);
    expect(world.publisher.events()).toEqual([]);

    // Drained pushes up to the bound (2 x StatusFrequency + slack) might be retries of pushes
    // built before the take: they prove nothing.
    world.clock.advance(3 * MINUTE);
    world.pushedItems.note(mailboxKey, { itemId: 'recent', folderId: null, notedAt: world.clock.now() });
    await drain(world);
    expect(await checkpoint(current(world), world.exchange, world.renewDeps)).toMatchObject({
      promoted: 0,
      taken: 0,
    });

    world.clock.advance(2 * MINUTE);
    await drain(world);
    expect(await checkpoint(current(world), world.exchange, world.renewDeps)).toMatchObject({
      promoted: 1,
      trimmed: 1,
    });
    expect((await world.syncStates.get(mailboxKey, inbox))?.syncState).toBe(
      world.exchange.syncStateAtEnd(mailbox, inbox),
    );
    expect(world.pushedItems.entries(mailboxKey).map((e) => e.itemId)).toEqual(['recent']);
    expect(await world.syncStates.getCheckpoint(mailboxKey)).toBeUndefined();
  });

  it('a renewal in between discards the pending states: the new subscription proves nothing about the old one', async () => {
    const world = await given();
    await checkpoint(current(world), world.exchange, world.renewDeps);
    const pending = await world.syncStates.getCheckpoint(mailboxKey);
    await world.table.beginRenewal({
      mailboxKey,
      fromGeneration: 5,
      toGeneration: 6,
      state: 'renewing',
      now: world.clock.now(),
    });
    await world.table.completeRenewal({
      mailboxKey,
      generation: 6,
      subscriptionId: 'S6',
      watermark: 'W',
      now: world.clock.now(),
      syncWork: undefined,
      syncReason: undefined,
    });
    await world.table.scheduleCheckpoint({
      mailboxKey,
      generation: 6,
      dueAt: world.clock.now(),
      now: world.clock.now(),
    });
    world.clock.advance(3 * MINUTE);
    const outcome = await checkpoint(current(world), world.exchange, world.renewDeps);
    expect(outcome).toMatchObject({ promoted: 0, taken: 1 });
    expect((await world.syncStates.getCheckpoint(mailboxKey))?.generation).toBe(6);
    expect(pending?.generation).toBe(5);
  });

  it('a failed checkpoint is retried 10 minutes later, or as late as Exchange asks when throttling', async () => {
    const world = await given();
    world.exchange.failNext('syncFolderItems', ewsError('SyncFolderItems', 'ErrorInternalServerError'));
    expect(await checkpoint(current(world), world.exchange, world.renewDeps)).toMatchObject({
      kind: 'deferred',
      throttled: false,
      nextAt: world.clock.now() + 10 * MINUTE,
    });
    world.exchange.failNext('syncFolderItems', serverBusy('SyncFolderItems', 90_000));
    expect(await checkpoint(current(world), world.exchange, world.renewDeps)).toMatchObject({
      kind: 'deferred',
      throttled: true,
      nextAt: world.clock.now() + 90_000,
    });
  });

  it('one claim per due time: a second run of the same job does nothing', async () => {
    const world = await given();
    const record = current(world);
    await checkpoint(record, world.exchange, world.renewDeps);
    expect(await checkpoint(record, world.exchange, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'raced',
    });
  });
});
