/**
 * The simulated mailboxes: their folders and items, the changes users make and the events each
 * raises, and the ground-truth log of every item change.
 *
 * What it models, and why:
 * - Every mailbox has the folders in folders.ts: the distinguished ones and one a user made,
 *   "Projects", which EWS reaches only by its FolderId.
 * - Every item change appends the events real Exchange raises for it (ews-protocol.md §1.3): a
 *   new message gives NewMailEvent + CreatedEvent + a ModifiedEvent for its folder (with
 *   UnreadCount); a modification gives the item/folder ModifiedEvent pair; a move gives a
 *   MovedEvent (the item gets a new ItemId, the old one is OldItemId) and ModifiedEvents for both
 *   folders; a copy gives a CopiedEvent (ItemId the copy, OldItemId the original) and the target
 *   folder's ModifiedEvent (the source folder does not change); calendar changes add a
 *   FreeBusyChangedEvent. The events go to the mailbox's events table (event-table.ts).
 * - SyncFolderItems reports the difference between the folder as the client last saw it and now
 *   (sync.ts): state-based, as Exchange's, so it never replays history.
 *
 * All time comes from the injected Clock; all randomness from seeded streams.
 */
import type { Clock } from '../functions/core/clock.ts';
import type { Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import type { SubscribableEventType } from '../functions/ews/subscribe.ts';
import {
  type ChangeKind,
  type ChangePlan,
  type ChangeRequest,
  checkChangeRequest,
  planChange,
} from './change-planner.ts';
import {
  type EventFilter,
  EventTable,
  type MailboxEvent,
  type NewEvent,
  type WatermarkProblem,
  WatermarkRegistry,
} from './event-table.ts';
import {
  CUSTOM_FOLDER,
  DISPLAY_NAMES,
  FOLDER_KINDS,
  type FolderDescription,
  type FolderListing,
  type ItemFolder,
  isDistinguishedFolder,
  parentOf,
  SIMULATED_FOLDERS,
  type SimulatedFolder,
} from './folders.ts';
import { SimulatorInputError } from './input-error.ts';
import { type ItemView, occurrenceOf } from './item-codec.ts';
import {
  type CalendarActivity,
  ItemFactory,
  ownerOrganizes,
  type SimulatedItem,
  unreadCount,
} from './items.ts';
import { createRandom, ID_KIND, type IdMinter, type Random } from './random.ts';
import { occurrenceItemId, parseOccurrenceItemId } from './recurrence.ts';
import { type SyncResult, SyncStates } from './sync.ts';

/** The ground truth: one item change, exactly as it happened. */
export interface ChangeRecord {
  /** Order of the change across the whole simulator (1, 2, …). */
  readonly seq: number;
  /** When it happened, simulated epoch milliseconds. */
  readonly at: number;
  readonly mailbox: string;
  readonly kind: ChangeKind;
  readonly element: SimulatedItem['element'];
  /**
   * The item's folder after the change (for a delete: the folder it was deleted from; for a copy:
   * the folder the copy is in). A distinguished folder name, or `projects` for the custom folder.
   */
  readonly folder: ItemFolder;
  /** The EWS FolderId of `folder`: what pushes carry as ParentFolderId. */
  readonly folderId: string;
  /** The item's id after the change (for a delete: the id it had; for a copy: the copy's id). */
  readonly itemId: string;
  /** The item's ChangeKey after the change; null for a delete. */
  readonly changeKey: string | null;
  /**
   * For a move: the id the item had before (Exchange gives a moved item a new id). For a copy:
   * the original's id (it keeps it, and stays where it was). Otherwise null.
   */
  readonly oldItemId: string | null;
  /** For a move or copy: the folder the item was moved or copied from. */
  readonly oldFolder: ItemFolder | null;
  readonly oldFolderId: string | null;
  /** For messages: read or not after the change; null for calendar items and deletes. */
  readonly isRead: boolean | null;
  /**
   * For calendar items, what the change was (items.ts CALENDAR_ACTIVITIES): `singleMeeting` or
   * `recurringSeries` (creates), `reschedule`, `attendeeResponse`, `exception`,
   * `occurrenceCancelled`, `cancelled` (a modify of an attendee's copy, or the delete of the
   * organizer's own meeting), `edit`; null for messages and for other changes of calendar items.
   * Always set in the records the simulator makes (optional in the type only for records others
   * build, e.g. in tests, from before the field existed).
   */
  readonly calendarActivity?: CalendarActivity | null;
  /**
   * For `exception` and `occurrenceCancelled`: the ItemId of the occurrence concerned. The events
   * name the master (a series is one stored item); GetItem answers this id as the exception, or
   * with ErrorCalendarOccurrenceIsDeletedFromRecurrence once cancelled.
   */
  readonly occurrenceItemId?: string | null;
  /** The events the change raised, in order: what a subscription covering them is pushed. */
  readonly events: readonly ChangeEvent[];
}

/** One event of a change, with what a subscription's folder filter looks at. */
export interface ChangeEvent {
  readonly type: SubscribableEventType;
  readonly watermark: string;
  /** The item the event is about, or null for a folder's ModifiedEvent. */
  readonly itemId: string | null;
  /** The folder a folder-level ModifiedEvent is about, else null. */
  readonly folderId: string | null;
  readonly parentFolderId: string;
  /** For a MovedEvent: the folder the item left; for a CopiedEvent: the original's folder. */
  readonly oldParentFolderId: string | null;
}

interface FolderState {
  readonly name: SimulatedFolder;
  readonly displayName: string;
  readonly id: string;
  readonly parentId: string | null;
  readonly items: Map<string, SimulatedItem>;
}

interface MailboxState {
  readonly address: string;
  readonly displayName: string;
  movingUntil: number;
  readonly folders: Map<SimulatedFolder, FolderState>;
  readonly folderById: Map<string, FolderState>;
  readonly events: EventTable;
}

export interface MailboxStoreOptions {
  readonly clock: Clock;
  readonly addresses: readonly string[];
  /**
   * Items each mailbox starts with, recorded as creates in the ground truth: in turn two messages
   * in the inbox, a calendar item and a message in projects. @default 4
   */
  readonly initialItems?: number;
  readonly random: Random;
  /** Where item details come from (a stream of its own, so details never shift the changes). @default seed 1's */
  readonly details?: Random;
  readonly ids: IdMinter;
  /** Probability that a new item's subject holds a control character (the fault). @default 0 */
  readonly controlCharacterRate?: () => number;
}

/** Why GetItem finds no item for an id. */
export type ItemViewProblem = 'notFound' | 'deletedOccurrence' | 'outOfRange';

export interface MailboxDescription {
  readonly address: string;
  readonly database: number;
  readonly moving: boolean;
  /** By the simulator's folder name: a distinguished name, or `projects`. */
  readonly folders: Readonly<Record<string, FolderDescription>>;
}

export class MailboxStore {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ids: IdMinter;
  readonly #items: ItemFactory;
  readonly #watermarks: WatermarkRegistry;
  readonly #mailboxes = new Map<string, MailboxState>();
  readonly #itemsById = new Map<string, SimulatedItem>();
  readonly #syncStates: SyncStates;
  readonly #changes: ChangeRecord[] = [];
  readonly #listeners: Array<(mailbox: string) => void> = [];

  constructor(options: MailboxStoreOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#ids = options.ids;
    this.#items = new ItemFactory(
      options.random,
      options.details ?? createRandom(1, 'details'),
      options.ids,
      options.controlCharacterRate,
    );
    this.#watermarks = new WatermarkRegistry(options.ids);
    this.#syncStates = new SyncStates(options.ids);
    for (const address of options.addresses) this.#addMailbox(address);
    const initial = options.initialItems ?? 4;
    const folders: readonly [ItemFolder, ...ItemFolder[]] = ['inbox', 'inbox', 'calendar', CUSTOM_FOLDER];
    for (const mailbox of this.#mailboxes.values()) {
      for (let i = 0; i < initial; i++) {
        this.makeChange({
          mailbox: mailbox.address,
          kind: 'create',
          folder: folders[i % folders.length] ?? 'inbox',
        });
      }
    }
  }

  /** Called after every change with the mailbox whose event table grew. */
  onEvents(listener: (mailbox: string) => void): void {
    this.#listeners.push(listener);
  }

  // ---- mailboxes and folders ----------------------------------------------------------------

  /** The canonical address of a mailbox (addresses compare case-insensitively), or undefined. */
  mailboxAddress(address: string): string | undefined {
    return this.#mailboxes.get(address.toLowerCase())?.address;
  }

  addresses(): string[] {
    return [...this.#mailboxes.values()].map((m) => m.address);
  }

  isMoving(address: string): boolean {
    const mailbox = this.#mailbox(address);
    return mailbox.movingUntil > this.#clock.now();
  }

  folderId(address: string, folder: SimulatedFolder): string {
    return this.#folder(this.#mailbox(address), folder).id;
  }

  /** The folder an id names, in the given mailbox, or undefined. */
  folderById(address: string, folderId: string): SimulatedFolder | undefined {
    return this.#mailbox(address).folderById.get(folderId)?.name;
  }

  /**
   * The folders under `parent`, as FindFolder lists them: its children (Shallow) or all its
   * descendants (Deep), each folder before its subfolders, siblings in the order the mailbox made
   * them. The parent itself is never listed.
   */
  subfolders(address: string, parent: SimulatedFolder, traversal: 'Shallow' | 'Deep'): FolderListing[] {
    const mailbox = this.#mailbox(address);
    const listed: FolderListing[] = [];
    const visit = (folder: FolderState) => {
      for (const child of this.#children(mailbox, folder)) {
        listed.push(this.#listing(mailbox, child));
        if (traversal === 'Deep') visit(child);
      }
    };
    visit(this.#folder(mailbox, parent));
    return listed;
  }

  /** One folder as GetFolder shows it. */
  folderListing(address: string, folder: SimulatedFolder): FolderListing {
    const mailbox = this.#mailbox(address);
    return this.#listing(mailbox, this.#folder(mailbox, folder));
  }

  #children(mailbox: MailboxState, folder: FolderState): FolderState[] {
    return [...mailbox.folders.values()].filter((f) => f.parentId === folder.id);
  }

  #listing(mailbox: MailboxState, folder: FolderState): FolderListing {
    return {
      name: folder.name,
      folderId: folder.id,
      parentFolderId: folder.parentId,
      ...FOLDER_KINDS[folder.name],
      displayName: folder.displayName,
      totalCount: folder.items.size,
      childFolderCount: this.#children(mailbox, folder).length,
      unreadCount: unreadCount(folder.items.values()),
    };
  }

  /** A summary for the control API: every mailbox with its folders, by the simulator's folder name. */
  describeMailboxes(): MailboxDescription[] {
    const now = this.#clock.now();
    return [...this.#mailboxes.values()].map((m) => ({
      address: m.address,
      database: m.events.database,
      moving: m.movingUntil > now,
      folders: Object.fromEntries(
        [...m.folders.values()].map((f): [string, FolderDescription] => [
          f.name,
          {
            folderId: f.id,
            displayName: f.displayName,
            distinguishedFolderId: isDistinguishedFolder(f.name) ? f.name : null,
            parentFolderId: f.parentId,
            items: f.items.size,
            unread: unreadCount(f.items.values()),
          },
        ]),
      ),
    }));
  }

  /**
   * Moves a mailbox to another database: its events table starts afresh (every earlier watermark
   * is refused from now on) and, for `durationMs`, requests for it get ErrorMailboxMoveInProgress.
   * Subscriptions are dropped by the push engine, which listens for this.
   */
  moveMailbox(
    address: string,
    durationMs: number,
  ): { mailbox: string; database: number; movingUntil: number } {
    const mailbox = this.#mailbox(address);
    mailbox.events.move(this.#random.bytes(16));
    mailbox.movingUntil = this.#clock.now() + durationMs;
    return { mailbox: mailbox.address, database: mailbox.events.database, movingUntil: mailbox.movingUntil };
  }

  // ---- changes: the ground truth ------------------------------------------------------------

  changes(filter: { mailbox?: string; after?: number } = {}): readonly ChangeRecord[] {
    const after = filter.after ?? 0;
    const mailbox = filter.mailbox === undefined ? undefined : this.mailboxAddress(filter.mailbox);
    if (filter.mailbox !== undefined && mailbox === undefined) return [];
    // seq is the position + 1, so "after" is a slice rather than a scan of the whole log.
    const tail = this.#changes.slice(Math.max(0, after));
    return mailbox === undefined ? tail : tail.filter((c) => c.mailbox === mailbox);
  }

  /** Makes one change happen now. Throws SimulatorInputError for a request that cannot be carried out. */
  makeChange(request: ChangeRequest): ChangeRecord {
    const mailbox = this.#mailboxes.get(String(request.mailbox).toLowerCase());
    if (mailbox === undefined) {
      throw new SimulatorInputError(
        `mailbox ${showValue(String(request.mailbox))} does not exist; the simulator has ${this.addresses().slice(0, 5).join(', ')}${this.#mailboxes.size > 5 ? ', …' : ''}`,
        { notFound: true },
      );
    }
    checkChangeRequest(request);
    const contents = {
      address: mailbox.address,
      item: (itemId: string) => {
        const item = this.#itemsById.get(itemId);
        return item?.mailbox === mailbox.address ? item : undefined;
      },
      itemsIn: (folder: ItemFolder) => this.#folder(mailbox, folder).items.values(),
    };
    const plan = planChange(contents, request, this.#random);
    const record = this.#apply(mailbox, plan);
    for (const listener of this.#listeners) listener(mailbox.address);
    return record;
  }

  #apply(mailbox: MailboxState, plan: ChangePlan): ChangeRecord {
    const now = this.#clock.now();
    const events: MailboxEvent[] = [];
    const raise = (event: NewEvent) => {
      events.push(this.#appendEvent(mailbox, event, now));
    };
    const itemEvent = (type: SubscribableEventType, item: SimulatedItem) =>
      raise({
        type,
        itemId: item.id,
        itemChangeKey: item.changeKey,
        folderId: null,
        parentFolderId: this.#folder(mailbox, item.folder).id,
        oldItemId: null,
        oldParentFolderId: null,
        unreadCount: null,
      });
    const folderModified = (name: ItemFolder) => {
      const folder = this.#folder(mailbox, name);
      raise({
        type: 'ModifiedEvent',
        itemId: null,
        itemChangeKey: null,
        folderId: folder.id,
        parentFolderId: folder.parentId ?? folder.id,
        oldItemId: null,
        oldParentFolderId: null,
        unreadCount: unreadCount(folder.items.values()),
      });
    };

    let before: SimulatedItem | null = null;
    let after: SimulatedItem | null;
    let calendarActivity: CalendarActivity | null = null;
    let occurrenceIndex: number | null = null;
    switch (plan.kind) {
      case 'create': {
        after = this.#items.create(
          { name: mailbox.displayName, emailAddress: mailbox.address },
          plan.folder,
          now,
          plan.activity,
          plan.properties,
        );
        if (after.element === 'CalendarItem') {
          calendarActivity = after.recurrence === null ? 'singleMeeting' : 'recurringSeries';
        }
        this.#put(mailbox, after);
        if (after.folder === 'inbox') itemEvent('NewMailEvent', after);
        itemEvent('CreatedEvent', after);
        folderModified(after.folder);
        if (after.element === 'CalendarItem') itemEvent('FreeBusyChangedEvent', after);
        break;
      }
      case 'modify':
      case 'readFlag': {
        before = plan.item;
        const modified = this.#items.modified(
          plan.item,
          plan.kind,
          now,
          plan.kind === 'modify' ? plan.activity : undefined,
        );
        after = modified.item;
        calendarActivity = modified.activity;
        occurrenceIndex = modified.occurrenceIndex;
        this.#put(mailbox, after);
        itemEvent('ModifiedEvent', after);
        folderModified(after.folder);
        if (after.element === 'CalendarItem') itemEvent('FreeBusyChangedEvent', after);
        break;
      }
      case 'move': {
        before = plan.item;
        this.#remove(mailbox, before);
        after = {
          ...before,
          id: this.#items.itemId(),
          changeKey: this.#items.changeKey(),
          folder: plan.target,
        };
        this.#put(mailbox, after);
        raise({
          type: 'MovedEvent',
          itemId: after.id,
          itemChangeKey: after.changeKey,
          folderId: null,
          parentFolderId: this.#folder(mailbox, plan.target).id,
          oldItemId: before.id,
          oldParentFolderId: this.#folder(mailbox, before.folder).id,
          unreadCount: null,
        });
        folderModified(before.folder);
        folderModified(plan.target);
        break;
      }
      case 'copy': {
        // The original stays as it is; the copy is a new item, with the original's properties.
        before = plan.item;
        after = {
          ...before,
          id: this.#items.itemId(),
          changeKey: this.#items.changeKey(),
          folder: plan.target,
          lastModified: now,
        };
        this.#put(mailbox, after);
        raise({
          type: 'CopiedEvent',
          itemId: after.id,
          itemChangeKey: after.changeKey,
          folderId: null,
          parentFolderId: this.#folder(mailbox, plan.target).id,
          oldItemId: before.id,
          oldParentFolderId: this.#folder(mailbox, before.folder).id,
          unreadCount: null,
        });
        folderModified(plan.target);
        break;
      }
      case 'delete': {
        before = plan.item;
        after = null;
        this.#remove(mailbox, before);
        if (
          before.element === 'CalendarItem' &&
          ownerOrganizes(before) &&
          before.requiredAttendees.length + before.optionalAttendees.length > 0 &&
          !before.isCancelled
        ) {
          // The organizer deleting a meeting cancels it (attendees get a cancellation).
          calendarActivity = 'cancelled';
        }
        itemEvent('DeletedEvent', before);
        folderModified(before.folder);
        if (before.element === 'CalendarItem') itemEvent('FreeBusyChangedEvent', before);
        break;
      }
    }
    const subject = after ?? before;
    // Where a moved item came from, or the original of a copy.
    const source = plan.kind === 'move' || plan.kind === 'copy' ? before : null;
    if (subject === null) throw new Error('unreachable: a change has an item before or after');
    const record: ChangeRecord = {
      seq: this.#changes.length + 1,
      at: now,
      mailbox: mailbox.address,
      kind: plan.kind,
      element: subject.element,
      folder: subject.folder,
      folderId: this.#folder(mailbox, subject.folder).id,
      itemId: subject.id,
      changeKey: after?.changeKey ?? null,
      oldItemId: source?.id ?? null,
      oldFolder: source?.folder ?? null,
      oldFolderId: source === null ? null : this.#folder(mailbox, source.folder).id,
      isRead: after?.element === 'Message' ? after.isRead : null,
      calendarActivity,
      occurrenceItemId: occurrenceIndex === null ? null : occurrenceItemId(subject.id, occurrenceIndex),
      events: events.map((e) => ({
        type: e.type,
        watermark: e.watermark,
        itemId: e.itemId,
        folderId: e.folderId,
        parentFolderId: e.parentFolderId,
        oldParentFolderId: e.oldParentFolderId,
      })),
    };
    this.#changes.push(record);
    return record;
  }

  #put(mailbox: MailboxState, item: SimulatedItem): void {
    const { items } = this.#folder(mailbox, item.folder);
    // Re-inserted, so a folder's items are in the order they last changed: SyncFolderItems
    // reports changes in that order.
    items.delete(item.id);
    items.set(item.id, item);
    this.#itemsById.set(item.id, item);
  }

  #remove(mailbox: MailboxState, item: SimulatedItem): void {
    this.#folder(mailbox, item.folder).items.delete(item.id);
    this.#itemsById.delete(item.id);
  }

  // ---- the events table and watermarks ------------------------------------------------------

  #appendEvent(mailbox: MailboxState, event: NewEvent, now: number): MailboxEvent {
    this.#watermarks.forgetExpired(now);
    return mailbox.events.append(event, now, (position) =>
      this.#watermarks.mint(mailbox.events, position, now),
    );
  }

  /** A new watermark for a position (events with a greater seq come after it). */
  mintWatermark(address: string, position: number): string {
    return this.#watermarks.mint(this.#mailbox(address).events, position, this.#clock.now());
  }

  /** The mailbox's newest event position: a watermark for it means "from now on". */
  headPosition(address: string): number {
    return this.#mailbox(address).events.headSeq;
  }

  /** When a watermark was issued, for a subscription deciding whether to refresh it. */
  watermarkIssuedAt(watermark: string): number | undefined {
    return this.#watermarks.issuedAt(watermark);
  }

  /** Where a Subscribe watermark resumes, or why Exchange would answer ErrorInvalidWatermark. */
  resolveWatermark(address: string, watermark: string): Result<number, WatermarkProblem> {
    return this.#watermarks.resolve(this.#mailbox(address).events, watermark, this.#clock.now());
  }

  /** Up to `max` events after `position` that pass the filter (see EventTable.after). */
  eventsAfter(
    address: string,
    position: number,
    filter: EventFilter,
    max: number,
  ): { events: MailboxEvent[]; scannedThrough: number; more: boolean } {
    return this.#mailbox(address).events.after(position, filter, max);
  }

  // ---- items and SyncFolderItems ------------------------------------------------------------

  item(itemId: string): SimulatedItem | undefined {
    return this.#itemsById.get(itemId);
  }

  /**
   * What GetItem reads for an id: a stored item, or an occurrence or exception of a series (its
   * id names the master and the instance; one map lookup either way).
   */
  itemView(itemId: string): Result<ItemView, ItemViewProblem> {
    const item = this.#itemsById.get(itemId);
    if (item !== undefined) return { ok: true, value: this.#view(item) };
    const occurrence = parseOccurrenceItemId(itemId);
    if (occurrence === undefined) return { ok: false, error: 'notFound' };
    return this.occurrenceView(occurrence.masterId, occurrence.index);
  }

  /** Occurrence `index` (1-based) of the master `masterId`, as `t:OccurrenceItemId` names it. */
  occurrenceView(masterId: string, index: number): Result<ItemView, ItemViewProblem> {
    const master = this.#itemsById.get(masterId);
    if (master === undefined || master.element !== 'CalendarItem' || master.recurrence === null) {
      return { ok: false, error: 'notFound' };
    }
    if (index < 1 || index > master.recurrence.occurrences) return { ok: false, error: 'outOfRange' };
    if (master.deletedOccurrences.includes(index)) return { ok: false, error: 'deletedOccurrence' };
    return { ok: true, value: { ...this.#view(master), occurrence: occurrenceOf(master, index) } };
  }

  #view(item: SimulatedItem): ItemView {
    return { item, parentFolderId: this.#folder(this.#mailbox(item.mailbox), item.folder).id };
  }

  /**
   * The next page of a folder's changes since a SyncState (all its items as creates without one),
   * as Exchange reports them: how things are now, never the history (sync.ts).
   */
  syncFolderItems(
    address: string,
    folderName: SimulatedFolder,
    syncState: string | undefined,
    max: number,
    ignore: ReadonlySet<string>,
  ): Result<SyncResult, 'invalidSyncState'> {
    const mailbox = this.#mailbox(address);
    const folder = this.#folder(mailbox, folderName);
    return this.#syncStates.sync(
      { mailbox: mailbox.address, folderId: folder.id },
      folder.items,
      syncState,
      max,
      ignore,
    );
  }

  // ---- internals ----------------------------------------------------------------------------

  #addMailbox(address: string): void {
    const key = address.toLowerCase();
    if (this.#mailboxes.has(key))
      throw new SimulatorInputError(`mailbox ${showValue(address)} is listed twice`);
    const folders = new Map<SimulatedFolder, FolderState>();
    const folderById = new Map<string, FolderState>();
    for (const name of SIMULATED_FOLDERS) {
      const parent = parentOf(name);
      const folder: FolderState = {
        name,
        displayName: DISPLAY_NAMES[name],
        id: this.#ids.mint(ID_KIND.folder, 30),
        parentId: parent === null ? null : (folders.get(parent)?.id ?? null),
        items: new Map(),
      };
      folders.set(name, folder);
      folderById.set(folder.id, folder);
    }
    const local = address.split('@')[0] ?? address;
    this.#mailboxes.set(key, {
      address,
      displayName: local.replace(
        /(^|[._-])(\w)/g,
        (_m, sep: string, c: string) => `${sep ? ' ' : ''}${c.toUpperCase()}`,
      ),
      movingUntil: 0,
      folders,
      folderById,
      events: new EventTable(address, this.#random.bytes(16)),
    });
  }

  #mailbox(address: string): MailboxState {
    const mailbox = this.#mailboxes.get(address.toLowerCase());
    if (mailbox === undefined) {
      throw new SimulatorInputError(`mailbox ${showValue(address)} does not exist`, { notFound: true });
    }
    return mailbox;
  }

  #folder(mailbox: MailboxState, name: SimulatedFolder): FolderState {
    const folder = mailbox.folders.get(name);
    if (folder === undefined)
      throw new Error(`unreachable: every mailbox has every simulated folder (${name})`);
    return folder;
  }
}
