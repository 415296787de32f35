/**
 * The folders every simulated mailbox has: the well-known ones Exchange names, one a user made
 * ("Projects"), what each is called, what it holds and how FindFolder lists it.
 */
import type { DistinguishedFolderName } from '../functions/ews/request.ts';

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

export function isDistinguishedFolder(name: string): name is DistinguishedFolder {
  return DISTINGUISHED_FOLDERS.some((known) => known === name);
}

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
export const DISPLAY_NAMES: Readonly<Record<SimulatedFolder, string>> = {
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

/** Where a folder sits: the two roots, everything else under msgfolderroot. */
export function parentOf(name: SimulatedFolder): SimulatedFolder | null {
  if (name === 'root') return null;
  return name === 'msgfolderroot' ? 'root' : 'msgfolderroot';
}

/** The `t:ArrayOfFoldersType` element a folder is listed as: what kind of items it holds. */
export type FolderKind = 'Folder' | 'CalendarFolder' | 'ContactsFolder' | 'TasksFolder';

/**
 * Each folder's element and FolderClass, as Exchange lists them in FindFolder: the calendar,
 * contacts and tasks folders have their own elements and classes, mail folders are `Folder` with
 * IPF.Note. The two roots are containers without a class of their own.
 */
export const FOLDER_KINDS: Readonly<
  Record<SimulatedFolder, { kind: FolderKind; folderClass: string | null }>
> = {
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
export const MESSAGE_FOLDERS: readonly ItemFolder[] = ITEM_FOLDERS.filter((f) => f !== 'calendar');
/** The folders a calendar item may be in. */
export const CALENDAR_ITEM_FOLDERS: readonly ItemFolder[] = ['calendar', 'deleteditems'];

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

/** A folder as FindFolder and GetFolder show it. */
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
