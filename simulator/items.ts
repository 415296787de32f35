/**
 * The items of the simulated mailboxes, messages and calendar items, and how a user's changes
 * make and alter them. Items are immutable: a change makes a new version, so the versions a
 * SyncState or the ground truth holds stay as they were.
 */
import type { ItemFolder } from './folders.ts';
import { ID_KIND, type IdMinter, type Random } from './random.ts';

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

/** Makes new items and new versions of items, with ids and content from seeded streams. */
export class ItemFactory {
  readonly #random: Random;
  readonly #ids: IdMinter;
  #subjectCounter = 0;

  constructor(random: Random, ids: IdMinter) {
    this.#random = random;
    this.#ids = ids;
  }

  /** A new item in `folder`: a calendar item in the calendar, a message anywhere else. */
  create(owner: EmailAddress, folder: ItemFolder, now: number): SimulatedItem {
    this.#subjectCounter++;
    const subject = `${this.#random.pick(SUBJECTS)} #${this.#subjectCounter}`;
    const common = {
      id: this.itemId(),
      changeKey: this.changeKey(),
      mailbox: owner.emailAddress,
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
        organizer: this.#random.chance(0.5) ? owner : this.#random.pick(SENDERS),
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

  /** The item after a user edited it (`modify`) or marked it read or unread (`readFlag`). */
  modified(item: SimulatedItem, kind: 'modify' | 'readFlag', now: number): SimulatedItem {
    const changed = { changeKey: this.changeKey(), lastModified: now };
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

  itemId(): string {
    return this.#ids.mint(ID_KIND.item, 40);
  }

  changeKey(): string {
    return this.#ids.mint(ID_KIND.changeKey, 15);
  }
}

function revised(subject: string): string {
  const match = /^(.*) \(rev (\d+)\)$/.exec(subject);
  return match ? `${match[1]} (rev ${Number(match[2]) + 1})` : `${subject} (rev 2)`;
}

/** The number of unread messages among some items. */
export function unreadCount(items: Iterable<SimulatedItem>): number {
  let count = 0;
  for (const item of items) if (item.element === 'Message' && !item.isRead) count++;
  return count;
}
