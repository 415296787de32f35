/**
 * SyncFolderItems as Exchange does it: state-based. A SyncState stands for what the client knows
 * of the folder (which items, in which version); a sync compares that with the folder as it is now
 * and reports the difference, at most MaxChangesReturned changes a page. It never replays history:
 * after "create A, create B, delete A" a first sync reports Create B only, one change a page or
 * all at once alike, and an item created and deleted between two syncs is never reported at all.
 * (The bridge's pushed-item list exists for exactly that blind spot.)
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import type { SimulatedItem } from './items.ts';
import { ID_KIND, type IdMinter } from './random.ts';

export type SyncChange =
  | { readonly kind: 'Create' | 'Update'; readonly item: SimulatedItem }
  | { readonly kind: 'Delete'; readonly itemId: string }
  | { readonly kind: 'ReadFlagChange'; readonly itemId: string; readonly isRead: boolean };

export interface SyncResult {
  readonly syncState: string;
  readonly includesLastItemInRange: boolean;
  readonly changes: readonly SyncChange[];
}

/** What a SyncState stands for: the folder as the client has it, item id → the version it has. */
interface SyncStateInfo {
  readonly mailbox: string;
  readonly folderId: string;
  readonly known: ReadonlyMap<string, SimulatedItem>;
}

/** Every SyncState handed out, so a later sync can continue from any of them. */
export class SyncStates {
  readonly #ids: IdMinter;
  readonly #states = new Map<string, SyncStateInfo>();

  constructor(ids: IdMinter) {
    this.#ids = ids;
  }

  /**
   * The next page of differences between what `syncState` knows of the folder (nothing, without
   * one) and `current`, its items now. Items in `ignore` are taken as known without being
   * reported (m:Ignore). Creates and updates come in the order `current` lists the items (the
   * store keeps them in the order they last changed), then deletes.
   */
  sync(
    folder: { readonly mailbox: string; readonly folderId: string },
    current: ReadonlyMap<string, SimulatedItem>,
    syncState: string | undefined,
    max: number,
    ignore: ReadonlySet<string>,
  ): Result<SyncResult, 'invalidSyncState'> {
    let known: ReadonlyMap<string, SimulatedItem> = new Map();
    if (syncState !== undefined) {
      const info = this.#states.get(syncState);
      if (info === undefined || info.mailbox !== folder.mailbox || info.folderId !== folder.folderId) {
        return err('invalidSyncState');
      }
      known = info.known;
    }
    const differences = [...differencesBetween(known, current)];
    const next = new Map(known);
    const changes: SyncChange[] = [];
    let taken = 0;
    for (const difference of differences) {
      const reported = !ignore.has(difference.itemId);
      if (reported && changes.length === max) break;
      if (reported) changes.push(difference.change);
      if (difference.now === null) next.delete(difference.itemId);
      else next.set(difference.itemId, difference.now);
      taken++;
    }
    const newState = this.#ids.mint(ID_KIND.syncState, 24);
    this.#states.set(newState, { ...folder, known: next });
    return ok({ syncState: newState, includesLastItemInRange: taken === differences.length, changes });
  }
}

interface Difference {
  readonly itemId: string;
  /** The item now, or null when it is gone. */
  readonly now: SimulatedItem | null;
  readonly change: SyncChange;
}

function* differencesBetween(
  known: ReadonlyMap<string, SimulatedItem>,
  current: ReadonlyMap<string, SimulatedItem>,
): Generator<Difference> {
  for (const now of current.values()) {
    const then = known.get(now.id);
    if (then?.changeKey === now.changeKey) continue;
    let change: SyncChange;
    if (then === undefined) change = { kind: 'Create', item: now };
    else if (now.element === 'Message' && onlyReadFlagDiffers(then, now)) {
      change = { kind: 'ReadFlagChange', itemId: now.id, isRead: now.isRead };
    } else change = { kind: 'Update', item: now };
    yield { itemId: now.id, now, change };
  }
  for (const itemId of known.keys()) {
    if (!current.has(itemId)) yield { itemId, now: null, change: { kind: 'Delete', itemId } };
  }
}

/** Whether two versions of an item differ in nothing a user sees but the read flag. */
function onlyReadFlagDiffers(then: SimulatedItem, now: SimulatedItem): boolean {
  if (then.element !== 'Message' || now.element !== 'Message' || then.isRead === now.isRead) return false;
  const strip = ({ changeKey: _k, lastModified: _m, isRead: _r, ...rest }: typeof then) => rest;
  return JSON.stringify(strip(then)) === JSON.stringify(strip(now));
}
