/**
 * Folder synchronization with SyncFolderItems: the baseline taken before a mailbox's first
 * subscription (where each folder stands, changes discarded), and the catch-up after a
 * subscription had to be replaced from scratch (every change since the stored SyncState,
 * published as resync events). Progress is stored after every page, so a run cut short (a Lambda timeout, throttling)
 * continues where it stopped, and a catch-up publishes a page before it records having read it.
 */

import type { ResyncEventData } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { err, ok, type Result } from '../core/result.ts';
import { hintAttributes } from '../domain/enrichment.ts';
import { type EventPublisher, toResyncCloudEvent } from '../domain/events.ts';
import { type FolderSyncState, folderLabel } from '../domain/folder-sync-state.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import type { EwsErrorCategory } from '../ews/errors.ts';
import type { SyncFolderItemsRequest, SyncFolderItemsResult } from '../ews/items.ts';
import type { FolderRef } from '../ews/request.ts';

export interface SyncStateStore {
  get(mailboxKey: MailboxKey, folder: FolderRef): Promise<FolderSyncState | undefined>;
  /** Stores the folder's state, replacing what was there (a pending checkpoint included). */
  put(mailboxKey: MailboxKey, state: Omit<FolderSyncState, 'pending'>): Promise<void>;
}

/** Anything a SyncFolderItems call can fail with, as the EWS client types it. */
export interface SyncFailure extends Error {
  /** Set on errors Exchange answered with (EwsResponseError). */
  readonly category?: EwsErrorCategory | undefined;
  /** Set on ErrorServerBusy: how long Exchange asked to wait. */
  readonly backOffMilliseconds?: number | null;
}

export interface FolderSyncer {
  syncFolderItems(
    mailbox: string,
    request: SyncFolderItemsRequest,
  ): Promise<Result<SyncFolderItemsResult, SyncFailure>>;
}

export interface FolderLister {
  /**
   * Every folder of the mailbox that holds items, by id: FindFolder, deep under the mailbox root
   * (msgfolderroot), search folders left out (they only show items of other folders).
   */
  listFolders(mailbox: string): Promise<Result<readonly FolderRef[], SyncFailure>>;
}

export interface SyncDeps {
  readonly exchange: FolderSyncer & FolderLister;
  readonly syncStates: SyncStateStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly pageSize: number;
  readonly progress?: (line: string) => void;
}

/**
 * The folders a synchronization covers: those subscribed to, or for a mailbox watched with `'all'`
 * every folder Exchange lists now (a folder created since the baseline included).
 */
export async function foldersToSync(
  record: Pick<SubscriptionRecord, 'mailbox' | 'folders'>,
  exchange: FolderLister,
): Promise<Result<readonly FolderRef[], SyncFailure>> {
  return record.folders === 'all' ? exchange.listFolders(record.mailbox) : ok(record.folders);
}

/**
 * Another renewer holds the mailbox now (a newer generation, or it was removed): a baseline must
 * stop storing SyncStates, or one could land after that renewer's Subscribe.
 */
export class BaselineSupersededError extends Error {
  override readonly name = 'BaselineSupersededError';
  constructor(mailbox: string, generation: number) {
    super(
      `the baseline of ${mailbox} at generation ${generation} stopped: the mailbox moved to another generation or was removed meanwhile; the renewer holding it now takes the baseline`,
    );
  }
}

/**
 * Records where every folder stands; changes are not published. `stillClaimed` is asked before
 * each page is stored; once it says no, nothing more is stored (BaselineSupersededError).
 */
export async function takeBaseline(
  record: SubscriptionRecord,
  deps: SyncDeps,
  stillClaimed: () => Promise<boolean> = async () => true,
): Promise<Result<{ items: number }, SyncFailure>> {
  const folders = await foldersToSync(record, deps.exchange);
  if (!folders.ok) return folders;
  let items = 0;
  for (const folder of folders.value) {
    const done = await syncFolder(record, folder, deps, async () =>
      (await stillClaimed()) ? undefined : new BaselineSupersededError(record.mailbox, record.generation),
    );
    if (!done.ok) return done;
    items += done.value;
  }
  return ok({ items });
}

/** What a catch-up's SyncFolderItems answers said about each item id they named. */
export type ReportedItems = ReadonlyMap<string, 'present' | 'deleted'>;

/** Publishes every change since the stored SyncState of every folder. */
export async function catchUp(
  record: SubscriptionRecord,
  reason: ResyncEventData['reason'],
  deps: SyncDeps,
): Promise<Result<{ published: number; reported: ReportedItems }, SyncFailure>> {
  const folders = await foldersToSync(record, deps.exchange);
  if (!folders.ok) return folders;
  let published = 0;
  const reported = new Map<string, 'present' | 'deleted'>();
  for (const folder of folders.value) {
    const done = await syncFolder(record, folder, deps, async (page, requestSyncState) => {
      const at = deps.clock.now();
      const events = page.changes.map((change) =>
        toResyncCloudEvent({
          mailbox: record.mailbox,
          mailboxKey: record.mailboxKey,
          folder,
          basis: requestSyncState ?? '',
          change,
          reason,
          at,
        }),
      );
      // The mailbox's connection and enrichment setting ride along, as on pushed events: the
      // processor reads the items a catch-up reports just as it reads pushed ones.
      if (events.length > 0) await deps.publisher.publish(record.mailboxKey, events, hintAttributes(record));
      published += events.length;
      for (const change of page.changes) {
        const id = 'item' in change ? change.item.id : change.itemId;
        // An item reported present anywhere exists, whatever another folder said of the same id.
        if (reported.get(id) !== 'present')
          reported.set(id, change.kind === 'Delete' ? 'deleted' : 'present');
      }
      return undefined;
    });
    if (!done.ok) return done;
  }
  return ok({ published, reported });
}

/**
 * Where a folder stands now, from `from`: pages SyncFolderItems to the end of the folder without
 * storing or publishing anything (the checkpoint stores the result once it has all of it).
 */
export async function syncStateNow(
  mailbox: string,
  folder: FolderRef,
  from: string | undefined,
  deps: Pick<SyncDeps, 'exchange' | 'pageSize'>,
): Promise<Result<{ syncState: string; changes: number }, SyncFailure>> {
  let syncState: string | undefined = from;
  let changes = 0;
  for (;;) {
    const page = await deps.exchange.syncFolderItems(mailbox, {
      itemShape: { baseShape: 'IdOnly' },
      syncFolderId: folder,
      ...(syncState === undefined ? {} : { syncState }),
      maxChangesReturned: deps.pageSize,
    });
    if (!page.ok) {
      if (page.error.category === 'InvalidSyncState' && syncState !== undefined && syncState === from) {
        // Exchange no longer accepts it: the folder's state from scratch is as good.
        syncState = undefined;
        continue;
      }
      return err(page.error);
    }
    syncState = page.value.syncState;
    changes += page.value.changes.length;
    if (page.value.includesLastItemInRange) return ok({ syncState, changes });
  }
}

/**
 * Pages one folder to its end, handing each page to `onPage` before storing the new SyncState;
 * an error `onPage` returns stops it there, with nothing stored for that page.
 */
async function syncFolder(
  record: SubscriptionRecord,
  folder: FolderRef,
  deps: SyncDeps,
  onPage: (
    page: SyncFolderItemsResult,
    requestSyncState: string | undefined,
  ) => Promise<SyncFailure | undefined>,
): Promise<Result<number, SyncFailure>> {
  let state = await deps.syncStates.get(record.mailboxKey, folder);
  let seen = 0;
  let restarted = false;
  for (;;) {
    const requestSyncState = state?.syncState;
    const page = await deps.exchange.syncFolderItems(record.mailbox, {
      itemShape: { baseShape: 'IdOnly' },
      syncFolderId: folder,
      ...(requestSyncState === undefined ? {} : { syncState: requestSyncState }),
      maxChangesReturned: deps.pageSize,
    });
    if (!page.ok) {
      if (page.error.category === 'InvalidSyncState' && requestSyncState !== undefined && !restarted) {
        // Exchange no longer accepts the stored state: start the folder over (a catch-up then
        // reports every item, which is more than needed but misses nothing).
        restarted = true;
        state = undefined;
        continue;
      }
      if (page.error.category === 'NotFound' && record.folders === 'all') {
        // Listed by FindFolder, deleted since: nothing is left there to synchronize.
        deps.progress?.(`${record.mailbox}: ${folderLabel(folder)} no longer exists; skipped`);
        return ok(seen);
      }
      return err(page.error);
    }
    const stopped = await onPage(page.value, requestSyncState);
    if (stopped !== undefined) return err(stopped);
    seen += page.value.changes.length;
    state = {
      folder,
      syncState: page.value.syncState,
      complete: page.value.includesLastItemInRange,
      itemsSeen: (state?.itemsSeen ?? 0) + page.value.changes.length,
      updatedAt: deps.clock.now(),
    };
    await deps.syncStates.put(record.mailboxKey, state);
    if (!page.value.includesLastItemInRange || seen >= deps.pageSize) {
      deps.progress?.(
        `${record.mailbox}: ${folderLabel(folder)}: ${state.itemsSeen} items synchronized${page.value.includesLastItemInRange ? '' : ', more to come'}`,
      );
    }
    if (page.value.includesLastItemInRange) return ok(seen);
  }
}
