/**
 * After a catch-up: the deletions SyncFolderItems cannot report (see domain/pushed-item-list.ts).
 * Every item on the mailbox's pushed-item list that the catch-up did not name is looked up with
 * GetItem; each one Exchange no longer has is published as a resync Delete. GetItem decides, not
 * inference, so an entry that outlived its purpose can cost a lookup but never a wrong Delete.
 *
 * The list is then trimmed: an item the catch-up named, or GetItem found, and that was noted well
 * before the catch-up began existed when the new SyncStates were taken, so they cover it from now
 * on. Items noted since stay listed until the next synchronization.
 */
import type { ResyncEventData } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { ok, type Result } from '../core/result.ts';
import { type EventPublisher, toResyncCloudEvent } from '../domain/events.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { PushedItemListEntry } from '../domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import type { ReportedItems, SyncFailure } from './sync.ts';

/** The pushed-item list, as the lifecycle reads and trims it. */
export interface PushedItemList {
  list(mailboxKey: MailboxKey): AsyncIterable<PushedItemListEntry>;
  forget(mailboxKey: MailboxKey, itemIds: readonly string[]): Promise<void>;
}

/** Entries the renewer writes itself (Graph: the masters a catch-up published, checkpoint markers). */
export interface PushedItemWriter {
  /** Writes each entry as given, replacing any entry of the same item. */
  write(mailboxKey: MailboxKey, entries: readonly PushedItemListEntry[]): Promise<void>;
}

/**
 * Whether Exchange still has an item: GetItem found it, said ErrorItemNotFound, or answered
 * something else for it that says neither (access denied to that item, a malformed id).
 */
export type ItemPresence = 'present' | 'missing' | { readonly undetermined: string };

export interface ItemChecker {
  /**
   * One answer per id, in order. Fails as a whole when the call fails or an answer is one to
   * retry (throttling, a mailbox move in progress, a passing server error).
   */
  checkItems(
    mailbox: string,
    itemIds: readonly string[],
  ): Promise<Result<readonly ItemPresence[], SyncFailure>>;
}

export interface ReconcileDeps {
  readonly exchange: ItemChecker;
  readonly pushedItemList: PushedItemList;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly progress?: (line: string) => void;
}

export interface Reconciliation {
  /** Items GetItem was asked about. */
  readonly checked: number;
  /** Resync Deletes published. */
  readonly deleted: number;
  /** Items whose fate GetItem did not tell; they stay listed and are checked again next time. */
  readonly undetermined: number;
}

/**
 * How long before the catch-up began an item must have been noted to be trimmed: clocks of the
 * receiver and the renewer differ a little, and keeping an entry longer only costs a lookup.
 */
export const TRIM_MARGIN_MS = 5 * 60_000;

/**
 * Ids per GetItem. Microsoft suggests about 10 per call when fetching items (ews-protocol.md
 * §3); an IdOnly existence check answers a few hundred bytes per item, so 50 keeps calls few
 * without large answers.
 */
export const CHECK_BATCH = 50;

/** Where a Delete is filed when the push named no ParentFolderId (Exchange's schema requires one). */
const UNKNOWN_FOLDER = { distinguishedFolderId: 'msgfolderroot' } as const;

export async function reconcilePushedItemList(
  record: SubscriptionRecord,
  reason: ResyncEventData['reason'],
  reported: ReportedItems,
  catchUpStartedAt: number,
  deps: ReconcileDeps,
): Promise<Result<Reconciliation, SyncFailure>> {
  const trimBefore = catchUpStartedAt - TRIM_MARGIN_MS;
  let checked = 0;
  let deleted = 0;
  let undetermined = 0;
  const named: string[] = [];
  let batch: PushedItemListEntry[] = [];

  const check = async (items: readonly PushedItemListEntry[]): Promise<Result<void, SyncFailure>> => {
    const answers = await deps.exchange.checkItems(
      record.mailbox,
      items.map((item) => item.itemId),
    );
    if (!answers.ok) return answers;
    checked += items.length;
    const at = deps.clock.now();
    const gone: PushedItemListEntry[] = [];
    const settled: string[] = [];
    items.forEach((item, index) => {
      const answer = answers.value[index];
      if (answer === 'missing') {
        gone.push(item);
        settled.push(item.itemId);
      } else if (answer === 'present') {
        if (item.notedAt < trimBefore) settled.push(item.itemId);
      } else {
        undetermined++;
        deps.progress?.(
          `${record.mailbox}: could not tell whether item ${item.itemId.slice(0, 24)}… still exists (${answer?.undetermined ?? 'no answer'}); it is checked again at the next catch-up`,
        );
      }
    });
    if (gone.length > 0) {
      await deps.publisher.publish(
        record.mailboxKey,
        gone.map((item) =>
          toResyncCloudEvent({
            mailbox: record.mailbox,
            mailboxKey: record.mailboxKey,
            folder: item.folderId === null ? UNKNOWN_FOLDER : { folderId: item.folderId },
            basis: 'GetItem',
            change: { kind: 'Delete', itemId: item.itemId, changeKey: null },
            reason,
            at,
          }),
        ),
      );
      deleted += gone.length;
    }
    // Forgotten only once the Delete is published: a failure in between checks it again.
    await deps.pushedItemList.forget(record.mailboxKey, settled);
    return ok(undefined);
  };

  for await (const item of deps.pushedItemList.list(record.mailboxKey)) {
    const said = reported.get(item.itemId);
    if (said === undefined) {
      batch.push(item);
      if (batch.length === CHECK_BATCH) {
        const done = await check(batch);
        if (!done.ok) return done;
        batch = [];
      }
    } else if (said === 'deleted' || item.notedAt < trimBefore) {
      // Reported deleted: consumers got a resync Delete. Reported present and noted before the
      // catch-up: the new SyncState covers it.
      named.push(item.itemId);
    }
  }
  if (batch.length > 0) {
    const done = await check(batch);
    if (!done.ok) return done;
  }
  await deps.pushedItemList.forget(record.mailboxKey, named);
  return ok({ checked, deleted, undetermined });
}
