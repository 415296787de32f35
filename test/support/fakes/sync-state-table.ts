/**
 * The SyncStates table in memory: per-folder SyncStates with their pending checkpoint state, the
 * checkpoint item, and the pushed-item list that shares the mailbox's partition (so `clear`
 * forgets both, as the adapter's Query + BatchWriteItem does). Conditions as
 * DynamoSyncStateStore writes them; kept honest by test/contract/sync-state-table.contract.ts.
 */
import type { SyncProgress } from '../../../functions/admin/manage.ts';
import type { FolderSyncState, PendingSyncState } from '../../../functions/domain/folder-sync-state.ts';
import type { MailboxKey } from '../../../functions/domain/mailbox-key.ts';
import type {
  PushedItemListChanges,
  PushedItemListEntry,
} from '../../../functions/domain/pushed-item-list.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import type { PushedItemListWriter } from '../../../functions/receiver/receive.ts';
import type { CheckpointStore, PendingCheckpoint } from '../../../functions/renewer/checkpoint.ts';
import type {
  GraphDeltaState,
  GraphDeltaStore,
  GraphPendingCheckpoint,
  GraphPendingLink,
} from '../../../functions/renewer/graph-lifecycle.ts';
import type { PushedItemList, PushedItemWriter } from '../../../functions/renewer/reconcile.ts';
import { Failures } from './failures.ts';

/** The adapter's sort key of a folder: distinguished and id folders never collide. */
export function folderKey(folder: FolderRef): string {
  return 'folderId' in folder ? `f#${folder.folderId}` : `d#${folder.distinguishedFolderId}`;
}

interface Partition {
  readonly folders: Map<string, FolderSyncState>;
  checkpoint?: PendingCheckpoint;
  readonly items: Map<string, PushedItemListEntry>;
}

export class FakePushedItemList implements PushedItemListWriter, PushedItemList, PushedItemWriter {
  readonly failures = new Failures<'record' | 'list' | 'forget' | 'write'>();
  readonly #partitions: (mailboxKey: MailboxKey) => Partition;

  constructor(partitions: (mailboxKey: MailboxKey) => Partition) {
    this.#partitions = partitions;
  }

  async record(mailboxKey: MailboxKey, changes: PushedItemListChanges, at: number): Promise<void> {
    this.failures.check('record');
    const { items } = this.#partitions(mailboxKey);
    for (const item of changes.noted) items.set(item.itemId, { ...item, notedAt: at });
    for (const itemId of changes.forgotten) items.delete(itemId);
  }

  async *list(mailboxKey: MailboxKey): AsyncIterable<PushedItemListEntry> {
    this.failures.check('list');
    // A Query returns the partition in sort-key order.
    const entries = [...this.#partitions(mailboxKey).items.values()].sort((a, b) =>
      a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0,
    );
    for (const entry of entries) yield { ...entry };
  }

  async write(mailboxKey: MailboxKey, entries: readonly PushedItemListEntry[]): Promise<void> {
    this.failures.check('write');
    const { items } = this.#partitions(mailboxKey);
    for (const entry of entries) items.set(entry.itemId, { ...entry });
  }

  async forget(mailboxKey: MailboxKey, itemIds: readonly string[]): Promise<void> {
    this.failures.check('forget');
    const { items } = this.#partitions(mailboxKey);
    for (const itemId of itemIds) items.delete(itemId);
  }

  /** For tests: the list as stored (a "given" or a "then"). */
  entries(mailboxKey: MailboxKey): PushedItemListEntry[] {
    return [...this.#partitions(mailboxKey).items.values()];
  }

  /** For tests: notes an item as the receiver would have. */
  note(mailboxKey: MailboxKey, entry: PushedItemListEntry): void {
    this.#partitions(mailboxKey).items.set(entry.itemId, { ...entry });
  }
}

export class FakeSyncStateStore implements CheckpointStore, SyncProgress {
  readonly failures = new Failures<'get' | 'put' | 'putPending' | 'promote' | 'checkpoint' | 'clear'>();
  readonly #partitions = new Map<MailboxKey, Partition>();
  /** The pushed-item list kept in the same partitions. */
  readonly pushedItems = new FakePushedItemList((key) => this.#partition(key));

  #partition(mailboxKey: MailboxKey): Partition {
    let partition = this.#partitions.get(mailboxKey);
    if (partition === undefined) {
      partition = { folders: new Map(), items: new Map() };
      this.#partitions.set(mailboxKey, partition);
    }
    return partition;
  }

  async get(mailboxKey: MailboxKey, folder: FolderRef): Promise<FolderSyncState | undefined> {
    this.failures.check('get');
    const state = this.#partition(mailboxKey).folders.get(folderKey(folder));
    return state === undefined ? undefined : structuredClone(state);
  }

  async put(mailboxKey: MailboxKey, state: Omit<FolderSyncState, 'pending'>): Promise<void> {
    this.failures.check('put');
    // A Put replaces the item: a pending SyncState next to the old one is gone.
    const { folder, syncState, complete, itemsSeen, updatedAt } = state;
    this.#partition(mailboxKey).folders.set(folderKey(folder), {
      folder: structuredClone(folder),
      ...(syncState === undefined ? {} : { syncState }),
      complete,
      itemsSeen,
      updatedAt,
    });
  }

  async putPending(mailboxKey: MailboxKey, folder: FolderRef, pending: PendingSyncState): Promise<boolean> {
    this.failures.check('putPending');
    const { folders } = this.#partition(mailboxKey);
    const key = folderKey(folder);
    const state = folders.get(key);
    if (pending.basedOn === null) {
      if (state?.syncState !== undefined) return false;
      folders.set(key, {
        ...(state ?? { folder: structuredClone(folder), complete: false, itemsSeen: 0, updatedAt: 0 }),
        pending: { syncState: pending.syncState, basedOn: null },
      });
      return true;
    }
    if (state === undefined || state.syncState !== pending.basedOn) return false;
    folders.set(key, { ...state, pending: { ...pending } });
    return true;
  }

  async promote(
    mailboxKey: MailboxKey,
    folder: FolderRef,
    pending: PendingSyncState,
    now: number,
  ): Promise<boolean> {
    this.failures.check('promote');
    const { folders } = this.#partition(mailboxKey);
    const key = folderKey(folder);
    const state = folders.get(key);
    if (state === undefined || state.pending?.syncState !== pending.syncState) return false;
    if ((state.syncState ?? null) !== pending.basedOn) return false;
    const { pending: _taken, ...rest } = state;
    folders.set(key, { ...rest, syncState: pending.syncState, complete: true, updatedAt: now });
    return true;
  }

  async getCheckpoint(mailboxKey: MailboxKey): Promise<PendingCheckpoint | undefined> {
    this.failures.check('checkpoint');
    const checkpoint = this.#partition(mailboxKey).checkpoint;
    return checkpoint === undefined ? undefined : { ...checkpoint };
  }

  async putCheckpoint(mailboxKey: MailboxKey, checkpoint: PendingCheckpoint): Promise<void> {
    this.failures.check('checkpoint');
    this.#partition(mailboxKey).checkpoint = { ...checkpoint };
  }

  async deleteCheckpoint(mailboxKey: MailboxKey): Promise<void> {
    this.failures.check('checkpoint');
    delete this.#partition(mailboxKey).checkpoint;
  }

  async list(mailboxKey: MailboxKey): Promise<FolderSyncState[]> {
    this.failures.check('get');
    return [...this.#partition(mailboxKey).folders.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, state]) => structuredClone(state));
  }

  async clear(mailboxKey: MailboxKey): Promise<void> {
    this.failures.check('clear');
    this.#partitions.delete(mailboxKey);
  }
}

/**
 * The Graph delta links (renewer/graph-lifecycle.ts), in memory, with the Graph checkpoint's
 * pending links and record (renewer/graph-checkpoint.ts). Conditions as DynamoGraphDeltaStore
 * writes them; kept honest by test/contract/sync-state-table.contract.ts.
 */
export class FakeGraphDeltaStore implements GraphDeltaStore {
  readonly failures = new Failures<'get' | 'put' | 'putPending' | 'promote' | 'checkpoint'>();
  readonly #states = new Map<string, { state?: GraphDeltaState; pending?: GraphPendingLink }>();
  readonly #checkpoints = new Map<MailboxKey, GraphPendingCheckpoint>();

  #key(mailboxKey: MailboxKey, scope: string): string {
    return `${mailboxKey}\u0000${scope}`;
  }

  async get(mailboxKey: MailboxKey, scope: string): Promise<GraphDeltaState | undefined> {
    this.failures.check('get');
    const state = this.#states.get(this.#key(mailboxKey, scope))?.state;
    return state === undefined ? undefined : structuredClone(state);
  }

  /** Every stored state of a mailbox (for tests). */
  all(mailboxKey: MailboxKey): GraphDeltaState[] {
    return [...this.#states.entries()]
      .filter(([key]) => key.startsWith(`${mailboxKey}\u0000`))
      .flatMap(([, item]) => (item.state === undefined ? [] : [structuredClone(item.state)]));
  }

  async put(mailboxKey: MailboxKey, state: GraphDeltaState): Promise<void> {
    this.failures.check('put');
    // A Put replaces the item: a pending link beside the old one is gone.
    this.#states.set(this.#key(mailboxKey, state.scope), { state: structuredClone(state) });
  }

  async getPending(mailboxKey: MailboxKey, scope: string): Promise<GraphPendingLink | undefined> {
    this.failures.check('get');
    const pending = this.#states.get(this.#key(mailboxKey, scope))?.pending;
    return pending === undefined ? undefined : structuredClone(pending);
  }

  async putPending(mailboxKey: MailboxKey, scope: string, pending: GraphPendingLink): Promise<boolean> {
    this.failures.check('putPending');
    const key = this.#key(mailboxKey, scope);
    const item = this.#states.get(key);
    if ((item?.state?.deltaLink ?? null) !== pending.basedOn) return false;
    this.#states.set(key, { ...item, pending: structuredClone(pending) });
    return true;
  }

  async promote(
    mailboxKey: MailboxKey,
    scope: string,
    pending: GraphPendingLink,
    now: number,
  ): Promise<boolean> {
    this.failures.check('promote');
    const key = this.#key(mailboxKey, scope);
    const item = this.#states.get(key);
    if (item?.pending?.deltaLink !== pending.deltaLink) return false;
    if ((item.state?.deltaLink ?? null) !== pending.basedOn) return false;
    this.#states.set(key, {
      state: {
        scope,
        deltaLink: pending.deltaLink,
        itemsSeen: pending.itemsSeen,
        ...(pending.window === undefined ? {} : { window: { ...pending.window } }),
        updatedAt: now,
      },
    });
    return true;
  }

  async getCheckpoint(mailboxKey: MailboxKey): Promise<GraphPendingCheckpoint | undefined> {
    this.failures.check('checkpoint');
    const checkpoint = this.#checkpoints.get(mailboxKey);
    return checkpoint === undefined ? undefined : { ...checkpoint };
  }

  async putCheckpoint(mailboxKey: MailboxKey, checkpoint: GraphPendingCheckpoint): Promise<void> {
    this.failures.check('checkpoint');
    this.#checkpoints.set(mailboxKey, { ...checkpoint });
  }

  async deleteCheckpoint(mailboxKey: MailboxKey): Promise<void> {
    this.failures.check('checkpoint');
    this.#checkpoints.delete(mailboxKey);
  }
}
