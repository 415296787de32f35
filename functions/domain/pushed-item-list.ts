/**
 * The items consumers were told exist since a folder's SyncState was taken, and why the bridge
 * keeps that list.
 *
 * SyncFolderItems reports what changed in a folder since a SyncState, as Exchange's incremental
 * sync knows it: an item created after the SyncState and deleted again before the next call is
 * not reported at all (the client never held it, as far as Exchange knows). But the bridge's
 * consumers may well hold it: its CreatedEvent was pushed. If the subscription is then lost in a
 * way that cannot be resumed (a moved mailbox, an expired watermark) and the item is deleted
 * before the new subscription exists, no push and no SyncFolderItems answer will ever say so, and
 * consumers keep an item that no longer exists.
 *
 * So the receiver notes every item a pushed event says exists (CreatedEvent, NewMailEvent,
 * CopiedEvent, MovedEvent's new id) and forgets it when a pushed event says it is gone
 * (DeletedEvent, MovedEvent's old id). After a catch-up, each listed item SyncFolderItems did not
 * report is looked up with GetItem; one Exchange no longer has is published as a resync Delete.
 */
import type { NotificationEvent } from '../ews/notification.ts';

/** An item a pushed event said exists, and the folder it was in (its ParentFolderId). */
export interface PushedItem {
  readonly itemId: string;
  readonly folderId: string | null;
}

/** An entry of the list: the item, and when the receiver noted it (epoch ms). */
export interface PushedItemListEntry extends PushedItem {
  readonly notedAt: number;
  /**
   * Graph events only: the `takenAt` of the checkpoint whose calendar view round named this event
   * present by its own id (renewer/graph-checkpoint.ts). The view never names a recurring series'
   * master, only its occurrences, so a named event is no master, and it lies in the view's window:
   * once that checkpoint is promoted, a later delta round reports the event's deletion and the
   * entry may go. Graph's notifications do not say whether an event is a master, so the marker is
   * the positive proof, never the reverse: an entry without it (the receiver's write of a newer
   * notification replaces the entry and drops it) is kept.
   */
  readonly viewedAt?: number;
}

/** What one notification changes in the list: items to note and item ids to forget. */
export interface PushedItemListChanges {
  readonly noted: readonly PushedItem[];
  readonly forgotten: readonly string[];
}

/** The net effect of a notification's events, in order: one entry per item id at most. */
export function pushedItemListChanges(events: readonly NotificationEvent[]): PushedItemListChanges {
  const net = new Map<string, PushedItem | 'forgotten'>();
  // Re-inserting moves a key to the end, so the entries come out in the order they last changed.
  const set = (id: string, value: PushedItem | 'forgotten') => {
    net.delete(id);
    net.set(id, value);
  };
  for (const event of events) {
    const itemId = event.itemId?.id;
    if (itemId === undefined) continue; // a folder event: folders are not items consumers hold
    const noted: PushedItem = { itemId, folderId: event.parentFolderId?.id ?? null };
    switch (event.type) {
      case 'CreatedEvent':
      case 'NewMailEvent':
      case 'CopiedEvent': // the copy is new; the original stays where it was
        set(itemId, noted);
        break;
      case 'MovedEvent': {
        // Exchange gives a moved item a new id: the old one is gone.
        const oldItemId = event.oldItemId?.id;
        if (oldItemId !== undefined) set(oldItemId, 'forgotten');
        set(itemId, noted);
        break;
      }
      case 'DeletedEvent':
        set(itemId, 'forgotten');
        break;
      default:
        // ModifiedEvent, FreeBusyChangedEvent: the item's existence is unchanged.
        break;
    }
  }
  return netPushedItemListChanges(net);
}

/** Each item's last state in a batch (by id, in the order they last changed) as the list's changes. */
export function netPushedItemListChanges(
  net: ReadonlyMap<string, PushedItem | 'forgotten'>,
): PushedItemListChanges {
  const noted: PushedItem[] = [];
  const forgotten: string[] = [];
  for (const [itemId, value] of net) {
    if (value === 'forgotten') forgotten.push(itemId);
    else noted.push(value);
  }
  return { noted, forgotten };
}

export function hasPushedItemListChanges(changes: PushedItemListChanges): boolean {
  return changes.noted.length > 0 || changes.forgotten.length > 0;
}
