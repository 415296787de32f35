/**
 * The simulated mailboxes: folders, items, the mailbox events table that push subscriptions read
 * from, watermarks, SyncStates, and the ground-truth log of every item change.
 *
 * What it models, and why:
 * - Every mailbox has the distinguished folders in SIMULATED_FOLDERS and one folder a user made,
 *   "Projects" (CUSTOM_FOLDER): no distinguished name, so EWS reaches it only by its FolderId.
 * - Every item change appends the events real Exchange raises for it (ews-protocol.md §1.3): a
 *   new message gives NewMailEvent + CreatedEvent + a ModifiedEvent for its folder (with
 *   UnreadCount); a modification gives the item/folder ModifiedEvent pair; a move gives a
 *   MovedEvent (the item gets a new ItemId, the old one is OldItemId) and ModifiedEvents for both
 *   folders; a copy gives a CopiedEvent (ItemId the copy, OldItemId the original) and the target
 *   folder's ModifiedEvent (the source folder does not change); calendar changes add a
 *   FreeBusyChangedEvent.
 * - A subscription's folder filter passes an event whose ParentFolderId or, for a MovedEvent or
 *   CopiedEvent, OldParentFolderId is one of its folders: a subscription on the source folder
 *   hears that an item left it or was copied from it. Microsoft does not say which folder a
 *   Moved/CopiedEvent is filtered by; this is the reading under which a folder's subscriber
 *   misses nothing that concerns the folder.
 * - Every event gets its own watermark. A watermark resumes a subscription after its event; it
 *   stops being accepted (ErrorInvalidWatermark) when it is older than 30 days, when events after
 *   it were purged, when it is unknown or belongs to another mailbox, or after the mailbox moved to
 *   another database (ews-protocol.md §3.1 "Watermark").
 * - SyncFolderItems reports the difference between the folder as the client last saw it and now,
 *   page by page, so that applying the pages in order gives exactly the folder's content.
 *
 * All time comes from the injected Clock; all randomness from seeded streams.
 */
import type { Clock } from '../functions/core/clock.ts';
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import type { DistinguishedFolderName } from '../functions/ews/request.ts';
import type { SubscribableEventType } from '../functions/ews/subscribe.ts';
import type { IdMinter, Random } from './random.ts';

/** The well-known folders every simulated mailbox has (a subset of t:DistinguishedFolderIdNameType). */
export const DISTINGUISHED_FOLDERS = [
  'root',
  'msgfolderroot',
  'inbox',
  'calendar',
  'contacts',
  'tasks',
  'drafts',
  'sentitems',
  'deleteditems',
  'junkemail',
] as const satisfies readonly DistinguishedFolderName[];
export type DistinguishedFolder = (typeof DISTINGUISHED_FOLDERS)[number];

/** A name that is not a t:DistinguishedFolderIdNameType value (`never` if it is one). */
type NotDistinguished<T extends string> = T extends DistinguishedFolderName ? never : T;

/**
 * The folder a user made, one in every mailbox: display name "Projects", under the top of the
 * information store (msgfolderroot), holding messages. Like any folder a user makes it has no
 * distinguished name: EWS reaches it only by its FolderId (learn it from FindFolder, as a real
 * client does, or from `mailboxes()` and `GET /_sim/mailboxes`), and
 * `t:DistinguishedFolderId Id="projects"` fails schema validation. `projects` is only the
 * simulator's own name for it, in the ground truth and the control API; the type makes sure it
 * can never collide with a distinguished name.
 */
export const CUSTOM_FOLDER: NotDistinguished<'projects'> = 'projects';
export type CustomFolder = typeof CUSTOM_FOLDER;

/** Every folder of a simulated mailbox: the distinguished ones, then the custom one. */
export const SIMULATED_FOLDERS = [...DISTINGUISHED_FOLDERS, CUSTOM_FOLDER] as const;
export type SimulatedFolder = DistinguishedFolder | CustomFolder;

/** Each folder's DisplayName: Exchange's English names (the root folder's is empty). */
const DISPLAY_NAMES: Readonly<Record<SimulatedFolder, string>> = {
  root: '',
  msgfolderroot: 'Top of Information Store',
  inbox: 'Inbox',
  calendar: 'Calendar',
  contacts: 'Contacts',
  tasks: 'Tasks',
  drafts: 'Drafts',
  sentitems: 'Sent Items',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
  projects: 'Projects',
};

/** The `t:ArrayOfFoldersType` element a folder is listed as: what kind of items it holds. */
export type FolderKind = 'Folder' | 'CalendarFolder' | 'ContactsFolder' | 'TasksFolder';

/**
 * Each folder's element and FolderClass, as Exchange lists them in FindFolder: the calendar,
 * contacts and tasks folders have their own elements and classes, mail folders are `Folder` with
 * IPF.Note. The two roots are containers without a class of their own.
 */
const FOLDER_KINDS: Readonly<Record<SimulatedFolder, { kind: FolderKind; folderClass: string | null }>> = {
  root: { kind: 'Folder', folderClass: null },
  msgfolderroot: { kind: 'Folder', folderClass: null },
  inbox: { kind: 'Folder', folderClass: 'IPF.Note' },
  calendar: { kind: 'CalendarFolder', folderClass: 'IPF.Appointment' },
  contacts: { kind: 'ContactsFolder', folderClass: 'IPF.Contact' },
  tasks: { kind: 'TasksFolder', folderClass: 'IPF.Task' },
  drafts: { kind: 'Folder', folderClass: 'IPF.Note' },
  sentitems: { kind: 'Folder', folderClass: 'IPF.Note' },
  deleteditems: { kind: 'Folder', folderClass: 'IPF.Note' },
  junkemail: { kind: 'Folder', folderClass: 'IPF.Note' },
  projects: { kind: 'Folder', folderClass: 'IPF.Note' },
};

/** The folders items live in, so the folders changes can happen in. */
export const ITEM_FOLDERS = [
  'inbox',
  'calendar',
  'drafts',
  'sentitems',
  'deleteditems',
  'junkemail',
  CUSTOM_FOLDER,
] as const;
export type ItemFolder = (typeof ITEM_FOLDERS)[number];
export function isItemFolder(name: string): name is ItemFolder {
  return ITEM_FOLDERS.some((known) => known === name);
}

/** The folders a message may be in: every item folder but the calendar. */
const MESSAGE_FOLDERS: readonly ItemFolder[] = ITEM_FOLDERS.filter((f) => f !== 'calendar');
/** The folders a calendar item may be in. */
const CALENDAR_ITEM_FOLDERS: readonly ItemFolder[] = ['calendar', 'deleteditems'];

/**
 * What happened to an item: created, modified (properties), readFlag (a message read or unread),
 * move (to another folder; the item gets a new ItemId), copy (a message copied to another folder:
 * a new item with its own ItemId; the original stays), delete (hard delete).
 */
export const CHANGE_KINDS = ['create', 'modify', 'readFlag', 'move', 'copy', 'delete'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export function isChangeKind(value: string): value is ChangeKind {
  return CHANGE_KINDS.some((known) => known === value);
}

/** Events older than this are purged, and watermarks older than this are refused (MSDOCS watermark.md). */
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface EmailAddress {
  readonly name: string;
  readonly emailAddress: string;
}

interface ItemCommon {
  readonly id: string;
  readonly changeKey: string;
  readonly mailbox: string;
  readonly folder: ItemFolder;
  readonly subject: string;
  readonly lastModified: number;
}
export interface SimulatedMessage extends ItemCommon {
  readonly element: 'Message';
  readonly from: EmailAddress;
  readonly received: number;
  readonly isRead: boolean;
}
export interface SimulatedCalendarItem extends ItemCommon {
  readonly element: 'CalendarItem';
  readonly start: number;
  readonly end: number;
  readonly organizer: EmailAddress;
  readonly location: string;
}
/** An item as stored. Immutable: a change replaces it, so old versions stay valid in the logs. */
export type SimulatedItem = SimulatedMessage | SimulatedCalendarItem;

/** One row of the mailbox events table: what a notification event is built from. */
export interface MailboxEvent {
  /** Position in the mailbox's event sequence (1, 2, …; never reused, also across moves). */
  readonly seq: number;
  readonly type: SubscribableEventType;
  readonly watermark: string;
  readonly timeStamp: number;
  readonly itemId: string | null;
  readonly itemChangeKey: string | null;
  readonly folderId: string | null;
  readonly parentFolderId: string;
  readonly oldItemId: string | null;
  readonly oldParentFolderId: string | null;
  readonly unreadCount: number | null;
}

/** How often a random change (no kind asked for) is of each kind. */
const RANDOM_KIND_WEIGHTS: Readonly<Record<ChangeKind, number>> = {
  create: 6,
  modify: 4,
  readFlag: 2,
  move: 2,
  copy: 1,
  delete: 2,
};

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

export interface ChangeRequest {
  readonly mailbox: string;
  /** @default a random kind (weighted towards create and modify; copies are rare) */
  readonly kind?: ChangeKind;
  /**
   * For a create, where; for the other kinds, where the item is now.
   * @default inbox, calendar or projects for a create; any folder holding a suitable item otherwise
   */
  readonly folder?: ItemFolder;
  /**
   * For a move or copy: the folder to move or copy to (not the item's own). A message may go to
   * any item folder but the calendar, a calendar item only to calendar or deleteditems.
   * @default for a move of the kind asked for, deleteditems, or out of it (a calendar item to
   * calendar, a message to inbox); for a copy, projects (from projects: inbox); for a random
   * change, a random one of inbox, projects, deleteditems, junkemail (calendar items: calendar,
   * deleteditems)
   */
  readonly toFolder?: ItemFolder;
  /** The item to modify, mark, move, copy or delete (current id). @default a random suitable item */
  readonly itemId?: string;
}

/** What exactly a change does, once every random choice is made. */
type ChangePlan =
  | { readonly kind: 'create'; readonly folder: ItemFolder }
  | { readonly kind: 'modify' | 'readFlag' | 'delete'; readonly item: SimulatedItem }
  | { readonly kind: 'move' | 'copy'; readonly item: SimulatedItem; readonly target: ItemFolder };

/** Which events a subscription wants: its event types and folders ('all' = SubscribeToAllFolders). */
export interface EventFilter {
  readonly eventTypes: ReadonlySet<SubscribableEventType>;
  readonly folderIds: ReadonlySet<string> | 'all';
}

export type SyncChange =
  | { readonly kind: 'Create' | 'Update'; readonly item: SimulatedItem }
  | { readonly kind: 'Delete'; readonly itemId: string }
  | { readonly kind: 'ReadFlagChange'; readonly itemId: string; readonly isRead: boolean };

export interface SyncResult {
  readonly syncState: string;
  readonly includesLastItemInRange: boolean;
  readonly changes: readonly SyncChange[];
}

/** Why a watermark is refused; every reason is ErrorInvalidWatermark to the client. */
export type WatermarkProblem = 'unknown' | 'otherMailbox' | 'otherDatabase' | 'expired' | 'purged';

interface FolderLogEntry {
  readonly seq: number;
  readonly itemId: string;
  /** The item after this change, or null when it left the folder (deleted or moved away). */
  readonly item: SimulatedItem | null;
  readonly kind: ChangeKind;
}

interface FolderState {
  readonly name: SimulatedFolder;
  readonly displayName: string;
  readonly id: string;
  readonly parentId: string | null;
  readonly items: Map<string, SimulatedItem>;
  /** Every change of the folder's content, seq = index + 1. */
  readonly log: FolderLogEntry[];
  /** The log entries of each item id, in order: SyncFolderItems looks up an item's past state. */
  readonly history: Map<string, FolderLogEntry[]>;
}

interface MailboxState {
  readonly address: string;
  readonly displayName: string;
  /** Bumped by a move: watermarks of another database are refused. */
  database: number;
  databaseGuid: Uint8Array;
  movingUntil: number;
  readonly folders: Map<SimulatedFolder, FolderState>;
  readonly folderById: Map<string, FolderState>;
  /** Retained events, ascending; events[i].seq === purgedThrough + 1 + i. */
  events: MailboxEvent[];
  headSeq: number;
  purgedThrough: number;
}

interface WatermarkInfo {
  readonly mailbox: string;
  readonly database: number;
  /** Events with seq greater than this come after the watermark. */
  readonly position: number;
  readonly issuedAt: number;
}

interface SyncStateInfo {
  readonly mailbox: string;
  readonly folderId: string;
  readonly seq: number;
}

/**
 * A request of the control or in-process API that cannot be carried out: it names a mailbox or
 * subscription the simulator does not have (`notFound`), or a kind or folder it does not know.
 */
export class SimulatorInputError extends Error {
  override readonly name = 'SimulatorInputError';
  readonly notFound: boolean;

  constructor(message: string, options: { notFound?: boolean } = {}) {
    super(message);
    this.notFound = options.notFound ?? false;
  }
}

const ID_KIND = { item: 0x11, folder: 0x12, changeKey: 0x13, watermark: 0x01, syncState: 0x14 } as const;

const SENDERS: readonly [EmailAddress, ...EmailAddress[]] = [
  { name: 'Billing', emailAddress: 'billing@vendor.test' },
  { name: 'Grace Hopper', emailAddress: 'grace@fabrikam.test' },
  { name: 'Linus Example', emailAddress: 'linus@example.test' },
  { name: 'Service Desk', emailAddress: 'servicedesk@contoso.test' },
];
const SUBJECTS: readonly [string, ...string[]] = [
  'Invoice',
  'Quarterly review',
  'Design sync',
  'Lunch?',
  'Release notes',
  'Travel plans',
  'Budget & forecast',
  'Customer call',
];
const LOCATIONS: readonly [string, ...string[]] = ['Room 4.12', 'Room 2.01', 'Teams', 'Cafeteria'];

export interface MailboxStoreOptions {
  readonly clock: Clock;
  readonly addresses: readonly string[];
  /**
   * Items each mailbox starts with, recorded as creates in the ground truth: in turn two messages
   * in the inbox, a calendar item and a message in projects. @default 4
   */
  readonly initialItems?: number;
  readonly random: Random;
  readonly ids: IdMinter;
}

/** A folder as `mailboxes()` and `GET /_sim/mailboxes` describe it. */
export interface FolderDescription {
  /** The EWS FolderId: what `t:FolderId Id="…"` takes, and what pushes carry. */
  readonly folderId: string;
  readonly displayName: string;
  /** The `t:DistinguishedFolderId Id` that also names it, or null (the custom folder: by FolderId only). */
  readonly distinguishedFolderId: DistinguishedFolder | null;
  /** The FolderId of its parent folder; null for the root. */
  readonly parentFolderId: string | null;
  readonly items: number;
  readonly unread: number;
}

/** A folder as FindFolder lists it. */
export interface FolderListing {
  /** The simulator's name for it: a distinguished name, or `projects`. */
  readonly name: SimulatedFolder;
  /** The same FolderId pushes, SyncFolderItems and `mailboxes()` use. */
  readonly folderId: string;
  readonly parentFolderId: string | null;
  readonly kind: FolderKind;
  /** null for the two roots, which have no FolderClass. */
  readonly folderClass: string | null;
  readonly displayName: string;
  readonly totalCount: number;
  readonly childFolderCount: number;
  readonly unreadCount: number;
}

export interface MailboxDescription {
  readonly address: string;
  readonly database: number;
  readonly moving: boolean;
  /** By the simulator's folder name: a distinguished name, or `projects`. */
  readonly folders: Readonly<Record<string, FolderDescription>>;
}

export function isDistinguishedFolder(name: string): name is DistinguishedFolder {
  return DISTINGUISHED_FOLDERS.some((known) => known === name);
}

export class MailboxStore {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ids: IdMinter;
  readonly #mailboxes = new Map<string, MailboxState>();
  readonly #itemsById = new Map<string, SimulatedItem>();
  readonly #watermarks = new Map<string, WatermarkInfo>();
  /** Watermarks in issue order, so the old ones can be forgotten cheaply. */
  readonly #watermarkQueue: string[] = [];
  #watermarkQueueStart = 0;
  readonly #syncStates = new Map<string, SyncStateInfo>();
  readonly #changes: ChangeRecord[] = [];
  readonly #listeners: Array<(mailbox: string) => void> = [];
  #subjectCounter = 0;

  constructor(options: MailboxStoreOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#ids = options.ids;
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
    const all = [...mailbox.folders.values()];
    const children = (folder: FolderState) => all.filter((f) => f.parentId === folder.id);
    const listed: FolderListing[] = [];
    const visit = (folder: FolderState) => {
      for (const child of children(folder)) {
        listed.push({
          name: child.name,
          folderId: child.id,
          parentFolderId: child.parentId,
          ...FOLDER_KINDS[child.name],
          displayName: child.displayName,
          totalCount: child.items.size,
          childFolderCount: children(child).length,
          unreadCount: unread(child),
        });
        if (traversal === 'Deep') visit(child);
      }
    };
    visit(this.#folder(mailbox, parent));
    return listed;
  }

  /** A summary for the control API: every mailbox with its folders, by the simulator's folder name. */
  describeMailboxes(): MailboxDescription[] {
    const now = this.#clock.now();
    return [...this.#mailboxes.values()].map((m) => ({
      address: m.address,
      database: m.database,
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
            unread: unread(f),
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
    mailbox.database++;
    mailbox.databaseGuid = this.#random.bytes(16);
    mailbox.movingUntil = this.#clock.now() + durationMs;
    mailbox.purgedThrough = mailbox.headSeq;
    mailbox.events = [];
    return { mailbox: mailbox.address, database: mailbox.database, movingUntil: mailbox.movingUntil };
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
    if (request.kind !== undefined && !isChangeKind(request.kind)) {
      throw new SimulatorInputError(
        `change kind ${showValue(String(request.kind))} is unknown; use one of ${CHANGE_KINDS.join(', ')}`,
      );
    }
    for (const [field, folder] of [
      ['folder', request.folder],
      ['toFolder', request.toFolder],
    ] as const) {
      if (folder !== undefined && !isItemFolder(folder)) {
        throw new SimulatorInputError(
          `${field} ${showValue(String(folder))} cannot hold simulated items; use one of ${ITEM_FOLDERS.join(', ')}`,
        );
      }
    }
    const plan = this.#plan(mailbox, request);
    const record = this.#apply(mailbox, plan);
    for (const listener of this.#listeners) listener(mailbox.address);
    return record;
  }

  /** Picks what exactly to change; random choices fall back to a create when nothing fits. */
  #plan(mailbox: MailboxState, request: ChangeRequest): ChangePlan {
    const { toFolder } = request;
    // Checked before a random kind is drawn, so the same request is always refused or never.
    if (toFolder !== undefined && request.kind !== 'move' && request.kind !== 'copy') {
      throw new SimulatorInputError(
        `toFolder ${showValue(toFolder)} is where a move or copy goes; give it with kind "move" or "copy"${request.kind === undefined ? '' : `, not ${showValue(request.kind)}`}`,
      );
    }
    const kind = request.kind ?? this.#randomKind();
    if (kind === 'create') {
      if (request.itemId !== undefined) {
        throw new SimulatorInputError('a create makes a new item; give itemId only for the other kinds');
      }
      return {
        kind,
        folder:
          request.folder ?? this.#random.pick<ItemFolder>(['inbox', 'inbox', 'calendar', CUSTOM_FOLDER]),
      };
    }
    const plan = (item: SimulatedItem): ChangePlan =>
      kind === 'move' || kind === 'copy'
        ? { kind, item, target: toFolder ?? this.#target(kind, item, request.kind === undefined) }
        : { kind, item };
    if (request.itemId !== undefined) {
      const item = this.#itemsById.get(request.itemId);
      const id = showValue(request.itemId);
      if (item === undefined || item.mailbox !== mailbox.address) {
        throw new SimulatorInputError(
          `mailbox ${mailbox.address} has no item ${id} (moved items get a new id; see the ground truth)`,
          { notFound: true },
        );
      }
      if (request.folder !== undefined && item.folder !== request.folder) {
        throw new SimulatorInputError(`item ${id} is in ${item.folder}, not ${request.folder}`);
      }
      if (kind === 'readFlag' && item.element !== 'Message') {
        throw new SimulatorInputError(`item ${id} is a calendar item; only messages are read or unread`);
      }
      if (kind === 'copy' && item.element !== 'Message') {
        throw new SimulatorInputError(`item ${id} is a calendar item; the simulator copies messages only`);
      }
      if (toFolder !== undefined) {
        const allowed = foldersFor(item);
        if (!allowed.includes(toFolder)) {
          throw new SimulatorInputError(
            `item ${id} is ${item.element === 'Message' ? 'a message' : 'a calendar item'}; it cannot be ${kind === 'move' ? 'moved' : 'copied'} to ${toFolder}; use one of ${allowed.filter((f) => f !== item.folder).join(', ')}`,
          );
        }
        if (toFolder === item.folder) {
          throw new SimulatorInputError(`item ${id} is in ${toFolder} already; give toFolder another folder`);
        }
      }
      return plan(item);
    }
    const fits = (item: SimulatedItem): boolean => {
      if ((kind === 'readFlag' || kind === 'copy') && item.element !== 'Message') return false;
      return toFolder === undefined || (item.folder !== toFolder && foldersFor(item).includes(toFolder));
    };
    const folders = request.folder === undefined ? ITEM_FOLDERS : [request.folder];
    const candidates: SimulatedItem[] = [];
    for (const name of folders) {
      for (const item of this.#folder(mailbox, name).items.values()) if (fits(item)) candidates.push(item);
    }
    if (candidates.length === 0) {
      if (request.kind !== undefined) {
        const what = kind === 'readFlag' || kind === 'copy' ? 'message' : 'item';
        if (what === 'message' && request.folder === 'calendar') {
          throw new SimulatorInputError(
            `the calendar holds calendar items, and ${kind === 'copy' ? 'the simulator copies messages only' : 'only messages are read or unread'}; give another folder`,
          );
        }
        const where = request.folder ?? 'any folder';
        const action = kind === 'readFlag' ? 'mark read or unread' : kind;
        const to = toFolder === undefined ? '' : ` to ${toFolder}`;
        throw new SimulatorInputError(
          `mailbox ${mailbox.address} has no ${what} in ${where} to ${action}${to}; create one first (kind "create")`,
        );
      }
      return { kind: 'create', folder: request.folder ?? 'inbox' };
    }
    const item = candidates[this.#random.int(candidates.length)] ?? candidates[0];
    if (item === undefined) throw new Error('unreachable: candidates is not empty');
    return plan(item);
  }

  #randomKind(): ChangeKind {
    let total = 0;
    for (const kind of CHANGE_KINDS) total += RANDOM_KIND_WEIGHTS[kind];
    let draw = this.#random.next() * total;
    for (const kind of CHANGE_KINDS) {
      draw -= RANDOM_KIND_WEIGHTS[kind];
      if (draw < 0) return kind;
    }
    return 'create';
  }

  /**
   * Where a move or copy goes when no toFolder was given. A change of the kind asked for goes
   * where the ChangeRequest documents, so a script knows where to look; a random change files
   * items the way a user does, now and then into the custom folder.
   */
  #target(kind: 'move' | 'copy', item: SimulatedItem, random: boolean): ItemFolder {
    const isMessage = item.element === 'Message';
    if (random) {
      const options: ItemFolder[] = isMessage
        ? kind === 'copy'
          ? ['inbox', CUSTOM_FOLDER]
          : ['inbox', CUSTOM_FOLDER, 'deleteditems', 'junkemail']
        : ['calendar', 'deleteditems'];
      const [first, ...rest] = options.filter((f) => f !== item.folder);
      if (first !== undefined) return this.#random.pick([first, ...rest]);
    }
    if (kind === 'copy') return item.folder === CUSTOM_FOLDER ? 'inbox' : CUSTOM_FOLDER;
    if (item.folder !== 'deleteditems') return 'deleteditems';
    return isMessage ? 'inbox' : 'calendar';
  }

  #apply(mailbox: MailboxState, plan: ChangePlan): ChangeRecord {
    const now = this.#clock.now();
    const events: MailboxEvent[] = [];
    const raise = (event: Omit<MailboxEvent, 'seq' | 'watermark' | 'timeStamp'>) => {
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
        unreadCount: unread(folder),
      });
    };

    let before: SimulatedItem | null = null;
    let after: SimulatedItem | null;
    switch (plan.kind) {
      case 'create': {
        after = this.#newItem(mailbox, plan.folder, now);
        this.#put(mailbox, after, 'create');
        if (after.folder === 'inbox') itemEvent('NewMailEvent', after);
        itemEvent('CreatedEvent', after);
        folderModified(after.folder);
        if (after.element === 'CalendarItem') itemEvent('FreeBusyChangedEvent', after);
        break;
      }
      case 'modify':
      case 'readFlag': {
        before = plan.item;
        after = this.#modified(plan.item, plan.kind, now);
        this.#put(mailbox, after, plan.kind);
        itemEvent('ModifiedEvent', after);
        folderModified(after.folder);
        if (after.element === 'CalendarItem') itemEvent('FreeBusyChangedEvent', after);
        break;
      }
      case 'move': {
        before = plan.item;
        this.#remove(mailbox, before, 'move');
        after = {
          ...before,
          id: this.#ids.mint(ID_KIND.item, 40),
          changeKey: this.#changeKey(),
          folder: plan.target,
        };
        this.#put(mailbox, after, 'move');
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
          id: this.#ids.mint(ID_KIND.item, 40),
          changeKey: this.#changeKey(),
          folder: plan.target,
          lastModified: now,
        };
        this.#put(mailbox, after, 'copy');
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
        this.#remove(mailbox, before, 'delete');
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

  #newItem(mailbox: MailboxState, folder: ItemFolder, now: number): SimulatedItem {
    this.#subjectCounter++;
    const subject = `${this.#random.pick(SUBJECTS)} #${this.#subjectCounter}`;
    const common = {
      id: this.#ids.mint(ID_KIND.item, 40),
      changeKey: this.#changeKey(),
      mailbox: mailbox.address,
      folder,
      subject,
      lastModified: now,
    };
    if (folder === 'calendar') {
      const halfHour = 30 * 60 * 1000;
      const start = Math.ceil(now / halfHour) * halfHour + this.#random.int(14 * 48) * halfHour;
      return {
        ...common,
        element: 'CalendarItem',
        start,
        end: start + (1 + this.#random.int(3)) * halfHour,
        organizer: this.#random.chance(0.5)
          ? { name: mailbox.displayName, emailAddress: mailbox.address }
          : this.#random.pick(SENDERS),
        location: this.#random.pick(LOCATIONS),
      };
    }
    return {
      ...common,
      element: 'Message',
      from: this.#random.pick(SENDERS),
      received: now,
      isRead: folder === 'sentitems' || folder === 'drafts',
    };
  }

  #modified(item: SimulatedItem, kind: 'modify' | 'readFlag', now: number): SimulatedItem {
    const changed = { changeKey: this.#changeKey(), lastModified: now };
    if (item.element === 'Message') {
      if (kind === 'readFlag') return { ...item, ...changed, isRead: !item.isRead };
      return { ...item, ...changed, subject: revised(item.subject) };
    }
    const shift = (this.#random.int(5) - 2 || 1) * 30 * 60 * 1000;
    return {
      ...item,
      ...changed,
      start: item.start + shift,
      end: item.end + shift,
      location: this.#random.pick(LOCATIONS),
    };
  }

  #changeKey(): string {
    return this.#ids.mint(ID_KIND.changeKey, 15);
  }

  #put(mailbox: MailboxState, item: SimulatedItem, kind: ChangeKind): void {
    const folder = this.#folder(mailbox, item.folder);
    folder.items.set(item.id, item);
    this.#itemsById.set(item.id, item);
    this.#log(folder, item.id, item, kind);
  }

  #remove(mailbox: MailboxState, item: SimulatedItem, kind: ChangeKind): void {
    const folder = this.#folder(mailbox, item.folder);
    folder.items.delete(item.id);
    this.#itemsById.delete(item.id);
    this.#log(folder, item.id, null, kind);
  }

  #log(folder: FolderState, itemId: string, item: SimulatedItem | null, kind: ChangeKind): void {
    const entry: FolderLogEntry = { seq: folder.log.length + 1, itemId, item, kind };
    folder.log.push(entry);
    const history = folder.history.get(itemId);
    if (history) history.push(entry);
    else folder.history.set(itemId, [entry]);
  }

  // ---- the events table and watermarks ------------------------------------------------------

  #appendEvent(
    mailbox: MailboxState,
    event: Omit<MailboxEvent, 'seq' | 'watermark' | 'timeStamp'>,
    now: number,
  ): MailboxEvent {
    this.#purge(mailbox, now);
    const seq = mailbox.headSeq + 1;
    mailbox.headSeq = seq;
    // An event's watermark names the position right after it: resuming from it replays what follows.
    const full: MailboxEvent = { ...event, seq, timeStamp: now, watermark: this.#mint(mailbox, seq, now) };
    mailbox.events.push(full);
    return full;
  }

  /** A new watermark for a position (events with a greater seq come after it). */
  mintWatermark(address: string, position: number): string {
    const mailbox = this.#mailbox(address);
    return this.#mint(mailbox, position, this.#clock.now());
  }

  #mint(mailbox: MailboxState, position: number, now: number): string {
    const watermark = this.#ids.mint(ID_KIND.watermark, 6, mailbox.databaseGuid);
    this.#watermarks.set(watermark, {
      mailbox: mailbox.address,
      database: mailbox.database,
      position,
      issuedAt: now,
    });
    this.#watermarkQueue.push(watermark);
    return watermark;
  }

  /** The mailbox's newest event position: a watermark for it means "from now on". */
  headPosition(address: string): number {
    return this.#mailbox(address).headSeq;
  }

  /** When a watermark was issued, for a subscription deciding whether to refresh it. */
  watermarkIssuedAt(watermark: string): number | undefined {
    return this.#watermarks.get(watermark)?.issuedAt;
  }

  /** Where a Subscribe watermark resumes, or why Exchange would answer ErrorInvalidWatermark. */
  resolveWatermark(address: string, watermark: string): Result<number, WatermarkProblem> {
    const mailbox = this.#mailbox(address);
    const now = this.#clock.now();
    this.#purge(mailbox, now);
    const info = this.#watermarks.get(watermark);
    if (info === undefined) return err('unknown');
    if (info.mailbox !== mailbox.address) return err('otherMailbox');
    if (info.database !== mailbox.database) return err('otherDatabase');
    if (now - info.issuedAt > EVENT_RETENTION_MS) return err('expired');
    if (info.position < mailbox.purgedThrough) return err('purged');
    return ok(info.position);
  }

  /**
   * Up to `max` events after `position` that pass the filter, the position the scan reached (so a
   * subscription does not scan filtered-out events again) and whether more matching events wait.
   */
  eventsAfter(
    address: string,
    position: number,
    filter: EventFilter,
    max: number,
  ): { events: MailboxEvent[]; scannedThrough: number; more: boolean } {
    const mailbox = this.#mailbox(address);
    const events: MailboxEvent[] = [];
    const start = Math.max(0, position - mailbox.purgedThrough);
    for (let i = start; i < mailbox.events.length; i++) {
      const event = mailbox.events[i];
      if (event === undefined || !matches(event, filter)) continue;
      if (events.length === max) return { events, scannedThrough: event.seq - 1, more: true };
      events.push(event);
    }
    return { events, scannedThrough: Math.max(position, mailbox.headSeq), more: false };
  }

  /** Forgets events and watermarks older than the 30-day window. */
  #purge(mailbox: MailboxState, now: number): void {
    const horizon = now - EVENT_RETENTION_MS;
    let drop = 0;
    while (drop < mailbox.events.length && (mailbox.events[drop]?.timeStamp ?? now) < horizon) drop++;
    if (drop > 0) {
      mailbox.purgedThrough = mailbox.events[drop - 1]?.seq ?? mailbox.purgedThrough;
      mailbox.events.splice(0, drop);
    }
    while (this.#watermarkQueueStart < this.#watermarkQueue.length) {
      const oldest = this.#watermarkQueue[this.#watermarkQueueStart];
      const info = oldest === undefined ? undefined : this.#watermarks.get(oldest);
      // Keep a little past the window, so an expired watermark is told apart from an unknown one.
      if (info !== undefined && info.issuedAt >= horizon - EVENT_RETENTION_MS) break;
      if (oldest !== undefined) this.#watermarks.delete(oldest);
      this.#watermarkQueueStart++;
    }
    if (this.#watermarkQueueStart > 4096 && this.#watermarkQueueStart * 2 > this.#watermarkQueue.length) {
      this.#watermarkQueue.splice(0, this.#watermarkQueueStart);
      this.#watermarkQueueStart = 0;
    }
  }

  // ---- items and SyncFolderItems ------------------------------------------------------------

  item(itemId: string): SimulatedItem | undefined {
    return this.#itemsById.get(itemId);
  }

  /**
   * The changes of a folder since a SyncState (all its items as creates without one), at most
   * `max` items' worth. Applying the pages in order reproduces the folder exactly: each page
   * reports its items' state as of the page's end, compared with the state the client had.
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
    let since = 0;
    if (syncState !== undefined) {
      const info = this.#syncStates.get(syncState);
      if (info === undefined || info.mailbox !== mailbox.address || info.folderId !== folder.id) {
        return err('invalidSyncState');
      }
      since = info.seq;
    }
    const included = new Set<string>();
    let cutoff = since;
    for (let seq = since + 1; seq <= folder.log.length; seq++) {
      const entry = folder.log[seq - 1];
      if (entry === undefined) break;
      if (!included.has(entry.itemId)) {
        if (included.size === max) break;
        included.add(entry.itemId);
      }
      cutoff = seq;
    }
    const changes: SyncChange[] = [];
    for (const itemId of included) {
      if (ignore.has(itemId)) continue;
      const history = folder.history.get(itemId) ?? [];
      const stateAt = (seq: number) => history.findLast((e) => e.seq <= seq)?.item ?? null;
      const then = stateAt(since);
      const now = stateAt(cutoff);
      if (then === null && now !== null) changes.push({ kind: 'Create', item: now });
      else if (then !== null && now === null) changes.push({ kind: 'Delete', itemId });
      else if (then !== null && now !== null) {
        const onlyReadFlag = history.every((e) => e.seq <= since || e.seq > cutoff || e.kind === 'readFlag');
        if (onlyReadFlag && now.element === 'Message') {
          changes.push({ kind: 'ReadFlagChange', itemId, isRead: now.isRead });
        } else changes.push({ kind: 'Update', item: now });
      }
      // Created and gone again within the page: the client never needs to hear of it.
    }
    const newState = this.#ids.mint(ID_KIND.syncState, 24);
    this.#syncStates.set(newState, { mailbox: mailbox.address, folderId: folder.id, seq: cutoff });
    return ok({ syncState: newState, includesLastItemInRange: cutoff === folder.log.length, changes });
  }

  // ---- internals ----------------------------------------------------------------------------

  #addMailbox(address: string): void {
    const key = address.toLowerCase();
    if (this.#mailboxes.has(key))
      throw new SimulatorInputError(`mailbox ${showValue(address)} is listed twice`);
    const folders = new Map<SimulatedFolder, FolderState>();
    const folderById = new Map<string, FolderState>();
    for (const name of SIMULATED_FOLDERS) {
      const parent =
        name === 'root'
          ? null
          : name === 'msgfolderroot'
            ? folders.get('root')
            : folders.get('msgfolderroot');
      const folder: FolderState = {
        name,
        displayName: DISPLAY_NAMES[name],
        id: this.#ids.mint(ID_KIND.folder, 30),
        parentId: parent?.id ?? null,
        items: new Map(),
        log: [],
        history: new Map(),
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
      database: 1,
      databaseGuid: this.#random.bytes(16),
      movingUntil: 0,
      folders,
      folderById,
      events: [],
      headSeq: 0,
      purgedThrough: 0,
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

/** The folders an item of its kind may be in (and so be moved or copied to). */
function foldersFor(item: SimulatedItem): readonly ItemFolder[] {
  return item.element === 'Message' ? MESSAGE_FOLDERS : CALENDAR_ITEM_FOLDERS;
}

function unread(folder: FolderState): number {
  let count = 0;
  for (const item of folder.items.values()) if (item.element === 'Message' && !item.isRead) count++;
  return count;
}

function revised(subject: string): string {
  const match = /^(.*) \(rev (\d+)\)$/.exec(subject);
  return match ? `${match[1]} (rev ${Number(match[2]) + 1})` : `${subject} (rev 2)`;
}

function matches(event: MailboxEvent, filter: EventFilter): boolean {
  if (!filter.eventTypes.has(event.type)) return false;
  if (filter.folderIds === 'all') return true;
  const folders = filter.folderIds;
  return (
    folders.has(event.parentFolderId) ||
    (event.folderId !== null && folders.has(event.folderId)) ||
    (event.oldParentFolderId !== null && folders.has(event.oldParentFolderId))
  );
}
