import { describe, expect, it } from 'vitest';
import { err, ok } from '../../../functions/core/result.ts';
import type { FolderSyncState } from '../../../functions/domain/folder-sync-state.ts';
import { type MailboxKey, mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { DEFAULT_POLICY } from '../../../functions/domain/policy.ts';
import type { PushedItemListEntry } from '../../../functions/domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import {
  type CheckpointDeps,
  type CheckpointStore,
  checkpoint,
  type PendingCheckpoint,
} from '../../../functions/renewer/checkpoint.ts';
import { TRIM_MARGIN_MS } from '../../../functions/renewer/reconcile.ts';
import type { FolderLister, FolderSyncer, SyncFailure } from '../../../functions/renewer/sync.ts';
import { manualClock } from '../../support/manual-clock.ts';

const MINUTE = 60_000;
const mailbox = 'user@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const calendar: FolderRef = { distinguishedFolderId: 'calendar' };
const policy = { ...DEFAULT_POLICY, checkpointIntervalMs: 24 * 60 * MINUTE };

const label = (folder: FolderRef) => ('folderId' in folder ? folder.folderId : folder.distinguishedFolderId);

/** A mailbox with two watched folders, healthy, its baseline taken; every collaborator in memory. */
function world(options: { generation?: number } = {}) {
  const clock = manualClock();
  let record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: 'default',
    folders: [inbox, calendar],
    eventTypes: ['CreatedEvent', 'DeletedEvent'],
    statusFrequency: 1,
    state: 'active',
    generation: options.generation ?? 4,
    subscriptionId: 'S4',
    watermark: 'W1',
    lastContactAt: clock.now(),
    attempts: 0,
    drainedAt: clock.now() - MINUTE,
    checkpointDueAt: clock.now(),
    createdAt: 0,
    updatedAt: 0,
  };
  const folders = new Map<string, FolderSyncState>(
    [inbox, calendar].map((folder) => [
      label(folder),
      { folder, syncState: `${label(folder)}@0`, complete: true, itemsSeen: 3, updatedAt: 0 },
    ]),
  );
  let stored: PendingCheckpoint | undefined;
  const syncStates: CheckpointStore = {
    async get(_key, folder) {
      return folders.get(label(folder));
    },
    async put(_key, state) {
      folders.set(label(state.folder), state);
    },
    async getCheckpoint() {
      return stored;
    },
    async putCheckpoint(_key, value) {
      stored = value;
    },
    async deleteCheckpoint() {
      stored = undefined;
    },
    async putPending(_key, folder, pending) {
      const state = folders.get(label(folder)) ?? { folder, complete: false, itemsSeen: 0, updatedAt: 0 };
      if ((state.syncState ?? null) !== pending.basedOn) return false;
      folders.set(label(folder), { ...state, pending });
      return true;
    },
    async promote(_key, folder, pending, now) {
      const state = folders.get(label(folder));
      if (state === undefined) return false;
      if ((state.syncState ?? null) !== pending.basedOn || state.pending?.syncState !== pending.syncState)
        return false;
      const { pending: _, ...rest } = state;
      folders.set(label(folder), { ...rest, syncState: pending.syncState, complete: true, updatedAt: now });
      return true;
    },
  };
  const listed = new Map<string, PushedItemListEntry>();
  // Exchange: each call answers the next state of the folder, in pages of one change.
  let version = 0;
  const calls: string[] = [];
  let failure: SyncFailure | undefined;
  // What FindFolder lists for a mailbox watched with 'all'.
  let foundFolders: FolderRef[] = [inbox, calendar];
  const exchange: FolderSyncer & FolderLister = {
    async listFolders() {
      return ok(foundFolders);
    },
    async syncFolderItems(_mailbox, request) {
      calls.push(`${label(request.syncFolderId)} from ${request.syncState ?? '(start)'}`);
      if (failure) return err(failure);
      version++;
      return ok({
        syncState: `${label(request.syncFolderId)}@${version}`,
        includesLastItemInRange: version % 2 === 0,
        changes: [{ kind: 'Delete', itemId: `item-${version}`, changeKey: null }],
      });
    },
  };
  const scheduled: number[] = [];
  const deps: CheckpointDeps = {
    store: {
      async get() {
        return record;
      },
      async claimCheckpoint(args) {
        if (args.generation !== record.generation || args.dueAt !== record.checkpointDueAt) return false;
        record = { ...record, checkpointDueAt: args.leaseUntil };
        return true;
      },
      async scheduleCheckpoint(args) {
        if (args.generation !== record.generation) return false;
        scheduled.push(args.dueAt);
        record = { ...record, checkpointDueAt: args.dueAt };
        return true;
      },
    },
    syncStates,
    pushedItemList: {
      async *list(key: MailboxKey) {
        expect(key).toBe(mailboxKey);
        yield* [...listed.values()];
      },
      async forget(_key, ids) {
        for (const id of ids) listed.delete(id);
      },
    },
    clock,
    policy,
    random: () => 0.5,
  };
  return {
    clock,
    deps,
    folders,
    listed,
    calls,
    scheduled,
    exchange,
    get record() {
      return record;
    },
    set record(next: SubscriptionRecord) {
      record = next;
    },
    get stored() {
      return stored;
    },
    list(folders: FolderRef[]) {
      foundFolders = folders;
    },
    fail(error: SyncFailure) {
      failure = error;
    },
    note(itemId: string, notedAt: number) {
      listed.set(itemId, { itemId, folderId: 'F1', notedAt });
    },
    /** A push saying Exchange's queue was empty arrives now: what the receiver would note. */
    drained() {
      record = { ...record, drainedAt: clock.now() };
    },
  };
}

describe('checkpoint', () => {
  it('takes a pending SyncState for every folder, paging to the end, without replacing the current ones', async () => {
    const w = world();
    const outcome = await checkpoint(w.record, w.exchange, w.deps);
    expect(outcome).toMatchObject({ kind: 'checkpointed', promoted: 0, trimmed: 0, taken: 2 });
    expect(w.calls).toEqual([
      'inbox from inbox@0',
      'inbox from inbox@1',
      'calendar from calendar@0',
      'calendar from calendar@3',
    ]);
    expect(w.folders.get('inbox')).toMatchObject({
      syncState: 'inbox@0',
      pending: { syncState: 'inbox@2', basedOn: 'inbox@0' },
    });
    // StatusFrequency 1: Exchange retries one push for less than 2 minutes, + 1 minute of slack.
    const bound = w.clock.now() + 3 * MINUTE;
    expect(w.stored).toEqual({ generation: 4, provenByDrainedAfter: bound, takenAt: w.clock.now() });
    // Back when a heartbeat must have come after the bound (StatusFrequency + slack), not a day
    // later: any renewal meanwhile would discard it.
    expect(w.record.checkpointDueAt).toBe(bound + 2 * MINUTE);
  });

  it('does not promote on a drained push that may have been built before the take ended, and comes back when a later one must have come', async () => {
    const w = world();
    await checkpoint(w.record, w.exchange, w.deps);
    const bound = w.stored?.provenByDrainedAfter ?? Number.NaN;
    w.clock.advance(3 * MINUTE);
    w.drained(); // exactly at the bound: a retry of a push built before the take could arrive now
    const outcome = await checkpoint(w.record, w.exchange, w.deps);
    expect(outcome).toMatchObject({ kind: 'checkpointed', promoted: 0, taken: 0 });
    expect(w.folders.get('inbox')?.syncState).toBe('inbox@0');
    expect(w.stored?.provenByDrainedAfter).toBe(bound);
    expect(w.record.checkpointDueAt).toBe(bound + 2 * MINUTE);
    // Late: past when the heartbeat was due, it comes back one StatusFrequency (+ slack) from now.
    w.clock.advance(10 * MINUTE);
    await checkpoint(w.record, w.exchange, w.deps);
    expect(w.record.checkpointDueAt).toBe(w.clock.now() + 2 * MINUTE);
  });

  it('is not fooled by one idle heartbeat delivered twice (the hole a count of drained pushes had)', async () => {
    // The heartbeat below may have been built before the take ended, so it says nothing about a
    // change made just before the take and still queued in Exchange. Our answer to it is lost and
    // Exchange delivers it again; both deliveries carry the same watermarks, so both writes are
    // accepted. Counted, they were the two drained pushes the proof asked for: the pending
    // SyncState (which already contains the queued change) was promoted, and a mailbox move
    // before the change was pushed lost it for good. By arrival time, neither delivery is late
    // enough to have been built after the take.
    const w = world();
    await checkpoint(w.record, w.exchange, w.deps);
    w.clock.advance(30_000);
    w.drained(); // first delivery, 30 s after the take
    w.clock.advance(60_000);
    w.drained(); // Exchange's retry 60 s later (a retry or the SDK's: same watermarks, same write)
    w.clock.advance(2 * MINUTE - 90_000 + 1);
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({ promoted: 0, taken: 0 });
    expect(w.folders.get('inbox')?.syncState).toBe('inbox@0');
    // A heartbeat arriving after the bound was built after the take ended: now it is proven.
    w.clock.advance(2 * MINUTE);
    w.drained();
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({ promoted: 2, taken: 0 });
  });

  it('promotes once proven, drops the list entries the new SyncStates cover, and takes the next checkpoint an interval later', async () => {
    const w = world();
    const takenAt = w.clock.now();
    w.note('before', takenAt - TRIM_MARGIN_MS - 1);
    w.note('during', takenAt - TRIM_MARGIN_MS + 1);
    await checkpoint(w.record, w.exchange, w.deps);
    w.clock.advance(4 * MINUTE);
    w.note('after', w.clock.now() - MINUTE);
    w.drained();
    const outcome = await checkpoint(w.record, w.exchange, w.deps);
    expect(outcome).toMatchObject({ kind: 'checkpointed', promoted: 2, trimmed: 1, taken: 0 });
    expect(w.folders.get('inbox')).toMatchObject({ syncState: 'inbox@2' });
    expect(w.folders.get('calendar')).toMatchObject({ syncState: 'calendar@4' });
    expect(w.folders.get('inbox')?.pending).toBeUndefined();
    expect([...w.listed.keys()]).toEqual(['during', 'after']);
    expect(w.stored).toBeUndefined();
    // A day later (±10%; the fake random picks the middle).
    expect(w.record.checkpointDueAt).toBe(w.clock.now() + policy.checkpointIntervalMs);
    w.clock.advance(policy.checkpointIntervalMs);
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({ promoted: 0, taken: 2 });
    expect(w.folders.get('inbox')).toMatchObject({ syncState: 'inbox@2', pending: { basedOn: 'inbox@2' } });
  });

  it('discards a checkpoint taken under another subscription: its pushes proved nothing about the old one', async () => {
    const w = world();
    w.note('old', w.clock.now() - 2 * TRIM_MARGIN_MS);
    await checkpoint(w.record, w.exchange, w.deps);
    w.clock.advance(policy.checkpointIntervalMs);
    w.record = { ...w.record, generation: 5 };
    w.drained();
    const outcome = await checkpoint(w.record, w.exchange, w.deps);
    expect(outcome).toMatchObject({ kind: 'checkpointed', promoted: 0, trimmed: 0, taken: 2 });
    expect(w.folders.get('inbox')?.syncState).toBe('inbox@0');
    expect(w.listed.has('old')).toBe(true);
    expect(w.stored?.generation).toBe(5);
  });

  it('leaves a SyncState a catch-up stored meanwhile, and then trims nothing', async () => {
    const w = world();
    w.note('old', w.clock.now() - 2 * TRIM_MARGIN_MS);
    await checkpoint(w.record, w.exchange, w.deps);
    // A catch-up stored a new state for the calendar (which drops the pending one).
    await w.deps.syncStates.put(mailboxKey, {
      folder: calendar,
      syncState: 'calendar@caught-up',
      complete: true,
      itemsSeen: 9,
      updatedAt: w.clock.now(),
    });
    w.clock.advance(policy.checkpointIntervalMs);
    w.drained();
    const outcome = await checkpoint(w.record, w.exchange, w.deps);
    expect(outcome).toMatchObject({ kind: 'checkpointed', promoted: 1, trimmed: 0 });
    expect(w.folders.get('calendar')?.syncState).toBe('calendar@caught-up');
    expect(w.listed.has('old')).toBe(true);
  });

  it("covers every folder FindFolder lists for a mailbox watched with 'all', one created since the baseline from scratch", async () => {
    const w = world();
    const projects: FolderRef = { folderId: 'projects' };
    w.record = { ...w.record, folders: 'all' };
    w.list([inbox, calendar, projects]);
    w.note('old', w.clock.now() - 2 * TRIM_MARGIN_MS);
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({ taken: 3 });
    expect(w.calls).toContain('projects from (start)');
    expect(w.folders.get('projects')).toMatchObject({ complete: false, pending: { basedOn: null } });
    w.clock.advance(policy.checkpointIntervalMs);
    w.drained();
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({ promoted: 3, trimmed: 1 });
    expect(w.folders.get('projects')).toMatchObject({
      complete: true,
      syncState: expect.stringMatching(/^projects@/),
    });
  });

  it('does not trim while a folder listed now has no proven SyncState (created since the last checkpoint)', async () => {
    const w = world();
    w.record = { ...w.record, folders: 'all' };
    w.note('old', w.clock.now() - 2 * TRIM_MARGIN_MS);
    await checkpoint(w.record, w.exchange, w.deps);
    w.clock.advance(policy.checkpointIntervalMs);
    w.drained();
    w.list([inbox, calendar, { folderId: 'brand-new' }]);
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({
      promoted: 2,
      trimmed: 0,
      taken: 0,
    });
    expect(w.listed.has('old')).toBe(true);
  });

  it('is done once when two renewers hold the same job', async () => {
    const w = world();
    const stale = w.record;
    expect(await checkpoint(stale, w.exchange, w.deps)).toMatchObject({ kind: 'checkpointed' });
    expect(await checkpoint(stale, w.exchange, w.deps)).toEqual({ kind: 'skipped', why: 'raced' });
  });

  it('tries again later when Exchange fails, as late as it asks when throttling', async () => {
    const w = world();
    w.fail(
      Object.assign(new Error('ErrorServerBusy'), {
        category: 'ServerBusy' as const,
        backOffMilliseconds: 45_000,
      }),
    );
    expect(await checkpoint(w.record, w.exchange, w.deps)).toEqual({
      kind: 'deferred',
      error: 'ErrorServerBusy',
      throttled: true,
      nextAt: w.clock.now() + 45_000,
    });
    w.fail(Object.assign(new Error('connection reset'), {}));
    expect(await checkpoint(w.record, w.exchange, w.deps)).toMatchObject({
      kind: 'deferred',
      throttled: false,
      nextAt: w.clock.now() + policy.retryMaxMs,
    });
    expect(w.stored).toBeUndefined();
    expect(w.folders.get('inbox')?.pending).toBeUndefined();
  });
});
