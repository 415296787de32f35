/**
 * The Graph stand-in's mailboxes: users with mail folders and a primary calendar, the messages and
 * events in them, and the ground truth of every change made to them.
 *
 * Ids follow Outlook's two id kinds (Learn, "Obtain immutable identifiers for Outlook resources"):
 * a message's default id changes when it moves to another folder, its immutable id never does.
 * Events do not move, so their default id is stable too. Every item keeps the history of where it
 * was and under which default id, so a delta query can report how a folder was at any earlier
 * point (the state a delta token stands for) and how it is now: delta is state-based.
 *
 * Changes are in Graph's own vocabulary: a message is created, updated, moved or deleted; an event
 * (a single one or a recurring series) is created, updated or deleted. Subscriptions learn of each
 * change through `onChange`.
 */
import type { Clock } from '../functions/core/clock.ts';
import { showValue } from '../functions/core/show.ts';
import type { IdMinter, Random } from '../simulator/random.ts';
import { guid } from './guid.ts';

/** The mail folders every mailbox has; `projects` is a folder a user made (no well-known name). */
export const MAIL_FOLDERS = [
  'inbox',
  'drafts',
  'sentitems',
  'deleteditems',
  'junkemail',
  'archive',
  'projects',
] as const;
export type MailFolderName = (typeof MAIL_FOLDERS)[number];
export function isMailFolderName(value: string): value is MailFolderName {
  return MAIL_FOLDERS.some((known) => known === value);
}

const DISPLAY_NAMES: Readonly<Record<MailFolderName, string>> = {
  inbox: 'Inbox',
  drafts: 'Drafts',
  sentitems: 'Sent Items',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
  archive: 'Archive',
  projects: 'Projects',
};

export const CHANGE_KINDS = ['created', 'updated', 'moved', 'deleted'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export function isChangeKind(value: string): value is ChangeKind {
  return CHANGE_KINDS.some((known) => known === value);
}
export const ITEM_TYPES = ['message', 'event'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];
export function isItemType(value: string): value is ItemType {
  return ITEM_TYPES.some((known) => known === value);
}

/** A bad request to the stand-in (unknown mailbox, item or folder): the message says what to do. */
export class GraphSimulatorInputError extends Error {
  override readonly name = 'GraphSimulatorInputError';
  readonly notFound: boolean;
  constructor(message: string, options: { notFound?: boolean } = {}) {
    super(message);
    this.notFound = options.notFound ?? false;
  }
}

export interface MailFolder {
  readonly name: MailFolderName;
  readonly id: string;
  readonly displayName: string;
  /** Graph's well-known folder name, or null for a folder a user made. */
  readonly wellKnownName: string | null;
  readonly parentFolderId: string;
}

/** Where a message was from a change on: its folder (null once deleted) and its default id then. */
interface Placement {
  readonly seq: number;
  readonly folder: MailFolderName | null;
  readonly id: string;
}

interface Message {
  readonly type: 'message';
  readonly immutableId: string;
  readonly history: Placement[];
  subject: string;
  isRead: boolean;
  readonly receivedAt: number;
  lastModifiedAt: number;
  /** The last change that altered it (content or folder). */
  modifiedSeq: number;
  version: number;
}

interface CalendarEvent {
  readonly type: 'event';
  readonly immutableId: string;
  readonly id: string;
  subject: string;
  readonly start: number;
  readonly end: number;
  /** Daily occurrences of a series (a seriesMaster), or null for a single event. */
  readonly occurrences: number | null;
  readonly createdSeq: number;
  deletedSeq: number | null;
  lastModifiedAt: number;
  modifiedSeq: number;
  version: number;
}

interface Mailbox {
  readonly address: string;
  /** The user's object id (a GUID), as notifications name the user. */
  readonly userId: string;
  readonly rootFolderId: string;
  readonly calendarId: string;
  readonly folders: ReadonlyMap<MailFolderName, MailFolder>;
  readonly messages: Map<string, Message>;
  readonly events: Map<string, CalendarEvent>;
}

/** One entry of the ground truth: a change the stand-in made, with its time and ids. */
export interface GraphChange {
  /** Order across the stand-in (1, 2, …). */
  readonly seq: number;
  /** Simulated epoch ms. */
  readonly at: number;
  readonly mailbox: string;
  readonly userId: string;
  readonly itemType: ItemType;
  readonly kind: ChangeKind;
  readonly immutableId: string;
  /** The default id after the change (for a delete: the id it had). */
  readonly id: string;
  /** For a move: the default id before it, else null. */
  readonly oldId: string | null;
  /** Where the item is afterwards (`calendar` for events; for a delete, where it was). */
  readonly folder: MailFolderName | 'calendar';
  readonly folderId: string;
  /** For a move: where it was. */
  readonly oldFolder: MailFolderName | null;
  readonly oldFolderId: string | null;
  /** For an event: true when it is a recurring series (its seriesMaster). */
  readonly recurring: boolean;
  readonly subject: string;
}

export interface ChangeRequest {
  readonly mailbox: string;
  readonly itemType?: ItemType;
  readonly kind?: ChangeKind;
  /** Where a message is created, or where the message to change is. */
  readonly folder?: MailFolderName;
  /** Where a move goes. */
  readonly toFolder?: MailFolderName;
  /** The item to change (default or immutable id); random when left out. */
  readonly itemId?: string;
  /** For a created event: a daily series instead of a single event. */
  readonly recurring?: boolean;
}

/** An item as Graph represents it in a delta page or a GET (only the properties the stand-in keeps). */
export type ItemRepresentation = Readonly<Record<string, unknown>>;

/** One occurrence or single event in a calendar view, for the view's delta. */
export interface ViewInstance {
  readonly key: string;
  readonly id: string;
  readonly immutableId: string;
  readonly modifiedSeq: number;
  representation(idType: IdType): ItemRepresentation;
}

export type IdType = 'default' | 'immutable';

export interface MailboxStoreOptions {
  readonly clock: Clock;
  readonly ids: IdMinter;
  readonly random: Random;
  readonly addresses: readonly string[];
  /** Seeds each mailbox with items, recorded as creates: two inbox messages, one in projects, an event, a series. */
  readonly seedItems: boolean;
}

const SERIES_OCCURRENCES = 5;
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** Graph's REST ids are URL-safe base64; the minter makes standard base64. */
function urlSafe(id: string): string {
  return id.replace(/\+/g, '-').replace(/\//g, '_');
}

export class GraphMailboxStore {
  readonly #o: MailboxStoreOptions;
  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #changes: GraphChange[] = [];
  readonly #listeners: Array<(change: GraphChange) => void> = [];
  #subjectCounter = 0;

  constructor(options: MailboxStoreOptions) {
    this.#o = options;
    for (const address of options.addresses) this.#addMailbox(address);
    if (options.seedItems) {
      for (const address of options.addresses) {
        this.makeChange({ mailbox: address, itemType: 'message', kind: 'created', folder: 'inbox' });
        this.makeChange({ mailbox: address, itemType: 'message', kind: 'created', folder: 'inbox' });
        this.makeChange({ mailbox: address, itemType: 'message', kind: 'created', folder: 'projects' });
        this.makeChange({ mailbox: address, itemType: 'event', kind: 'created', recurring: false });
        this.makeChange({ mailbox: address, itemType: 'event', kind: 'created', recurring: true });
      }
    }
  }

  #mint(kind: number): string {
    return urlSafe(this.#o.ids.mint(kind, 24));
  }

  #addMailbox(address: string): void {
    const rootFolderId = this.#mint(0x40);
    const folders = new Map<MailFolderName, MailFolder>();
    for (const name of MAIL_FOLDERS) {
      folders.set(name, {
        name,
        id: this.#mint(0x41),
        displayName: DISPLAY_NAMES[name],
        wellKnownName: name === 'projects' ? null : name,
        parentFolderId: rootFolderId,
      });
    }
    this.#mailboxes.set(address.toLowerCase(), {
      address,
      userId: guid(this.#o.random),
      rootFolderId,
      calendarId: this.#mint(0x42),
      folders,
      messages: new Map(),
      events: new Map(),
    });
  }

  onChange(listener: (change: GraphChange) => void): void {
    this.#listeners.push(listener);
  }

  addresses(): string[] {
    return [...this.#mailboxes.values()].map((m) => m.address);
  }

  /** The seq of the newest change (0 before any): where a delta round made now stands. */
  head(): number {
    return this.#changes.length;
  }

  /** Finds a mailbox by address or user id (Graph accepts either in `/users/{id}`), case-insensitively. */
  find(idOrAddress: string): Mailbox | undefined {
    const key = idOrAddress.toLowerCase();
    const byAddress = this.#mailboxes.get(key);
    if (byAddress !== undefined) return byAddress;
    return [...this.#mailboxes.values()].find((m) => m.userId.toLowerCase() === key);
  }

  #mailbox(idOrAddress: string): Mailbox {
    const mailbox = this.find(idOrAddress);
    if (mailbox === undefined) {
      throw new GraphSimulatorInputError(
        `mailbox ${showValue(idOrAddress)} does not exist; the mailboxes are ${this.addresses().join(', ')}`,
        { notFound: true },
      );
    }
    return mailbox;
  }

  /** A mail folder by well-known name or id (Graph accepts either in a path), or undefined. */
  folder(mailbox: Mailbox, nameOrId: string): MailFolder | undefined {
    const lower = nameOrId.toLowerCase();
    for (const folder of mailbox.folders.values()) {
      if (folder.id === nameOrId || (folder.wellKnownName !== null && folder.wellKnownName === lower)) {
        return folder;
      }
    }
    return undefined;
  }

  describeMailboxes(): Array<Record<string, unknown>> {
    return [...this.#mailboxes.values()].map((m) => ({
      address: m.address,
      userId: m.userId,
      calendarId: m.calendarId,
      folders: Object.fromEntries(
        [...m.folders.values()].map((f) => [
          f.name,
          {
            id: f.id,
            displayName: f.displayName,
            wellKnownName: f.wellKnownName,
            totalItemCount: this.#messagesIn(m, f.name).length,
          },
        ]),
      ),
      events: [...m.events.values()].filter((e) => e.deletedSeq === null).length,
    }));
  }

  changes(filter: { mailbox?: string; after?: number } = {}): readonly GraphChange[] {
    const tail = this.#changes.slice(Math.max(0, filter.after ?? 0));
    if (filter.mailbox === undefined) return tail;
    const mailbox = this.find(filter.mailbox);
    return mailbox === undefined ? [] : tail.filter((c) => c.mailbox === mailbox.address);
  }

  // ---- the Graph representations ---------------------------------------------------------------

  listFolders(mailbox: Mailbox): ItemRepresentation[] {
    return [...mailbox.folders.values()].map((f) => ({
      id: f.id,
      displayName: f.displayName,
      parentFolderId: f.parentFolderId,
      childFolderCount: 0,
      unreadItemCount: this.#messagesIn(mailbox, f.name).filter((m) => !m.isRead).length,
      totalItemCount: this.#messagesIn(mailbox, f.name).length,
      isHidden: false,
    }));
  }

  #messagesIn(mailbox: Mailbox, folder: MailFolderName): Message[] {
    return [...mailbox.messages.values()].filter((m) => placementNow(m).folder === folder);
  }

  #messageRepresentation(mailbox: Mailbox, message: Message, idType: IdType): ItemRepresentation {
    const now = placementNow(message);
    const folder = now.folder === null ? null : mailbox.folders.get(now.folder);
    return {
      '@odata.type': '#microsoft.graph.message',
      '@odata.etag': etag(message.immutableId, message.version),
      id: idType === 'immutable' ? message.immutableId : now.id,
      subject: message.subject,
      isRead: message.isRead,
      receivedDateTime: iso(message.receivedAt),
      lastModifiedDateTime: iso(message.lastModifiedAt),
      parentFolderId: folder?.id ?? null,
      changeKey: changeKey(message.immutableId, message.version),
    };
  }

  /**
   * The messages of a folder as they were after change `seq` (null: before anything, an initial
   * sync), keyed by immutable id, with the default id each had then.
   */
  folderStateAt(mailbox: Mailbox, folder: MailFolderName, seq: number | null): Map<string, string> {
    const out = new Map<string, string>();
    if (seq === null) return out;
    for (const message of mailbox.messages.values()) {
      const at = placementAt(message, seq);
      if (at !== undefined && at.folder === folder) out.set(message.immutableId, at.id);
    }
    return out;
  }

  /** When a message last changed (content or folder). */
  messageModifiedSeq(mailbox: Mailbox, immutableId: string): number {
    return mailbox.messages.get(immutableId)?.modifiedSeq ?? 0;
  }

  messageRepresentation(
    mailbox: Mailbox,
    immutableId: string,
    idType: IdType,
  ): ItemRepresentation | undefined {
    const message = mailbox.messages.get(immutableId);
    return message === undefined ? undefined : this.#messageRepresentation(mailbox, message, idType);
  }

  /** A message by default or immutable id, as it is now; undefined once deleted or unknown. */
  getMessage(mailbox: Mailbox, id: string, idType: IdType): ItemRepresentation | undefined {
    for (const message of mailbox.messages.values()) {
      const now = placementNow(message);
      if (now.folder !== null && (message.immutableId === id || now.id === id)) {
        return this.#messageRepresentation(mailbox, message, idType);
      }
    }
    return undefined;
  }

  listMessages(mailbox: Mailbox, folder: MailFolderName | null, idType: IdType): ItemRepresentation[] {
    return [...mailbox.messages.values()]
      .filter((m) => {
        const now = placementNow(m).folder;
        return now !== null && (folder === null || now === folder);
      })
      .map((m) => this.#messageRepresentation(mailbox, m, idType));
  }

  listEvents(mailbox: Mailbox, idType: IdType): ItemRepresentation[] {
    return [...mailbox.events.values()]
      .filter((e) => e.deletedSeq === null)
      .map((e) => eventRepresentation(mailbox, e, idType, null));
  }

  /**
   * The single events and occurrences of series that overlap [start, end) after change `seq`
   * (null: none, an initial sync), keyed by a stable instance key.
   */
  calendarViewAt(
    mailbox: Mailbox,
    start: number,
    end: number,
    seq: number | null,
  ): Map<string, ViewInstance> {
    const out = new Map<string, ViewInstance>();
    if (seq === null) return out;
    for (const event of mailbox.events.values()) {
      if (event.createdSeq > seq || (event.deletedSeq !== null && event.deletedSeq <= seq)) continue;
      const count = event.occurrences ?? 1;
      for (let i = 0; i < count; i++) {
        const offset = event.occurrences === null ? 0 : i * DAY_MS;
        const s = event.start + offset;
        const e = event.end + offset;
        if (s >= end || e <= start) continue;
        const index = event.occurrences === null ? null : i;
        const key = index === null ? event.immutableId : `${event.immutableId}#${index}`;
        out.set(key, {
          key,
          id: index === null ? event.id : occurrenceId(event.id, index),
          immutableId: index === null ? event.immutableId : occurrenceId(event.immutableId, index),
          modifiedSeq: event.modifiedSeq,
          representation: (idType) => eventRepresentation(mailbox, event, idType, index),
        });
      }
    }
    return out;
  }

  // ---- changes ----------------------------------------------------------------------------------

  /** Makes a change (random where the request leaves a choice), records it and tells the listeners. */
  makeChange(request: ChangeRequest): GraphChange {
    const mailbox = this.#mailbox(request.mailbox);
    const random = this.#o.random;
    const itemType = request.itemType ?? (random.chance(0.7) ? 'message' : 'event');
    let kind: ChangeKind =
      request.kind ??
      (() => {
        const r = random.next();
        if (r < 0.4) return 'created';
        if (r < 0.75) return 'updated';
        if (r < 0.9 && itemType === 'message') return 'moved';
        return 'deleted';
      })();
    if (itemType === 'event' && kind === 'moved') {
      throw new GraphSimulatorInputError(
        'events do not move between folders in the stand-in; use created, updated or deleted for events',
      );
    }
    // A random change with nothing to change creates instead, so automatic activity never stalls.
    if (kind !== 'created' && request.kind === undefined) {
      const existing =
        itemType === 'message'
          ? this.listMessages(mailbox, request.folder ?? null, 'default').length
          : this.#liveEvents(mailbox).length;
      if (existing === 0) kind = 'created';
    }
    return itemType === 'message'
      ? this.#changeMessage(mailbox, kind, request)
      : this.#changeEvent(mailbox, kind, request);
  }

  #liveEvents(mailbox: Mailbox): CalendarEvent[] {
    return [...mailbox.events.values()].filter((e) => e.deletedSeq === null);
  }

  #nextSubject(prefix: string): string {
    this.#subjectCounter++;
    return `${prefix} ${this.#subjectCounter}`;
  }

  #pickMessage(mailbox: Mailbox, request: ChangeRequest): Message {
    if (request.itemId !== undefined) {
      const wanted = request.itemId;
      const found = [...mailbox.messages.values()].find(
        (m) => placementNow(m).folder !== null && (m.immutableId === wanted || placementNow(m).id === wanted),
      );
      if (found === undefined) {
        throw new GraphSimulatorInputError(
          `no message ${showValue(wanted)} in ${mailbox.address}; see GET /_graph-sim/mailboxes and /_graph-sim/changes`,
          { notFound: true },
        );
      }
      return found;
    }
    const inFolder =
      request.folder === undefined
        ? [...mailbox.messages.values()].filter((m) => placementNow(m).folder !== null)
        : this.#messagesIn(mailbox, request.folder);
    const [first, ...rest] = inFolder;
    if (first === undefined) {
      throw new GraphSimulatorInputError(
        `no message to change in ${mailbox.address}${request.folder === undefined ? '' : ` folder ${request.folder}`}; create one first`,
        { notFound: true },
      );
    }
    return this.#o.random.pick([first, ...rest]);
  }

  #pickEvent(mailbox: Mailbox, request: ChangeRequest): CalendarEvent {
    const live = this.#liveEvents(mailbox);
    if (request.itemId !== undefined) {
      const found = live.find((e) => e.immutableId === request.itemId || e.id === request.itemId);
      if (found === undefined) {
        throw new GraphSimulatorInputError(
          `no event ${showValue(request.itemId)} in ${mailbox.address}; see GET /_graph-sim/changes`,
          { notFound: true },
        );
      }
      return found;
    }
    const [first, ...rest] = live;
    if (first === undefined) {
      throw new GraphSimulatorInputError(`no event to change in ${mailbox.address}; create one first`, {
        notFound: true,
      });
    }
    return this.#o.random.pick([first, ...rest]);
  }

  #changeMessage(mailbox: Mailbox, kind: ChangeKind, request: ChangeRequest): GraphChange {
    const now = this.#o.clock.now();
    const seq = this.#changes.length + 1;
    if (kind === 'created') {
      const folder =
        request.folder ?? this.#o.random.pick(['inbox', 'inbox', 'inbox', 'projects', 'archive']);
      const message: Message = {
        type: 'message',
        immutableId: this.#mint(0x51),
        history: [{ seq, folder, id: this.#mint(0x50) }],
        subject: this.#nextSubject('Message'),
        isRead: false,
        receivedAt: now,
        lastModifiedAt: now,
        modifiedSeq: seq,
        version: 1,
      };
      mailbox.messages.set(message.immutableId, message);
      return this.#recordMessage(mailbox, message, {
        kind: 'created',
        id: placementNow(message).id,
        folder: folder,
      });
    }
    const message = this.#pickMessage(mailbox, request);
    const before = placementNow(message);
    const from = before.folder ?? 'inbox';
    message.lastModifiedAt = now;
    message.modifiedSeq = seq;
    message.version++;
    switch (kind) {
      case 'updated':
        if (this.#o.random.chance(0.5)) message.isRead = !message.isRead;
        else message.subject = `${message.subject} (edited)`;
        return this.#recordMessage(mailbox, message, { kind: 'updated', id: before.id, folder: from });
      case 'moved': {
        const to =
          request.toFolder ??
          (from === 'deleteditems' ? 'inbox' : from === 'inbox' ? 'projects' : 'deleteditems');
        if (to === from) {
          throw new GraphSimulatorInputError(
            `the message is already in ${from}; give a toFolder other than ${from}`,
          );
        }
        // A move gives the message a new default id; the immutable id stays (Learn, immutable ids).
        const id = this.#mint(0x50);
        message.history.push({ seq, folder: to, id });
        return this.#recordMessage(mailbox, message, {
          kind: 'moved',
          id: id,
          folder: to,
          oldId: before.id,
          oldFolder: from,
        });
      }
      case 'deleted':
        message.history.push({ seq, folder: null, id: before.id });
        return this.#recordMessage(mailbox, message, { kind: 'deleted', id: before.id, folder: from });
      default:
        throw new GraphSimulatorInputError(`unknown change kind ${showValue(kind)}`);
    }
  }

  #changeEvent(mailbox: Mailbox, kind: ChangeKind, request: ChangeRequest): GraphChange {
    const now = this.#o.clock.now();
    const seq = this.#changes.length + 1;
    if (kind === 'created') {
      const recurring = request.recurring ?? this.#o.random.chance(0.25);
      // Within the next three days, on the hour: inside any calendar view a client is likely to ask for.
      const start = Math.floor(now / HOUR_MS) * HOUR_MS + (1 + this.#o.random.int(72)) * HOUR_MS;
      const event: CalendarEvent = {
        type: 'event',
        immutableId: this.#mint(0x61),
        id: this.#mint(0x60),
        subject: this.#nextSubject(recurring ? 'Series' : 'Meeting'),
        start,
        end: start + (this.#o.random.chance(0.5) ? 30 : 60) * 60_000,
        occurrences: recurring ? SERIES_OCCURRENCES : null,
        createdSeq: seq,
        deletedSeq: null,
        lastModifiedAt: now,
        modifiedSeq: seq,
        version: 1,
      };
      mailbox.events.set(event.immutableId, event);
      return this.#recordEvent(mailbox, event, 'created');
    }
    const event = this.#pickEvent(mailbox, request);
    event.lastModifiedAt = now;
    event.modifiedSeq = seq;
    event.version++;
    if (kind === 'deleted') event.deletedSeq = seq;
    else event.subject = `${event.subject} (edited)`;
    return this.#recordEvent(mailbox, event, kind);
  }

  #recordMessage(
    mailbox: Mailbox,
    message: Message,
    at: { kind: ChangeKind; id: string; folder: MailFolderName; oldId?: string; oldFolder?: MailFolderName },
  ): GraphChange {
    const { immutableId, subject } = message;
    return this.#record(mailbox, {
      itemType: 'message',
      immutableId,
      subject,
      recurring: false,
      oldId: null,
      oldFolder: null,
      ...at,
    });
  }

  #recordEvent(mailbox: Mailbox, event: CalendarEvent, kind: ChangeKind): GraphChange {
    const { immutableId, id, subject } = event;
    const recurring = event.occurrences !== null;
    return this.#record(mailbox, {
      itemType: 'event',
      kind,
      immutableId,
      id,
      subject,
      recurring,
      folder: 'calendar',
      oldId: null,
      oldFolder: null,
    });
  }

  #record(
    mailbox: Mailbox,
    c: {
      itemType: ItemType;
      kind: ChangeKind;
      immutableId: string;
      id: string;
      oldId: string | null;
      folder: MailFolderName | 'calendar';
      oldFolder: MailFolderName | null;
      recurring: boolean;
      subject: string;
    },
  ): GraphChange {
    const { itemType, kind, immutableId, id, oldId, folder, oldFolder, recurring, subject } = c;
    const folderId = folder === 'calendar' ? mailbox.calendarId : (mailbox.folders.get(folder)?.id ?? '');
    const change: GraphChange = {
      seq: this.#changes.length + 1,
      at: this.#o.clock.now(),
      mailbox: mailbox.address,
      userId: mailbox.userId,
      itemType,
      kind,
      immutableId,
      id,
      oldId,
      folder,
      folderId,
      oldFolder,
      oldFolderId: oldFolder === null ? null : (mailbox.folders.get(oldFolder)?.id ?? null),
      recurring,
      subject,
    };
    this.#changes.push(change);
    for (const listener of this.#listeners) listener(change);
    return change;
  }
}

export type { Mailbox };

function placementNow(message: Message): Placement {
  const last = message.history.at(-1);
  if (last === undefined) throw new Error(`message ${message.immutableId} has no placement`);
  return last;
}

function placementAt(message: Message, seq: number): Placement | undefined {
  let found: Placement | undefined;
  for (const placement of message.history) {
    if (placement.seq > seq) break;
    found = placement;
  }
  return found;
}

function occurrenceId(seriesId: string, index: number): string {
  return `${seriesId.replace(/=+$/, '')}OCC${String(index).padStart(3, '0')}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function changeKey(immutableId: string, version: number): string {
  return Buffer.from(`${immutableId.slice(-8)}:${version}`).toString('base64');
}

function etag(immutableId: string, version: number): string {
  return `W/"${changeKey(immutableId, version)}"`;
}

/** Graph's dateTimeTimeZone: a local time without offset, and the zone (always UTC here). */
function dateTimeTimeZone(ms: number): { dateTime: string; timeZone: string } {
  return { dateTime: new Date(ms).toISOString().replace('Z', '0000'), timeZone: 'UTC' };
}

function eventRepresentation(
  mailbox: Mailbox,
  event: CalendarEvent,
  idType: IdType,
  occurrence: number | null,
): ItemRepresentation {
  const masterId = idType === 'immutable' ? event.immutableId : event.id;
  const offset = occurrence === null ? 0 : occurrence * DAY_MS;
  const type =
    event.occurrences === null ? 'singleInstance' : occurrence === null ? 'seriesMaster' : 'occurrence';
  return {
    '@odata.type': '#microsoft.graph.event',
    '@odata.etag': etag(event.immutableId, event.version),
    id: occurrence === null ? masterId : occurrenceId(masterId, occurrence),
    subject: event.subject,
    type,
    seriesMasterId: occurrence === null ? null : masterId,
    start: dateTimeTimeZone(event.start + offset),
    end: dateTimeTimeZone(event.end + offset),
    recurrence:
      type === 'seriesMaster'
        ? {
            pattern: { type: 'daily', interval: 1 },
            range: { type: 'numbered', numberOfOccurrences: event.occurrences },
          }
        : null,
    lastModifiedDateTime: iso(event.lastModifiedAt),
    changeKey: changeKey(event.immutableId, event.version),
    calendarId: mailbox.calendarId,
  };
}
