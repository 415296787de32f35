/**
 * The checkpoint: bringing a healthy mailbox's folder SyncStates forward, once a day by default.
 *
 * Without it, every SyncState would date from the baseline (or the last catch-up): a catch-up
 * after months of health would report months of changes again, and the pushed-item list
 * (domain/pushed-item-list.ts) would hold every item created since. The list can only be trimmed of
 * items a stored SyncState covers, so both problems are one: the stored SyncStates must move.
 *
 * Moving one is only safe once every change it absorbs has reached consumers. A SyncState taken
 * at time T covers changes up to T; if the subscription were lost with some of those still
 * queued in Exchange, a catch-up from it would never report them. So a checkpoint is taken in
 * two steps:
 *
 * 1. Take: SyncFolderItems from each folder's current SyncState to the end, stored as that
 *    folder's *pending* SyncState (nothing published), then note the record's `drainedPushes`.
 * 2. Promote, as soon as it can be proven: only if the same subscription (generation) has since
 *    been accepted in order through a push that said Exchange's queue was empty, and that push
 *    must have been built after step 1 ended. Exchange stamps nothing a receiver could check, so
 *    its arrival decides: Exchange goes on retrying one push for less than 2 x StatusFrequency
 *    (domain/policy.ts, `pushRetrySpanMs`), so a drained push that arrived later than that (plus
 *    slack for its time in transit) after step 1 ended was built after it, with nothing queued:
 *    every change up to T was delivered. Each folder's pending SyncState then replaces the
 *    current one, if the current one is still the one it was taken from (a catch-up in between
 *    wins). When every folder moved, the pushed-item entries noted before T (less a margin for
 *    clocks) are dropped: the new SyncStates cover them. The next checkpoint is taken one
 *    interval later.
 *
 *    Counting drained pushes instead (two after step 1) is not sound: an idle mailbox's
 *    heartbeats all carry the same watermarks, so one heartbeat delivered twice (Exchange's
 *    retry after our answer was lost, the SDK's retry of a write that had succeeded) would count
 *    as the two, the first of which may have been built before step 1 ended.
 *
 * A new generation in between (any renewal) discards the pending one: the new subscription's
 * pushes say nothing about what the old one delivered. So step 2 comes back when a heartbeat
 * arriving after that bound must have come even from an idle mailbox (one StatusFrequency
 * later, + slack), not an interval later: a pending checkpoint waiting a day would be discarded
 * by any renewal that day, and a mailbox renewed at least daily would never move its SyncStates.
 */
import type { Clock } from '../core/clock.ts';
import { folderLabel, type PendingSyncState } from '../domain/folder-sync-state.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { type LifecyclePolicy, nextCheckpointAt, pushRetrySpanMs } from '../domain/policy.ts';
import type { PushedItemListEntry } from '../domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import type { FolderRef } from '../ews/request.ts';
import { type PushedItemList, TRIM_MARGIN_MS } from './reconcile.ts';
import {
  type FolderLister,
  type FolderSyncer,
  foldersToSync,
  type SyncFailure,
  type SyncStateStore,
  syncStateNow,
} from './sync.ts';

/** A checkpoint taken and waiting to be proven safe. */
export interface PendingCheckpoint {
  /** The subscription generation it was taken under. */
  readonly generation: number;
  /**
   * Proven by a drained push that arrived after this (epoch ms, the receiver's clock): the end of
   * the take, plus the longest Exchange retries one push, plus slack for transit.
   */
  readonly provenByDrainedAfter: number;
  /** When the first pending SyncState was asked for (epoch ms, the renewer's clock). */
  readonly takenAt: number;
}

export interface CheckpointStore extends SyncStateStore {
  getCheckpoint(mailboxKey: MailboxKey): Promise<PendingCheckpoint | undefined>;
  putCheckpoint(mailboxKey: MailboxKey, checkpoint: PendingCheckpoint): Promise<void>;
  deleteCheckpoint(mailboxKey: MailboxKey): Promise<void>;
  /** Stores a pending SyncState, if the folder's current one is still `pending.basedOn` (null: none). */
  putPending(mailboxKey: MailboxKey, folder: FolderRef, pending: PendingSyncState): Promise<boolean>;
  /** Makes the pending SyncState current, if the current one is still `pending.basedOn`. */
  promote(
    mailboxKey: MailboxKey,
    folder: FolderRef,
    pending: PendingSyncState,
    now: number,
  ): Promise<boolean>;
}

/** Takes the checkpoint job: moves `checkpointDueAt` from the value read to a lease, at this generation. */
export interface ClaimCheckpoint {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  /** `checkpointDueAt` as read (undefined: absent). */
  readonly dueAt: number | undefined;
  /** When another renewer may take it over if this one never finishes. */
  readonly leaseUntil: number;
  readonly now: number;
}

export interface CheckpointRecords {
  get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined>;
  claimCheckpoint(args: ClaimCheckpoint): Promise<boolean>;
  scheduleCheckpoint(args: {
    readonly mailboxKey: MailboxKey;
    readonly generation: number;
    readonly dueAt: number;
    readonly now: number;
  }): Promise<boolean>;
}

export interface CheckpointDeps {
  readonly store: CheckpointRecords;
  readonly syncStates: CheckpointStore;
  readonly pushedItemList: PushedItemList;
  readonly clock: Clock;
  readonly policy: LifecyclePolicy;
  readonly random: () => number;
  readonly progress?: (line: string) => void;
}

export type CheckpointOutcome =
  | { readonly kind: 'skipped'; readonly why: 'raced' }
  | {
      readonly kind: 'checkpointed';
      /** Folders whose pending SyncState became current. */
      readonly promoted: number;
      /** Pushed-item entries dropped because the promoted SyncStates cover them. */
      readonly trimmed: number;
      /** Folders a new pending SyncState was taken for (0 when this run promoted or still waits for proof). */
      readonly taken: number;
      readonly nextAt: number;
    }
  | {
      readonly kind: 'deferred';
      readonly error: string;
      readonly throttled: boolean;
      readonly nextAt: number;
    };

/**
 * Takes the record's checkpoint job (a lease at its generation, so two renewers never run it at
 * once), EWS or Graph; undefined when another renewer has it. What it gives back schedules the
 * next run (and ends the lease), answering the time it set.
 */
export async function claimCheckpointJob(
  record: SubscriptionRecord,
  deps: { readonly store: CheckpointRecords; readonly clock: Clock; readonly policy: LifecyclePolicy },
): Promise<((dueAt: number) => Promise<number>) | undefined> {
  const { mailboxKey, generation } = record;
  const now = deps.clock.now();
  const claimed = await deps.store.claimCheckpoint({
    mailboxKey,
    generation,
    dueAt: record.checkpointDueAt,
    leaseUntil: now + deps.policy.requeueAfterMs,
    now,
  });
  if (!claimed) return undefined;
  return async (dueAt: number) => {
    await deps.store.scheduleCheckpoint({ mailboxKey, generation, dueAt, now: deps.clock.now() });
    return dueAt;
  };
}

export async function checkpoint(
  record: SubscriptionRecord,
  exchange: FolderSyncer & FolderLister,
  deps: CheckpointDeps,
): Promise<CheckpointOutcome> {
  const { policy, syncStates } = deps;
  const mailboxKey = record.mailboxKey;
  const generation = record.generation;
  const now = deps.clock.now();
  const schedule = await claimCheckpointJob(record, deps);
  if (schedule === undefined) return { kind: 'skipped', why: 'raced' };
  const defer = async (error: SyncFailure): Promise<CheckpointOutcome> => {
    const throttled = error.category === 'ServerBusy';
    const delayMs = throttled ? (error.backOffMilliseconds ?? policy.retryBaseMs) : policy.retryMaxMs;
    const nextAt = await schedule(deps.clock.now() + delayMs);
    deps.progress?.(`${record.mailbox}: checkpoint failed (${error.message}); trying again later`);
    return { kind: 'deferred', error: error.message, throttled, nextAt };
  };
  const listed = await foldersToSync(record, exchange);
  if (!listed.ok) return defer(listed.error);
  const folders = listed.value;

  // An idle subscription sends a StatusEvent every StatusFrequency minutes, so one must have come
  // that long after the bound; if none does, the sweeper renews it as stale.
  const provableAt = (drainedAfter: number) =>
    drainedAfter + record.statusFrequency * 60_000 + policy.staleSlackMs;
  const previous = await syncStates.getCheckpoint(mailboxKey);
  if (previous !== undefined && previous.generation === generation) {
    if ((record.drainedAt ?? Number.NEGATIVE_INFINITY) <= previous.provenByDrainedAfter) {
      // Not yet: back when a heartbeat must have come after the bound (or after now, if it is past).
      const nextAt = await schedule(provableAt(Math.max(previous.provenByDrainedAfter, now)));
      return { kind: 'checkpointed', promoted: 0, trimmed: 0, taken: 0, nextAt };
    }
    let promoted = 0;
    let trimmed = 0;
    for (const folder of folders) {
      const state = await syncStates.get(mailboxKey, folder);
      const pending = state?.pending;
      if (pending === undefined || (state?.syncState ?? null) !== pending.basedOn) continue;
      if (await syncStates.promote(mailboxKey, folder, pending, deps.clock.now())) promoted++;
    }
    if (promoted === folders.length) {
      trimmed = await trimCoveredItems(mailboxKey, previous.takenAt - TRIM_MARGIN_MS, deps.pushedItemList);
    }
    await syncStates.deleteCheckpoint(mailboxKey);
    const nextAt = await schedule(nextCheckpointAt(deps.clock.now(), policy, deps.random));
    deps.progress?.(
      `${record.mailbox}: checkpoint: ${promoted} folder SyncState(s) brought forward, ${trimmed} pushed item(s) no longer listed`,
    );
    return { kind: 'checkpointed', promoted, trimmed, taken: 0, nextAt };
  }
  if (previous !== undefined) await syncStates.deleteCheckpoint(mailboxKey);

  const takenAt = deps.clock.now();
  let taken = 0;
  for (const folder of folders) {
    const state = await syncStates.get(mailboxKey, folder);
    // A synchronization under way is the baseline's or a catch-up's business. A folder with no
    // state at all (created since the baseline, in a mailbox watched with 'all') gets one from
    // scratch, proven like the others before it counts.
    if (state?.syncState !== undefined && !state.complete) continue;
    const from = state?.syncState;
    const reached = await syncStateNow(record.mailbox, folder, from, {
      exchange,
      pageSize: policy.syncPageSize,
    });
    if (!reached.ok) {
      if (reached.error.category === 'NotFound' && record.folders === 'all') continue; // deleted since listed
      deps.progress?.(`${record.mailbox}: checkpoint of ${folderLabel(folder)} failed`);
      return defer(reached.error);
    }
    const pending = { syncState: reached.value.syncState, basedOn: from ?? null };
    if (await syncStates.putPending(mailboxKey, folder, pending)) taken++;
  }
  // After the last SyncFolderItems answered: the proof needs a drained push built after this.
  const finishedAt = deps.clock.now();
  const current = await deps.store.get(mailboxKey);
  const pending = taken > 0 && current !== undefined && current.generation === generation;
  const provenByDrainedAfter = finishedAt + pushRetrySpanMs(record.statusFrequency) + policy.staleSlackMs;
  if (pending) await syncStates.putCheckpoint(mailboxKey, { generation, provenByDrainedAfter, takenAt });
  const nextAt = await schedule(
    pending ? provableAt(provenByDrainedAfter) : nextCheckpointAt(finishedAt, policy, deps.random),
  );
  deps.progress?.(`${record.mailbox}: checkpoint: ${taken} pending SyncState(s) taken, to be proven`);
  return { kind: 'checkpointed', promoted: 0, trimmed: 0, taken, nextAt };
}

/**
 * Drops the pushed-item entries noted before `before` that `covered` says the promoted state covers,
 * 500 ids a round (EWS: every one; Graph: renewer/graph-checkpoint.ts says which).
 */
export async function trimCoveredItems(
  mailboxKey: MailboxKey,
  before: number,
  pushedItemList: PushedItemList,
  covered: (entry: PushedItemListEntry) => boolean = () => true,
): Promise<number> {
  let trimmed = 0;
  let batch: string[] = [];
  for await (const item of pushedItemList.list(mailboxKey)) {
    if (item.notedAt >= before || !covered(item)) continue;
    batch.push(item.itemId);
    if (batch.length === 500) {
      await pushedItemList.forget(mailboxKey, batch);
      trimmed += batch.length;
      batch = [];
    }
  }
  await pushedItemList.forget(mailboxKey, batch);
  return trimmed + batch.length;
}
