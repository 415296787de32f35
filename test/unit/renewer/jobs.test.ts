/**
 * The renewer's jobs on the fakes with a manual clock (docs/how-it-works.md, "Keeping
 * subscriptions alive"): the first subscription after its baseline, resuming from the last good
 * watermark, a fresh subscription and catch-up when the watermark is rejected or too old,
 * throttling, back-off, lost and recovered, errors only a person can fix, and the checks every
 * queued job passes first.
 */
import { describe, expect, it } from 'vitest';
import { addMailbox } from '../../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { NEEDS_ATTENTION_PREFIX } from '../../../functions/domain/renewal-job.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { decodeSendNotification } from '../../../functions/ews/notification.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import { type Decision, receive } from '../../../functions/receiver/receive.ts';
import { openJob, type RenewalExchange } from '../../../functions/renewer/job.ts';
import { resubscribe } from '../../../functions/renewer/resubscribe.ts';
import { ewsError, type FakeWorld, fakeWorld, serverBusy } from '../../support/fakes/index.ts';
import { renewQueued, sweepAndRenew } from '../../support/fakes/lifecycle.ts';
import { created, type PushEvent, sendNotification, status } from '../../support/pushes.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const calendar: FolderRef = { distinguishedFolderId: 'calendar' };

/** `mailboxes add` for the mailbox (inbox and calendar unless told), as an operator runs it. */
async function add(world: FakeWorld, folders: readonly FolderRef[] | 'all' = [inbox, calendar]) {
  const added = await addMailbox(
    { mailbox, connection: 'default', folders, eventTypes: ['CreatedEvent'], statusFrequency: 1 },
    world.manageDeps,
  );
  if (!added.ok) throw added.error;
}

/** A mailbox added and watched: baseline taken, first subscription current (SUB-1, generation 2). */
async function watched(world: FakeWorld = fakeWorld()) {
  world.exchange.mailbox(mailbox, [inbox, calendar]).createItem(mailbox, inbox, 'old-1');
  await add(world);
  const { outcomes } = await sweepAndRenew(world);
  expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'first' }]);
  world.publisher.drain();
  world.exchange.calls.length = 0;
  return world;
}

const record = (world: FakeWorld): SubscriptionRecord => {
  const r = world.table.peek(mailboxKey);
  if (r === undefined) throw new Error('no record');
  return r;
};

/** The subscription speaks (heartbeat) through the receiver's write, as it would. */
async function heartbeat(world: FakeWorld, watermark: string) {
  const r = record(world);
  expect(
    await world.table.advance({
      mailboxKey,
      generation: r.generation,
      subscriptionId: r.subscriptionId ?? '',
      expect: { kind: 'subscription' },
      watermark,
      contactAt: world.clock.now(),
      drained: true,
    }),
  ).toBe(true);
}

describe('the first subscription', () => {
  it('takes the baseline of every folder before Subscribe, then subscribes on a new generation: created', async () => {
    const world = fakeWorld();
    world.exchange.mailbox(mailbox, [inbox, calendar]).createItem(mailbox, inbox, 'old-1');
    await add(world);
    const { summary, outcomes } = await sweepAndRenew(world);
    expect(summary.byReason.retry).toBe(1);
    expect(outcomes).toEqual([
      {
        kind: 'subscribed',
        how: 'first',
        subscriptionId: 'SUB-1',
        generation: 2,
        recovered: false,
        resyncPublished: 0,
      },
    ]);
    expect(world.exchange.calls).toEqual([
      `syncFolderItems ${mailbox} d#inbox`,
      `syncFolderItems ${mailbox} d#calendar`,
      `subscribe ${mailbox}`,
    ]);
    expect(world.exchange.subscribeRequests[0]?.url).toMatch(new RegExp(`/ews/${mailboxKey}/2/`));
    expect((await world.syncStates.get(mailboxKey, inbox))?.syncState).toBe(
      world.exchange.syncStateAtEnd(mailbox, inbox),
    );
    expect(record(world)).toMatchObject({
      state: 'active',
      generation: 2,
      subscriptionId: 'SUB-1',
      watermark: 'WM-1-0',
      attempts: 0,
      checkpointDueAt: world.clock.now() + DAY, // interval × (0.9 + 0.2 × 0.5)
    });
    expect(record(world).syncWork).toBeUndefined();
    // The baseline publishes nothing: consumers hear of changes from the subscription on.
    expect(world.publisher.types()).toEqual(['subscription.created']);
  });

  it('a baseline that fails is retried with back-off; Subscribe is not sent without it', async () => {
    const world = fakeWorld();
    world.exchange
      .mailbox(mailbox, [inbox])
      .failNext('syncFolderItems', ewsError('SyncFolderItems', 'ErrorInternalServerError'));
    await add(world, [inbox]);
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'failed', lost: false, needsAttention: false }]);
    expect(world.exchange.calls.some((c) => c.startsWith('subscribe'))).toBe(false);
    expect(record(world)).toMatchObject({ state: 'subscribing', attempts: 1, syncWork: 'baseline' });
  });
});

describe('renewing a subscription', () => {
  it('silent past 2 × StatusFrequency + 60 s: resumes from the last good watermark on a new generation: renewed', async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(2 * MINUTE + 60_000 + 1);
    const { summary, outcomes } = await sweepAndRenew(world);
    expect(summary).toMatchObject({ stale: 1, enqueued: 1, byReason: { stale: 1 } });
    expect(outcomes).toMatchObject([
      { kind: 'subscribed', how: 'resumed', generation: 3, subscriptionId: 'SUB-2' },
    ]);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
    expect(world.publisher.types()).toEqual(['subscription.renewed']);
    expect(record(world)).toMatchObject({ generation: 3, subscriptionId: 'SUB-2', state: 'active' });
  });

  it('not yet silent long enough: nothing is queued', async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(2 * MINUTE + 60_000);
    expect((await sweepAndRenew(world)).summary).toMatchObject({ stale: 0, enqueued: 0 });
  });

  it('a gap reported by the receiver: resumes from the watermark before the gap, and the recovery request is cleared', async () => {
    const world = await watched();
    const r = record(world);
    await world.table.advance({
      mailboxKey,
      generation: r.generation,
      subscriptionId: 'SUB-1',
      expect: { kind: 'subscription' },
      watermark: 'W9',
      contactAt: world.clock.now(),
      recovery: { reason: 'gap', watermark: 'W5' },
    });
    const { summary, outcomes } = await sweepAndRenew(world);
    expect(summary.byReason.gap).toBe(1);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'resumed' }]);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W5`]);
    expect(record(world).recovery).toBeUndefined();
  });

  it('an error push (dead): renewed the same way', async () => {
    const world = await watched();
    await world.table.advance({
      mailboxKey,
      generation: 2,
      subscriptionId: 'SUB-1',
      expect: { kind: 'subscription' },
      watermark: null,
      contactAt: world.clock.now(),
      recovery: { reason: 'dead', watermark: 'WM-1-0' },
    });
    const { summary, outcomes } = await sweepAndRenew(world);
    expect(summary.byReason.dead).toBe(1);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'resumed' }]);
  });

  it('the watermark rejected (ErrorInvalidWatermark): subscribes fresh and catches up, then GetItem finds deletions SyncFolderItems cannot see: resynced', async () => {
    const world = await watched();
    // Pushed while the old subscription lived: consumers hold both items.
    world.pushedItems.note(mailboxKey, {
      itemId: 'pushed-kept',
      folderId: 'inbox-id',
      notedAt: world.clock.now(),
    });
    world.pushedItems.note(mailboxKey, {
      itemId: 'pushed-gone',
      folderId: 'inbox-id',
      notedAt: world.clock.now(),
    });
    world.exchange.createItem(mailbox, inbox, 'pushed-kept').vanish(mailbox, 'pushed-gone');
    // Changed while no subscription existed.
    world.exchange.createItem(mailbox, calendar, 'while-gone');
    world.exchange.rejectWatermarks = 'all';
    world.clock.advance(10 * MINUTE);
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'fresh', resyncPublished: 3 }]);
    expect(world.exchange.calls).toEqual([
      `subscribe ${mailbox} watermark=WM-1-0`,
      `subscribe ${mailbox}`,
      expect.stringMatching(/^syncFolderItems .* d#inbox from=/),
      expect.stringMatching(/^syncFolderItems .* d#calendar from=/),
      `checkItems ${mailbox} 1`,
    ]);
    expect(world.publisher.types()).toEqual([
      'resync.Create',
      'resync.Create',
      'resync.Delete',
      'subscription.resynced',
    ]);
    const deletion = world.publisher.events().find((e) => e.type.endsWith('resync.Delete'));
    expect(deletion?.subject).toBe('pushed-gone');
    // What the catch-up found carries the mailbox's connection, so the processor enriches it.
    // (The Delete GetItem found has nothing to read, and carries none.)
    const found = world.publisher.messages().filter((m) => m.body.type.endsWith('.resync.Create'));
    expect(found.map((m) => m.attributes?.['bridge.connection'])).toEqual(['default', 'default']);
    expect(record(world)).toMatchObject({ state: 'active', generation: 3 });
    expect(record(world).syncWork).toBeUndefined();
    expect((await world.syncStates.get(mailboxKey, calendar))?.syncState).toBe(
      world.exchange.syncStateAtEnd(mailbox, calendar),
    );
    // Both settled: the deletion published, the kept item covered by the new SyncState (noted
    // well before the catch-up began).
    expect(world.pushedItems.entries(mailboxKey)).toEqual([]);
  });

  it('the watermark older than 29 days: subscribes fresh (none sent) and catches up', async () => {
    const world = await watched();
    world.exchange.createItem(mailbox, inbox, 'new-1');
    world.clock.advance(29 * DAY + 1);
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'fresh', resyncPublished: 1 }]);
    expect(world.exchange.calls[0]).toBe(`subscribe ${mailbox}`);
    const resynced = world.publisher.events().find((e) => e.type.endsWith('subscription.resynced'));
    expect(JSON.stringify(resynced?.data)).toContain('watermarkExpired');
  });

  it('a catch-up that fails after the fresh subscription is owed and retried later, not lost', async () => {
    const world = await watched();
    world.exchange.rejectWatermarks = 'all';
    world.exchange.failNext('syncFolderItems', ewsError('SyncFolderItems', 'ErrorInternalServerError'));
    world.clock.advance(10 * MINUTE);
    await sweepAndRenew(world);
    expect(record(world)).toMatchObject({
      state: 'active',
      syncWork: 'catchUp',
      syncReason: 'watermarkRejected',
    });
    const [requeued] = world.queue.pending();
    expect(requeued?.job).toMatchObject({ reason: 'sync', generation: 3 });
    world.clock.advance(requeued?.delayMs ?? 0);
    expect(await renewQueued(world)).toMatchObject([{ kind: 'synced', work: 'catchUp' }]);
    expect(record(world).syncWork).toBeUndefined();
  });
});

describe('failures', () => {
  it('throttling (ErrorServerBusy) waits exactly the BackOffMilliseconds asked and is not counted as a failure', async () => {
    const world = await watched();
    world.clock.advance(10 * MINUTE);
    world.exchange.failNext('subscribe', serverBusy('Subscribe', 45_000));
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toEqual([{ kind: 'throttled', delayMs: 45_000 }]);
    expect(record(world)).toMatchObject({
      attempts: 0,
      nextAttemptAt: world.clock.now() + 45_000,
      state: 'renewing',
    });
    expect(world.queue.pending().map((p) => [p.job.reason, p.delayMs])).toEqual([['retry', 45_000]]);
    world.clock.advance(44_999);
    expect(await renewQueued(world)).toEqual([]);
    world.clock.advance(1);
    expect(await renewQueued(world)).toMatchObject([{ kind: 'subscribed' }]);
  });

  it('other failures back off exponentially with jitter (30 s, doubling, at most 10 min) and are retried when due', async () => {
    const world = await watched();
    world.clock.advance(10 * MINUTE);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      world.exchange.failNext('subscribe', ewsError('Subscribe', 'ErrorInternalServerError'));
      const before = world.clock.now();
      const { outcomes } = await sweepAndRenew(world);
      expect(outcomes).toMatchObject([{ kind: 'failed', lost: false }]);
      const next = record(world).nextAttemptAt ?? 0;
      delays.push(next - before);
      // Not retried before it is due.
      world.clock.advance(next - world.clock.now() - 1);
      expect((await sweepAndRenew(world)).summary.enqueued).toBe(0);
      world.clock.advance(1);
    }
    // random() = 0.5: three quarters of each window.
    expect(delays).toEqual([22_500, 45_000, 90_000, 180_000]);
    expect(record(world).attempts).toBe(4);
  });

  it('after 5 failed attempts the mailbox is lost (event once), retried every 30 min, and recovered when it works', async () => {
    const world = await watched();
    world.clock.advance(10 * MINUTE);
    world.exchange.failNext(
      'subscribe',
      ...Array.from({ length: 6 }, () => ewsError('Subscribe', 'ErrorInternalServerError')),
    );
    const outcomes = [];
    const attemptedAt: number[] = [];
    for (let i = 0; i < 6; i++) {
      attemptedAt.push(world.clock.now());
      outcomes.push(...(await sweepAndRenew(world)).outcomes);
      world.clock.advance((record(world).nextAttemptAt ?? 0) - world.clock.now());
    }
    expect(outcomes.map((o) => (o.kind === 'failed' ? `${o.lost}/${o.becameLost}` : o.kind))).toEqual([
      'false/false',
      'false/false',
      'false/false',
      'false/false',
      'true/true',
      'true/false',
    ]);
    expect(record(world)).toMatchObject({ state: 'lost', attempts: 6 });
    expect(world.publisher.types()).toEqual(['subscription.lost']);
    const lostAt = record(world).lostAt;
    expect(lostAt).toBe(attemptedAt[4]);
    const last = outcomes.at(-1);
    expect(last?.kind === 'failed' && last.nextAttemptAt - (lostAt ?? 0)).toBeLessThanOrEqual(
      30 * MINUTE + 10 * MINUTE,
    );
    const { outcomes: healed } = await sweepAndRenew(world);
    expect(healed).toMatchObject([{ kind: 'subscribed', recovered: true }]);
    expect(world.publisher.types().slice(1)).toContain('subscription.recovered');
    expect(record(world)).toMatchObject({ state: 'active', attempts: 0 });
    expect(record(world).lostAt).toBeUndefined();
  });

  it('30 minutes without a subscription is lost, whatever the attempts', async () => {
    const world = await watched({ ...fakeWorld({ policy: { lostAfterAttempts: 100 } }) });
    world.clock.advance(10 * MINUTE);
    world.exchange.failNext('subscribe', ewsError('Subscribe', 'ErrorInternalServerError'));
    await sweepAndRenew(world);
    world.clock.advance(30 * MINUTE);
    world.exchange.failNext('subscribe', ewsError('Subscribe', 'ErrorInternalServerError'));
    expect((await sweepAndRenew(world)).outcomes).toMatchObject([
      { kind: 'failed', lost: true, becameLost: true },
    ]);
  });

  it('errors only a person can fix (ErrorExceededSubscriptionCount, access denied) are marked "needs attention"', async () => {
    const world = await watched();
    world.clock.advance(10 * MINUTE);
    world.exchange.failNext('subscribe', ewsError('Subscribe', 'ErrorExceededSubscriptionCount'));
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'failed', needsAttention: true }]);
    expect(record(world).lastError?.startsWith(NEEDS_ATTENTION_PREFIX)).toBe(true);
    expect((await sweepAndRenew(world)).summary.needingAttention).toBe(1);
  });
});

describe('opening a queued job', () => {
  it('skips a job for a removed mailbox or an older generation, and clears the mark when nothing is owed', async () => {
    const world = await watched();
    expect(await openJob({ mailboxKey, generation: 1, reason: 'stale' }, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'superseded',
    });
    await world.table.markQueued(mailboxKey, 2, world.clock.now());
    expect(await openJob({ mailboxKey, generation: 2, reason: 'stale' }, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'healthy',
    });
    expect(record(world).renewalQueuedAt).toBeUndefined();
    await world.table.markRemoved(mailboxKey, world.clock.now());
    expect(await openJob({ mailboxKey, generation: 2, reason: 'stale' }, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'removed',
    });
    expect(
      await openJob(
        { mailboxKey: mailboxKeyOf('x@contoso.test'), generation: 1, reason: 'stale' },
        world.renewDeps,
      ),
    ).toEqual({
      kind: 'skipped',
      why: 'removed',
    });
  });

  it('a mailbox whose connection is not configured fails as needing attention, and nothing is sent', async () => {
    const world = await watched();
    world.connections.clear();
    world.clock.advance(10 * MINUTE);
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'failed', needsAttention: true }]);
    expect(world.exchange.calls).toEqual([]);
  });

  it('a job that lost the race for the record (another renewer began first) does nothing', async () => {
    const world = await watched();
    const stale = record(world);
    await world.table.beginRenewal({
      mailboxKey,
      fromGeneration: 2,
      toGeneration: 3,
      state: 'renewing',
      now: world.clock.now(),
    });
    expect(await resubscribe(stale, world.exchange, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'raced',
    });
    expect(world.exchange.calls).toEqual([]);
  });
});

/** The fake Exchange, with `after` run once right after the first call of `operation` answers. */
function interleaved(
  world: FakeWorld,
  operation: 'subscribe' | 'syncFolderItems' | 'listFolders',
  after: () => Promise<unknown>,
): RenewalExchange {
  let done = false;
  const once = async <T>(answer: T): Promise<T> => {
    if (!done) {
      done = true;
      await after();
    }
    return answer;
  };
  const exchange = world.exchange;
  return {
    subscribe: async (mb, request) => {
      const answer = await exchange.subscribe(mb, request);
      return operation === 'subscribe' ? once(answer) : answer;
    },
    syncFolderItems: async (mb, request) => {
      const answer = await exchange.syncFolderItems(mb, request);
      return operation === 'syncFolderItems' ? once(answer) : answer;
    },
    listFolders: async (mb) => {
      const answer = await exchange.listFolders(mb);
      return operation === 'listFolders' ? once(answer) : answer;
    },
    checkItems: (mb, ids) => exchange.checkItems(mb, ids),
  };
}

/** Another renewer takes the mailbox to the next generation (a duplicate job, or one that outlived its worker). */
const anotherRenewerBegins = (world: FakeWorld, fromGeneration: number) => () =>
  world.table.beginRenewal({
    mailboxKey,
    fromGeneration,
    toGeneration: fromGeneration + 1,
    state: 'renewing',
    now: world.clock.now(),
  });

describe('races with another renewer', () => {
  it('claimed away between Subscribe and recording it: the new subscription is not recorded and nothing is published (its pushes get Unsubscribe)', async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(10 * MINUTE);
    const current = record(world);
    // Ours claims generation 3 and subscribes; the other claims 4 before ours records SUB-2.
    const exchange = interleaved(world, 'subscribe', anotherRenewerBegins(world, 3));
    expect(await resubscribe(current, exchange, world.renewDeps)).toEqual({ kind: 'skipped', why: 'raced' });
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
    expect(record(world)).toMatchObject({ generation: 4, state: 'renewing' });
    expect(record(world).subscriptionId).not.toBe('SUB-2');
    expect(world.publisher.types()).toEqual([]);
  });

  it('a first baseline overtaken by another renewer stops storing, sends no Subscribe, and leaves the mailbox to the other', async () => {
    const world = fakeWorld();
    world.exchange.mailbox(mailbox, [inbox, calendar]).createItem(mailbox, inbox, 'old-1');
    await add(world);
    const subscribing = record(world);
    const exchange = interleaved(
      world,
      'syncFolderItems',
      anotherRenewerBegins(world, subscribing.generation + 1),
    );
    expect(await resubscribe(subscribing, exchange, world.renewDeps)).toEqual({
      kind: 'skipped',
      why: 'raced',
    });
    expect(world.exchange.calls.some((call) => call.startsWith('subscribe'))).toBe(false);
    // The page read after the claim was lost is not stored: the other renewer's baseline is the one.
    expect(await world.syncStates.get(mailboxKey, inbox)).toBeUndefined();
    expect(record(world)).toMatchObject({ generation: subscribing.generation + 2, state: 'renewing' });
    expect(world.publisher.types()).toEqual([]);
  });
});

/** The new subscription pushes a heartbeat through the receiver before Subscribe has answered. */
function pushesBeforeTheAnswer(world: FakeWorld, generation: number, previousWatermark: string) {
  return async () => {
    const body = sendNotification({
      subscriptionId: `SUB-${generation - 1}`,
      previousWatermark,
      events: [status(previousWatermark)],
      moreEvents: false,
    });
    const decoded = decodeSendNotification(body);
    if (!decoded.ok) throw decoded.error;
    const result = await receive({ mailboxKey, generation }, decoded.value.notifications, world.receiveDeps);
    expect(result.outcomes).toMatchObject([{ decision: 'adopted' }]);
  };
}

/** The subscription of `generation` pushes `events` through the receiver: the decisions it took. */
async function push(
  world: FakeWorld,
  generation: number,
  previousWatermark: string,
  events: readonly PushEvent[],
): Promise<Decision[]> {
  const body = sendNotification({ subscriptionId: `SUB-${generation - 1}`, previousWatermark, events });
  const decoded = decodeSendNotification(body);
  if (!decoded.ok) throw decoded.error;
  const result = await receive({ mailboxKey, generation }, decoded.value.notifications, world.receiveDeps);
  return result.outcomes.map((o) => o.decision);
}

describe('a new subscription adopted by the receiver (it pushed before Subscribe answered)', () => {
  it("in order (its first PreviousWatermark is the answer's watermark): renewed, nothing owed", async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(10 * MINUTE);
    const exchange = interleaved(world, 'subscribe', pushesBeforeTheAnswer(world, 3, 'WM-2-0'));
    expect(await resubscribe(record(world), exchange, world.renewDeps)).toMatchObject({
      kind: 'subscribed',
      how: 'resumed',
    });
    expect(world.publisher.types()).toEqual(['subscription.renewed']);
    expect(record(world)).toMatchObject({ generation: 3, subscriptionId: 'SUB-2', watermark: 'WM-2-0' });
    expect(record(world).recovery).toBeUndefined();
    expect(record(world).adoptedFrom).toBeUndefined();
  });

  // The e2e chaos run (seed 42): a subscription resumed from a watermark; Exchange skipped its first
  // notification (the events after that watermark, a DeletedEvent among them) and its next push,
  // a heartbeat, adopted it before Subscribe answered. Taken after the answer, that heartbeat is a
  // gap; taken before, it was silently accepted and the skipped events were never replayed.
  it("after a missed notification (its first PreviousWatermark is past the answer's): a gap, and recovery resumes from the answer's watermark", async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(10 * MINUTE);
    const exchange = interleaved(world, 'subscribe', pushesBeforeTheAnswer(world, 3, 'WM-2-9'));
    expect(await resubscribe(record(world), exchange, world.renewDeps)).toMatchObject({
      kind: 'subscribed',
      how: 'resumed',
    });
    expect(world.publisher.types()).toEqual(['subscription.renewed', 'subscription.gap-detected']);
    expect(record(world)).toMatchObject({
      generation: 3,
      subscriptionId: 'SUB-2',
      watermark: 'WM-2-9',
      recovery: 'gap',
      recoveryWatermark: 'WM-2-0',
    });
    world.exchange.calls.length = 0;
    const { summary, outcomes } = await sweepAndRenew(world);
    expect(summary.byReason.gap).toBe(1);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'resumed', generation: 4 }]);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=WM-2-0`]);
  });

  // The same run's other shape (seed 42 again): the renewal whose subscription was adopted after a
  // missed notification never completed (its write failed under AWS faults), so nothing compared
  // the adopting PreviousWatermark with the answer; the retry resumed from the adopted chain.
  it('a renewal that never completes is retried from the watermark before the adoption, not from the unchecked chain', async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(10 * MINUTE);
    const pushThenFail = pushesBeforeTheAnswer(world, 3, 'WM-2-9');
    const exchange = interleaved(world, 'subscribe', async () => {
      await pushThenFail();
      world.table.failures.failOn('update', 1);
    });
    await expect(resubscribe(record(world), exchange, world.renewDeps)).rejects.toThrow(/injected failure/);
    expect(record(world)).toMatchObject({
      generation: 3,
      state: 'renewing',
      subscriptionId: 'SUB-2',
      watermark: 'WM-2-9',
      adoptedFrom: 'WM-2-9',
      recoveryWatermark: 'W7',
    });
    world.exchange.calls.length = 0;
    world.clock.advance(10 * MINUTE);
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'resumed', generation: 4 }]);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
    expect(record(world).adoptedFrom).toBeUndefined();
    expect(record(world).recoveryWatermark).toBeUndefined();
  });

  /** SUB-1 (generation 2) misses the notification after W7: the receiver asks for gap recovery. */
  async function skipped(world: FakeWorld) {
    await heartbeat(world, 'W7');
    expect(await push(world, 2, 'W8', [created('W9')])).toEqual(['gap']);
    expect(record(world)).toMatchObject({ recovery: 'gap', recoveryWatermark: 'W7', recoveryGeneration: 2 });
    world.publisher.drain();
    world.exchange.calls.length = 0;
  }

  /** Exchange, answering Subscribe only after the new subscription was adopted and then missed a notification. */
  function adoptedThenMissing(world: Awaited<ReturnType<typeof watched>>) {
    return interleaved(world, 'subscribe', async () => {
      await pushesBeforeTheAnswer(world, 3, 'WM-2-0')();
      expect(await push(world, 3, 'WM-2-1', [created('WM-2-2')])).toEqual(['gap']);
    });
  }

  it('in order after a gap led to the renewal: the gap is recovered from, nothing owed', async () => {
    const world = await watched();
    await skipped(world);
    const exchange = interleaved(world, 'subscribe', pushesBeforeTheAnswer(world, 3, 'WM-2-0'));
    expect(await resubscribe(record(world), exchange, world.renewDeps)).toMatchObject({
      kind: 'subscribed',
      how: 'resumed',
      generation: 3,
    });
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
    for (const gone of ['recovery', 'recoveryWatermark', 'recoveryAt', 'recoveryGeneration'] as const)
      expect(record(world)[gone]).toBeUndefined();
  });

  // A gap on the old subscription led to the renewal; the new one was adopted in order and then
  // missed a notification itself, still before Subscribe answered. completeRenewal cleared every
  // recovery request, that one too (the receiver's request had kept the first one's fields), so
  // nothing ever replayed what the new subscription missed.
  it('a notification missed after the adoption, before the answer: the renewal keeps that gap, and the next one resumes from before it', async () => {
    const world = await watched();
    await skipped(world);
    const exchange = adoptedThenMissing(world);
    expect(await resubscribe(record(world), exchange, world.renewDeps)).toMatchObject({
      kind: 'subscribed',
      how: 'resumed',
      generation: 3,
    });
    expect(world.publisher.types()).toEqual([
      'subscription.gap-detected',
      'notification.CreatedEvent',
      'subscription.renewed',
    ]);
    expect(record(world)).toMatchObject({
      state: 'active',
      generation: 3,
      subscriptionId: 'SUB-2',
      watermark: 'WM-2-2',
      recovery: 'gap',
      recoveryGeneration: 3,
      // The earliest trouble's watermark: resuming there replays what both subscriptions missed.
      recoveryWatermark: 'W7',
    });
    world.exchange.calls.length = 0;
    const next = await sweepAndRenew(world);
    expect(next.summary.byReason.gap).toBe(1);
    expect(next.outcomes).toMatchObject([{ kind: 'subscribed', how: 'resumed', generation: 4 }]);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
    expect(record(world).recovery).toBeUndefined();
  });

  it('a renewal of a silent subscription whose successor is adopted, then misses a notification: the gap is kept, from the watermark before the adoption', async () => {
    const world = await watched();
    await heartbeat(world, 'W7');
    world.clock.advance(10 * MINUTE);
    const exchange = adoptedThenMissing(world);
    expect(await resubscribe(record(world), exchange, world.renewDeps)).toMatchObject({
      kind: 'subscribed',
      how: 'resumed',
    });
    expect(record(world)).toMatchObject({
      generation: 3,
      recovery: 'gap',
      recoveryGeneration: 3,
      recoveryWatermark: 'W7',
    });
    world.exchange.calls.length = 0;
    const { summary } = await sweepAndRenew(world);
    expect(summary.byReason.gap).toBe(1);
    expect(world.exchange.calls).toEqual([`subscribe ${mailbox} watermark=W7`]);
  });
});

describe('a mailbox watched with --folders all', () => {
  const projects: FolderRef = { folderId: 'projects-id' };
  const archive: FolderRef = { folderId: 'archive-id' };

  async function watchedAll() {
    const world = fakeWorld();
    world.exchange.mailbox(mailbox, [inbox, calendar]).createItem(mailbox, inbox, 'old-1');
    await add(world, 'all');
    const { outcomes } = await sweepAndRenew(world);
    expect(outcomes).toMatchObject([{ kind: 'subscribed', how: 'first' }]);
    return world;
  }

  it('the baseline covers every folder Exchange lists, and Subscribe asks for all of them', async () => {
    const world = await watchedAll();
    expect(world.exchange.calls).toEqual([
      `listFolders ${mailbox}`,
      `syncFolderItems ${mailbox} d#inbox`,
      `syncFolderItems ${mailbox} d#calendar`,
      `subscribe ${mailbox}`,
    ]);
    for (const folder of [inbox, calendar])
      expect((await world.syncStates.get(mailboxKey, folder))?.syncState).toBe(
        world.exchange.syncStateAtEnd(mailbox, folder),
      );
  });

  it('a catch-up covers a folder created since the baseline (all its items published) and skips one deleted after it was listed', async () => {
    const world = await watchedAll();
    world.publisher.drain();
    world.exchange.calls.length = 0;
    world.exchange.mailbox(mailbox, [projects, archive]).createItem(mailbox, projects, 'in-new-folder');
    world.exchange.createItem(mailbox, inbox, 'while-gone');
    world.exchange.rejectWatermarks = 'all';
    // The archive is listed, then deleted before its turn to be synchronized.
    const exchange = interleaved(world, 'listFolders', async () =>
      world.exchange.removeFolder(mailbox, archive),
    );
    world.clock.advance(10 * MINUTE);
    const outcomes = await sweepAndRenew({
      ...world,
      renewDeps: { ...world.renewDeps, exchange: async () => exchange },
    });
    expect(outcomes.outcomes).toMatchObject([{ kind: 'subscribed', how: 'fresh', resyncPublished: 2 }]);
    expect(world.exchange.calls).toEqual([
      `subscribe ${mailbox} watermark=WM-1-0`,
      `subscribe ${mailbox}`,
      `listFolders ${mailbox}`,
      expect.stringMatching(/^syncFolderItems .* d#inbox from=/),
      expect.stringMatching(/^syncFolderItems .* d#calendar from=/),
      `syncFolderItems ${mailbox} f#projects-id`,
      `syncFolderItems ${mailbox} f#archive-id`,
    ]);
    expect(
      world.publisher.events().map((e) => `${e.type.split('.').slice(-2).join('.')} ${e.subject}`),
    ).toEqual([
      'resync.Create while-gone',
      'resync.Create in-new-folder',
      expect.stringMatching(/^subscription.resynced /),
    ]);
    expect(world.progress).toContain(`${mailbox}: folder archive-id… no longer exists; skipped`);
    expect((await world.syncStates.get(mailboxKey, projects))?.syncState).toBe(
      world.exchange.syncStateAtEnd(mailbox, projects),
    );
    expect(record(world)).toMatchObject({ state: 'active', generation: 3 });
    expect(record(world).syncWork).toBeUndefined();
  });
});
