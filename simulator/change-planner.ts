/**
 * What a change request means once every choice is made: which kind, which item, which folder.
 * A request may leave anything out (an automatic change leaves out everything); the random choices
 * then follow how a user files mail, and a request that cannot be carried out is refused with
 * what to give instead.
 */
import { showValue } from '../functions/core/show.ts';
import {
  CALENDAR_ITEM_FOLDERS,
  CUSTOM_FOLDER,
  ITEM_FOLDERS,
  type ItemFolder,
  MESSAGE_FOLDERS,
} from './folders.ts';
import { SimulatorInputError } from './input-error.ts';
import {
  CALENDAR_ACTIVITIES,
  type CalendarActivity,
  fittingActivities,
  type ItemProperties,
  isCalendarActivity,
  type SimulatedItem,
} from './items.ts';
import type { Random } from './random.ts';

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

/** How often a random change (no kind asked for) is of each kind. */
const RANDOM_KIND_WEIGHTS: Readonly<Record<ChangeKind, number>> = {
  create: 6,
  modify: 4,
  readFlag: 2,
  move: 2,
  copy: 1,
  delete: 2,
};

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
  /**
   * What a calendar change is: `singleMeeting` or `recurringSeries` for a create (in the
   * calendar), or for a modify of a calendar item `reschedule`, `attendeeResponse`, `exception`
   * (one occurrence of a series changed), `occurrenceCancelled`, `cancelled` (the organizer
   * cancelled: an attendee's copy is marked) or `edit`. Implies the kind when that is left out.
   * @default random, among the activities that fit the item
   */
  readonly calendarActivity?: CalendarActivity;
  /** For a create: properties to give the new item instead of generated ones. */
  readonly item?: ItemProperties;
}

const CREATING_ACTIVITIES: readonly CalendarActivity[] = ['singleMeeting', 'recurringSeries'];

/** What exactly a change does, once every random choice is made. */
export type ChangePlan =
  | {
      readonly kind: 'create';
      readonly folder: ItemFolder;
      readonly activity?: CalendarActivity;
      readonly properties?: ItemProperties;
    }
  | { readonly kind: 'modify'; readonly item: SimulatedItem; readonly activity?: CalendarActivity }
  | { readonly kind: 'readFlag' | 'delete'; readonly item: SimulatedItem }
  | { readonly kind: 'move' | 'copy'; readonly item: SimulatedItem; readonly target: ItemFolder };

/** What the planner may look at in the mailbox the change is for. */
export interface MailboxContents {
  readonly address: string;
  /** An item of this mailbox by its current id, or undefined. */
  item(itemId: string): SimulatedItem | undefined;
  itemsIn(folder: ItemFolder): Iterable<SimulatedItem>;
}

/** Refuses a kind or folder the simulator does not know (requests from JSON are not typed). */
export function checkChangeRequest(request: ChangeRequest): void {
  if (request.kind !== undefined && !isChangeKind(request.kind)) {
    throw new SimulatorInputError(
      `change kind ${showValue(String(request.kind))} is unknown; use one of ${CHANGE_KINDS.join(', ')}`,
    );
  }
  const activity = request.calendarActivity;
  if (activity !== undefined && !isCalendarActivity(activity)) {
    throw new SimulatorInputError(
      `calendarActivity ${showValue(String(activity))} is unknown; use one of ${CALENDAR_ACTIVITIES.join(', ')}`,
    );
  }
  if (activity !== undefined) {
    const creates = CREATING_ACTIVITIES.includes(activity);
    const kind = request.kind ?? (creates ? 'create' : 'modify');
    if (kind !== (creates ? 'create' : 'modify')) {
      throw new SimulatorInputError(
        `calendarActivity ${showValue(activity)} is ${creates ? 'a create' : 'a modify'}; give kind ${creates ? '"create"' : '"modify"'} or leave kind out`,
      );
    }
    if (
      request.folder !== undefined &&
      request.folder !== 'calendar' &&
      (creates || request.folder !== 'deleteditems')
    ) {
      throw new SimulatorInputError(
        `calendarActivity ${showValue(activity)} is about calendar items; give folder "calendar"${creates ? '' : ' or "deleteditems"'} or leave it out`,
      );
    }
  }
  if (
    request.item !== undefined &&
    (request.kind ?? (activity && CREATING_ACTIVITIES.includes(activity) ? 'create' : undefined)) !== 'create'
  ) {
    throw new SimulatorInputError('item gives the properties of a new item; send it with kind "create"');
  }
  for (const [field, folder] of [
    ['folder', request.folder],
    ['toFolder', request.toFolder],
  ] as const) {
    if (folder !== undefined && !ITEM_FOLDERS.some((known) => known === folder)) {
      throw new SimulatorInputError(
        `${field} ${showValue(String(folder))} cannot hold simulated items; use one of ${ITEM_FOLDERS.join(', ')}`,
      );
    }
  }
}

/** The folders an item of its kind may be in (and so be moved or copied to). */
function foldersFor(item: SimulatedItem): readonly ItemFolder[] {
  return item.element === 'Message' ? MESSAGE_FOLDERS : CALENDAR_ITEM_FOLDERS;
}

/** Picks what exactly to change; random choices fall back to a create when nothing fits. */
export function planChange(mailbox: MailboxContents, request: ChangeRequest, random: Random): ChangePlan {
  const { toFolder } = request;
  // Checked before a random kind is drawn, so the same request is always refused or never.
  if (toFolder !== undefined && request.kind !== 'move' && request.kind !== 'copy') {
    throw new SimulatorInputError(
      `toFolder ${showValue(toFolder)} is where a move or copy goes; give it with kind "move" or "copy"${request.kind === undefined ? '' : `, not ${showValue(request.kind)}`}`,
    );
  }
  const activity = request.calendarActivity;
  const creates = activity !== undefined && CREATING_ACTIVITIES.includes(activity);
  const kind = request.kind ?? (activity === undefined ? randomKind(random) : creates ? 'create' : 'modify');
  if (kind === 'create') {
    if (request.itemId !== undefined) {
      throw new SimulatorInputError('a create makes a new item; give itemId only for the other kinds');
    }
    const folder =
      request.folder ??
      (creates ? 'calendar' : random.pick<ItemFolder>(['inbox', 'inbox', 'calendar', CUSTOM_FOLDER]));
    if (request.item?.recurrence !== undefined && folder !== 'calendar') {
      throw new SimulatorInputError(
        'item.recurrence makes a recurring series, which lives in the calendar; give folder "calendar"',
      );
    }
    return {
      kind,
      folder,
      ...(activity === undefined ? {} : { activity }),
      ...(request.item === undefined ? {} : { properties: request.item }),
    };
  }
  const fitsActivity = (item: SimulatedItem): boolean =>
    activity === undefined || (item.element === 'CalendarItem' && fittingActivities(item).includes(activity));
  const plan = (item: SimulatedItem): ChangePlan =>
    kind === 'move' || kind === 'copy'
      ? { kind, item, target: toFolder ?? moveTarget(kind, item, request.kind === undefined, random) }
      : kind === 'modify'
        ? { kind, item, ...(activity === undefined ? {} : { activity }) }
        : { kind, item };
  if (request.itemId !== undefined) {
    const item = mailbox.item(request.itemId);
    const id = showValue(request.itemId);
    if (item === undefined) {
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
    if (activity !== undefined && !fitsActivity(item)) {
      throw new SimulatorInputError(
        item.element === 'CalendarItem'
          ? `calendarActivity ${showValue(activity)} does not fit item ${id}; it fits ${fittingActivities(item).join(', ')}`
          : `item ${id} is a message; calendarActivity is for calendar items`,
      );
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
    if (!fitsActivity(item)) return false;
    return toFolder === undefined || (item.folder !== toFolder && foldersFor(item).includes(toFolder));
  };
  const folders = request.folder === undefined ? ITEM_FOLDERS : [request.folder];
  const candidates: SimulatedItem[] = [];
  for (const name of folders) {
    for (const item of mailbox.itemsIn(name)) if (fits(item)) candidates.push(item);
  }
  if (candidates.length === 0) {
    if (activity !== undefined) {
      throw new SimulatorInputError(
        `mailbox ${mailbox.address} has no calendar item${request.folder === undefined ? '' : ` in ${request.folder}`} that calendarActivity ${showValue(activity)} fits; create one first (calendarActivity "${activity === 'exception' || activity === 'occurrenceCancelled' ? 'recurringSeries' : 'singleMeeting'}")`,
      );
    }
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
  const item = candidates[random.int(candidates.length)] ?? candidates[0];
  if (item === undefined) throw new Error('unreachable: candidates is not empty');
  return plan(item);
}

function randomKind(random: Random): ChangeKind {
  let total = 0;
  for (const kind of CHANGE_KINDS) total += RANDOM_KIND_WEIGHTS[kind];
  let draw = random.next() * total;
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
function moveTarget(kind: 'move' | 'copy', item: SimulatedItem, random: boolean, draw: Random): ItemFolder {
  const isMessage = item.element === 'Message';
  if (random) {
    const options: ItemFolder[] = isMessage
      ? kind === 'copy'
        ? ['inbox', CUSTOM_FOLDER]
        : ['inbox', CUSTOM_FOLDER, 'deleteditems', 'junkemail']
      : ['calendar', 'deleteditems'];
    const [first, ...rest] = options.filter((f) => f !== item.folder);
    if (first !== undefined) return draw.pick([first, ...rest]);
  }
  if (kind === 'copy') return item.folder === CUSTOM_FOLDER ? 'inbox' : CUSTOM_FOLDER;
  if (item.folder !== 'deleteditems') return 'deleteditems';
  return isMessage ? 'inbox' : 'calendar';
}
