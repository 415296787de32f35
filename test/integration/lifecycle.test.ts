/**
 * Keeping subscriptions alive, proven against the EWS simulator on a scaled clock: the whole
 * local system (receiver over HTTP, emulated DynamoDB/SQS/SNS, processor, sweeper, renewer)
 * living through simulated hours of losses, moves, throttling and outages in real seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../functions/domain/subscription.ts';
import type { RenewOutcome } from '../../functions/renewer/job.ts';
import type { LocalSystemOptions } from '../../local/options.ts';
import { changesWhileWatched, findMissingChanges } from '../../local/report.ts';
import { type LocalSystem, startLocalSystem } from '../../local/system.ts';
import { type SteppedClock, steppedClock } from '../support/stepped-clock.ts';

const MINUTE = 60_000;
let system: LocalSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function start(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  system = await startLocalSystem({
    timeScale: 240,
    mailboxes: 1,
    changeRate: 0,
    statusFrequency: 1,
    ...options,
  });
  return system;
}

/** Waits (real time) until `check` holds; fails with `what` and the last value seen. */
async function until<T>(
  what: string,
  read: () => Promise<T> | T,
  check: (value: T) => boolean,
  timeoutMs = 40_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 600)}`);
}

/** Adds (registers) the mailbox as the admin command does: every folder, a heartbeat a minute. */
async function add(s: LocalSystem, mailbox: string, fields: Record<string, unknown> = {}) {
  const added = await s.admin({
    command: 'add',
    mailbox,
    connection: 'local',
    folders: 'all',
    statusFrequency: 1,
    ...fields,
  });
  if (!added.ok) throw new Error(`add refused: ${JSON.stringify(added)}`);
  return added.result;
}

async function record(s: LocalSystem, mailbox: string): Promise<SubscriptionRecord> {
  const found = (await s.records()).find((r) => r.mailbox === mailbox);
  if (found === undefined) throw new Error(`no record for ${mailbox}`);
  return found;
}

/** The mailbox's subscription record once it is active with its baseline taken. */
function settled(s: LocalSystem, mailbox: string) {
  return until(
    `${mailbox} active with its baseline`,
    () => record(s, mailbox),
    (r) => r.state === 'active' && r.syncWork === undefined,
  );
}

function activeSubscriptions(s: LocalSystem, mailbox: string) {
  return s.simulator.subscriptions({ mailbox }).filter((sub) => sub.state === 'active');
}

/** Every change of the mailbox so far is reflected by a delivered event (see local/report.ts). */
async function allChangesDelivered(s: LocalSystem, mailbox: string) {
  await until(
    'every change of the mailbox delivered',
    () =>
      findMissingChanges(
        changesWhileWatched(s.simulator.changes({ mailbox }), s.simulator.subscriptions({ mailbox })),
        s.delivered,
      ),
    (missing) => missing.length === 0,
  );
}

function lifecycleKinds(s: LocalSystem, mailbox: string): string[] {
  const key = mailboxKeyOf(mailbox);
  return s.delivered
    .filter((e) => e.mailboxKey === key && e.type.startsWith('exchange-push-bridge.subscription.'))
    .map((e) => e.type.slice(34));
}

/** A catch-up has run (`resynced` delivered) and every change of the mailbox has reached consumers. */
async function caughtUp(s: LocalSystem, mailbox: string) {
  await until(
    'the catch-up done',
    () => lifecycleKinds(s, mailbox),
    (kinds) => kinds.includes('resynced'),
  );
  await allChangesDelivered(s, mailbox);
}

/**
 * Moves a stepped clock forward a simulated second at a time, letting real work happen in
 * between, until `check` holds; fails with `what` and the last value seen once `withinMs` of
 * simulated time has passed. Nothing runs on timers unless this moves the clock, so the order of
 * what a test does and what the lifecycle does is the test's.
 */
async function drive<T>(
  clock: SteppedClock,
  what: string,
  read: () => Promise<T> | T,
  check: (value: T) => boolean,
  withinMs = 30 * MINUTE,
): Promise<T> {
  const until = clock.now() + withinMs;
  for (;;) {
    const last = await read();
    if (check(last)) return last;
    if (clock.now() >= until)
      throw new Error(
        `${what} did not happen within ${withinMs / MINUTE} simulated minutes; last: ${JSON.stringify(last)?.slice(0, 600)}`,
      );
    clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('lifecycle against the simulator', () => {
  it('delivers every change made after add returned, although Exchange lost the first subscription before pushing anything', async () => {
    // Stepped at about 100 simulated seconds per real second; nothing happens between the steps
    // the test takes, so the loss below always comes before any sweep or folder synchronization.
    const clock = steppedClock(undefined, 100);
    const s = await start({ clock, addMailboxes: false });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    const existing = s.simulator.changes({ mailbox }).at(-1)?.itemId ?? '';
    await add(s, mailbox);
    await drive(
      clock,
      'the mailbox watched',
      () => record(s, mailbox),
      (r) => r.state === 'active',
    );

    // Add has returned: the mailbox is watched. A move loses the subscription and invalidates its
    // watermark before it pushed a change; an item is created and one that existed before is
    // deleted while no subscription exists. Only a catch-up from a SyncState taken no later than
    // the subscription can report them.
    s.simulator.moveMailbox(mailbox);
    const created = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    const deleted = s.simulator.makeChange({ mailbox, kind: 'delete', itemId: existing });
    const since = (change: { seq: number }) =>
      s.simulator.changes({ mailbox }).filter((c) => c.seq >= change.seq);
    await drive(
      clock,
      'a catch-up delivering both changes',
      () => ({ missing: findMissingChanges(since(created), s.delivered), kinds: lifecycleKinds(s, mailbox) }),
      ({ missing, kinds }) => missing.length === 0 && kinds.includes('resynced'),
    );
    expect(findMissingChanges([deleted], s.delivered)).toEqual([]);
  });

  it('renews a silently lost subscription within 2 x StatusFrequency + one sweep, and delivers every change made meanwhile', async () => {
    const s = await start();
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    const before = await settled(s, mailbox);
    const [lostSub] = activeSubscriptions(s, mailbox);
    if (lostSub === undefined) throw new Error('no active subscription');
    const lostAt = s.clock.now();
    s.simulator.dropSubscription(lostSub.subscriptionId);
    for (let i = 0; i < 6; i++) s.simulator.makeChange({ mailbox, kind: i % 2 ? 'modify' : 'create' });

    const renewed = await until(
      'a new subscription',
      () => activeSubscriptions(s, mailbox),
      (subs) => subs.length === 1 && subs[0]?.subscriptionId !== lostSub.subscriptionId,
    );
    const healedAfter = (renewed[0]?.createdAt ?? 0) - lostAt;
    // Silence counts from the last contact, at most StatusFrequency (1 min) before the drop.
    expect(healedAfter).toBeLessThanOrEqual(2 * MINUTE + 60_000 + MINUTE + MINUTE);
    await allChangesDelivered(s, mailbox);
    const after = await until(
      'the record renewed',
      () => record(s, mailbox),
      (r) => r.subscriptionId === renewed[0]?.subscriptionId && r.state === 'active',
    );
    expect(after.generation).toBe(before.generation + 1);
    // Resumed from the watermark: Exchange replayed what was missed; no catch-up was needed.
    expect(lifecycleKinds(s, mailbox)).toContain('renewed');
    expect(lifecycleKinds(s, mailbox)).not.toContain('resynced');
    expect(s.metrics.renewer.get('RenewalsSucceeded')).toBeGreaterThanOrEqual(1);
  });

  it('heals an expired watermark with a fresh subscription and a SyncFolderItems catch-up, missing no change', async () => {
    // Watermarks "expire" after 3 simulated minutes here (Exchange: 30 days) so the test can live through it.
    const s = await start({ policy: { watermarkMaxAgeMs: 3 * MINUTE } });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    const [sub] = activeSubscriptions(s, mailbox);
    s.simulator.dropSubscription(sub?.subscriptionId ?? '');
    // Changes to items the bridge knew (SyncFolderItems reports an item's state now: an item
    // created and deleted again while no subscription existed leaves no trace to catch up on).
    const known = s.simulator.changes({ mailbox }).map((c) => c.itemId);
    s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    s.simulator.makeChange({ mailbox, kind: 'modify', itemId: known[0] ?? '' });
    s.simulator.makeChange({ mailbox, kind: 'move', itemId: known[1] ?? '' });
    s.simulator.makeChange({ mailbox, kind: 'delete', itemId: known[2] ?? '' });
    await caughtUp(s, mailbox);
    const resync = s.delivered.filter((e) => e.type.startsWith('exchange-push-bridge.resync.'));
    expect(resync.length).toBeGreaterThan(0);
    expect(resync.every((e) => e.data.reason === 'watermarkExpired')).toBe(true);
    const healed = await record(s, mailbox);
    expect(healed.state).toBe('active');
    expect(healed.syncWork).toBeUndefined();
  });

  it('heals a mailbox move (watermark rejected by the new database) through a catch-up', async () => {
    const s = await start();
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    s.simulator.moveMailbox(mailbox);
    s.simulator.makeChange({ mailbox, kind: 'create', folder: 'calendar' });
    s.simulator.makeChange({ mailbox, kind: 'readFlag' });
    await caughtUp(s, mailbox);
    expect(s.delivered.some((e) => e.data.reason === 'watermarkRejected')).toBe(true);
    expect(activeSubscriptions(s, mailbox)).toHaveLength(1);
  });

  it('after a loss that cannot resume, deletes what consumers were pushed but SyncFolderItems cannot report', async () => {
    const s = await start();
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    // Created after the baseline's SyncStates were taken, and pushed: consumers hold these. One is
    // moved afterwards (pushed too), so consumers hold it under its new id.
    const kept = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'projects' });
    const created = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    const movedOn = s.simulator.makeChange({
      mailbox,
      kind: 'move',
      itemId: created.itemId,
      toFolder: 'projects',
    });
    const doomed = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'calendar' });
    const pushed = (itemId: string) =>
      s.delivered.some((e) => {
        const id: unknown = e.data.itemId;
        return typeof id === 'object' && id !== null && Reflect.get(id, 'id') === itemId;
      });
    await until(
      'the creates and the move pushed',
      () => [kept, movedOn, doomed].every((c) => pushed(c.itemId)),
      Boolean,
    );

    // The move loses the subscription and invalidates its watermark; both items are deleted
    // before a new subscription exists. SyncFolderItems, asked from the baseline's SyncState,
    // never heard of them; only the pushed-item list and GetItem can tell.
    s.simulator.moveMailbox(mailbox);
    s.simulator.makeChange({ mailbox, kind: 'delete', itemId: movedOn.itemId });
    s.simulator.makeChange({ mailbox, kind: 'delete', itemId: doomed.itemId });
    await caughtUp(s, mailbox);
    const deletes = s.delivered.filter((e) => e.type === 'exchange-push-bridge.resync.Delete');
    expect(deletes.map((e) => e.data.itemId)).toEqual(
      expect.arrayContaining([
        { id: movedOn.itemId, changeKey: null },
        { id: doomed.itemId, changeKey: null },
      ]),
    );
    const byId = new Map(deletes.map((e) => [Reflect.get(Object(e.data.itemId), 'id'), e.data.folder]));
    expect(byId.get(doomed.itemId)).toEqual({ folderId: doomed.folderId });
    expect(byId.get(movedOn.itemId)).toEqual({ folderId: movedOn.folderId });
    // The item still there was not deleted.
    expect(byId.has(kept.itemId)).toBe(false);
    const resynced = s.delivered.find((e) => e.type === 'exchange-push-bridge.subscription.resynced');
    expect(resynced?.data.detail).toMatch(/2 deletion\(s\) found by GetItem/);
  });

  it('checkpoints a healthy mailbox, so a later catch-up reports only what changed since and still misses nothing', async () => {
    const outcomes: RenewOutcome[] = [];
    const s = await start({
      policy: { checkpointIntervalMs: 10 * MINUTE },
      onRenewal: (outcome) => outcomes.push(outcome),
    });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    const kept = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    const doomed = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    await allChangesDelivered(s, mailbox);
    // Taken after both were pushed, proven by a drained push built after the take, promoted: the list no longer
    // needs them (the new SyncStates cover them).
    await until(
      'a checkpoint promoted and the two items trimmed from the pushed-item list',
      () => outcomes.filter((o) => o.kind === 'checkpointed'),
      (done) => done.some((o) => o.kind === 'checkpointed' && o.promoted > 0 && o.trimmed >= 2),
    );

    s.simulator.moveMailbox(mailbox);
    s.simulator.makeChange({ mailbox, kind: 'delete', itemId: doomed.itemId });
    const later = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'inbox' });
    await caughtUp(s, mailbox);
    const resynced = (type: string) =>
      s.delivered
        .filter((e) => e.type === `exchange-push-bridge.resync.${type}`)
        .map((e) => Reflect.get(Object(e.data.itemId), 'id'));
    // From the checkpoint's SyncState: the delete and the new item, not the item consumers already had.
    expect(resynced('Delete')).toContain(doomed.itemId);
    expect(resynced('Create')).toContain(later.itemId);
    expect(resynced('Create')).not.toContain(kept.itemId);
    const detail = s.delivered.find((e) => e.type === 'exchange-push-bridge.subscription.resynced')?.data
      .detail;
    expect(detail).toMatch(/0 deletion\(s\) found by GetItem/);
  });

  it("catches up every folder of a mailbox watched with 'all', a custom folder included", async () => {
    const s = await start({ addMailboxes: false });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await add(s, mailbox);
    await settled(s, mailbox);
    const pushedThenDeleted = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'projects' });
    await allChangesDelivered(s, mailbox);

    // The move cannot be resumed from: only SyncFolderItems (per folder FindFolder lists) and the
    // pushed-item list can tell what happened in Projects meanwhile.
    s.simulator.moveMailbox(mailbox);
    const created = s.simulator.makeChange({ mailbox, kind: 'create', folder: 'projects' });
    s.simulator.makeChange({ mailbox, kind: 'delete', itemId: pushedThenDeleted.itemId });
    await caughtUp(s, mailbox);
    const resync = s.delivered.filter((e) => e.type.startsWith('exchange-push-bridge.resync.'));
    const resyncedCreate = resync.find((e) => Reflect.get(Object(e.data.itemId), 'id') === created.itemId);
    expect(resyncedCreate).toMatchObject({
      type: 'exchange-push-bridge.resync.Create',
      data: { folder: { folderId: created.folderId } },
    });
  });

  it('answers Unsubscribe when a replaced subscription speaks again', async () => {
    const s = await start();
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    const [old] = activeSubscriptions(s, mailbox);
    // A missed notification: the receiver asks for recovery; the renewer replaces the subscription
    // while the old one still pushes.
    s.simulator.setFaults({ skipNotificationRate: 1 });
    s.simulator.makeChange({ mailbox, kind: 'create' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    s.simulator.setFaults({ skipNotificationRate: 0 });
    s.simulator.makeChange({ mailbox, kind: 'create' });
    await until(
      'gap recorded',
      () => lifecycleKinds(s, mailbox),
      (kinds) => kinds.includes('gap-detected'),
    );
    const ended = await until(
      'the old subscription unsubscribed',
      () => s.simulator.subscriptions({ mailbox }).find((sub) => sub.subscriptionId === old?.subscriptionId),
      (sub) => sub?.state === 'unsubscribed',
    );
    expect(ended?.state).toBe('unsubscribed');
    expect(s.metrics.receiver.get('UnsubscribesAnswered')).toBeGreaterThanOrEqual(1);
    await allChangesDelivered(s, mailbox);
  });

  it('waits exactly as long as Exchange asks when throttled, without counting it as a failure', async () => {
    const outcomes: Array<{ at: number; outcome: RenewOutcome }> = [];
    const s = await start({ onRenewal: (outcome) => outcomes.push({ at: s.clock.now(), outcome }) });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    s.simulator.setFaults({ serverBusyRate: 1, serverBusyBackOffMs: 5 * MINUTE });
    const [sub] = activeSubscriptions(s, mailbox);
    s.simulator.dropSubscription(sub?.subscriptionId ?? '');
    const throttled = await until(
      'two throttled attempts',
      () => outcomes.filter((o) => o.outcome.kind === 'throttled'),
      (list) => list.length >= 2,
      60_000,
    );
    const [first, second] = throttled;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(await record(s, mailbox)).toMatchObject({ attempts: 0, state: 'renewing' });
    s.simulator.setFaults({ serverBusyRate: 0 });
    await until(
      'healed',
      () => activeSubscriptions(s, mailbox),
      (subs) => subs.length === 1,
      60_000,
    );
    expect(s.metrics.renewer.get('RenewalsFailed')).toBe(0);
    expect(s.metrics.renewer.get('RenewalsThrottled')).toBeGreaterThanOrEqual(2);
  });

  it('declares a subscription lost after persistent failure (event + metric), keeps retrying, and reports its recovery', async () => {
    const s = await start({ policy: { lostAfterAttempts: 3, retryBaseMs: 20_000, lostRetryMs: 2 * MINUTE } });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    await settled(s, mailbox);
    s.simulator.setFaults({ unavailableRate: 1 });
    const [sub] = activeSubscriptions(s, mailbox);
    s.simulator.dropSubscription(sub?.subscriptionId ?? '');
    s.simulator.makeChange({ mailbox, kind: 'create' });
    await until(
      'lost',
      () => record(s, mailbox),
      (r) => r.state === 'lost',
      60_000,
    );
    expect(lifecycleKinds(s, mailbox)).toContain('lost');
    expect(s.metrics.renewer.get('SubscriptionsLost')).toBe(1);
    const sweep = await s.sweep();
    expect(sweep.lost).toBe(1);
    s.simulator.setFaults({ unavailableRate: 0 });
    await until(
      'recovered',
      () => lifecycleKinds(s, mailbox),
      (kinds) => kinds.includes('recovered'),
      60_000,
    );
    expect(await record(s, mailbox)).toMatchObject({ state: 'active', attempts: 0 });
    expect(s.metrics.renewer.get('SubscriptionsRecovered')).toBe(1);
    await allChangesDelivered(s, mailbox);
  });

  it('reports the 20-subscription limit as needing a person', async () => {
    const s = await start({ addMailboxes: false });
    const [mailbox = ''] = s.simulator.mailboxAddresses;
    // Another application has used up the mailbox's 20 subscriptions: here, the bridge itself, each
    // removed once its subscription was made and had its first push answered, and silent since.
    for (let i = 0; i < 20; i++) {
      await add(s, mailbox, { statusFrequency: 1440 });
      await until(
        'watched, its first push answered',
        () =>
          activeSubscriptions(s, mailbox).filter((sub) =>
            s.simulator.deliveries({ subscriptionId: sub.subscriptionId }).some((d) => d.outcome === 'OK'),
          ),
        (subs) => subs.length === i + 1,
      );
      const removed = await s.admin({ command: 'remove', mailbox });
      expect(removed.ok).toBe(true);
    }
    expect(await add(s, mailbox, { statusFrequency: 5 })).toMatchObject({
      state: 'subscribing',
      setup: { kind: 'settingUp' },
    });
    // What `add` waits for: the lifecycle's first attempt, refused.
    const shown = await until(
      'the first attempt refused',
      () => s.admin({ command: 'show', mailbox }),
      (response) => response.ok && 'setup' in response.result && response.result.setup.kind === 'failed',
    );
    expect(JSON.stringify(shown)).toMatch(/ErrorExceededSubscriptionCount.*needs a fix on your side/);
    const sweep = await until(
      'the sweep sees it needs attention',
      () => s.sweep(),
      (summary) => summary.needingAttention === 1 || summary.renewing + summary.lost === 1,
    );
    expect(sweep.renewing + sweep.lost).toBe(1);
    await until(
      'marked as needing attention',
      () => record(s, mailbox),
      (r) => r.lastError?.startsWith('needs attention: ') === true,
    );
  });
});
