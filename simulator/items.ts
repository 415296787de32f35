/**
 * The items of the simulated mailboxes, messages and calendar items, and how a user's changes
 * make and alter them. Items are immutable: a change makes a new version, so the versions a
 * SyncState or the ground truth holds stay as they were.
 *
 * An item holds what a client reads with GetItem (item-codec.ts writes it): for messages the
 * sender, recipients, dates, read flag, importance, categories, size and a body; for calendar
 * items the time, place, organizer, attendees and their responses, the series (recurrence,
 * exceptions, deleted occurrences) and whether the meeting was cancelled. Strings that would be
 * the same for every item (bodies) or that follow from a serial number (UID, InternetMessageId,
 * ConversationId) are not stored: item-codec.ts derives them, so an item costs little memory in a
 * 100,000-item mailbox set.
 *
 * Randomness: the choices this file made before it knew details (subject, sender, start, length,
 * organizer, location) still come from the change stream in the same order, so a seed picks the
 * same items and the same sequence of changes as before; every detail comes from a stream of its
 * own (`details`), so adding one never shifts which change comes next.
 */
import type { ItemFolder } from './folders.ts';
import { ID_KIND, type IdMinter, type Random } from './random.ts';
import { MAX_OCCURRENCES, type OccurrenceException, occurrenceStart, type Recurrence } from './recurrence.ts';

export interface EmailAddress {
  readonly name: string;
  readonly emailAddress: string;
}

/** t:ResponseTypeType. */
export const RESPONSE_TYPES = [
  'Unknown',
  'Organizer',
  'Tentative',
  'Accept',
  'Decline',
  'NoResponseReceived',
] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];
export const SENSITIVITIES = ['Normal', 'Personal', 'Private', 'Confidential'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];
export const IMPORTANCES = ['Low', 'Normal', 'High'] as const;
export type Importance = (typeof IMPORTANCES)[number];

export interface Attendee {
  readonly mailbox: EmailAddress;
  readonly responseType: ResponseType;
  /** When the attendee last answered, or null. */
  readonly lastResponseTime: number | null;
}

interface ItemCommon {
  readonly id: string;
  readonly changeKey: string;
  readonly mailbox: string;
  readonly folder: ItemFolder;
  readonly subject: string;
  readonly lastModified: number;
  /** Unique in the simulator; UID, ConversationId and InternetMessageId derive from it. */
  readonly serial: number;
  /** DateTimeCreated. */
  readonly created: number;
  readonly sensitivity: Sensitivity;
  readonly importance: Importance;
  readonly categories: readonly string[];
  /** The body's native format (GetItem converts to what BodyType asks for). */
  readonly bodyType: 'HTML' | 'Text';
  /** The body's text (a short one: the simulator is not about bodies). */
  readonly bodyText: string;
  readonly hasAttachments: boolean;
  /** Size in bytes, as Exchange reports it (headers, body and attachments). */
  readonly size: number;
}
export interface SimulatedMessage extends ItemCommon {
  readonly element: 'Message';
  readonly from: EmailAddress;
  readonly toRecipients: readonly EmailAddress[];
  readonly ccRecipients: readonly EmailAddress[];
  readonly received: number;
  readonly sent: number;
  readonly isRead: boolean;
}
export interface SimulatedCalendarItem extends ItemCommon {
  readonly element: 'CalendarItem';
  /** For a series, the first occurrence's start and end. */
  readonly start: number;
  readonly end: number;
  readonly isAllDayEvent: boolean;
  readonly organizer: EmailAddress;
  readonly location: string;
  /** The mailbox owner's own answer: Organizer when they organize it. */
  readonly myResponseType: ResponseType;
  readonly requiredAttendees: readonly Attendee[];
  readonly optionalAttendees: readonly Attendee[];
  readonly isCancelled: boolean;
  /** AppointmentSequenceNumber: bumped by each update the organizer sends. */
  readonly sequence: number;
  /** A recurring master's pattern, or null for a single item. */
  readonly recurrence: Recurrence | null;
  /** A master's exceptions, by ascending index. */
  readonly exceptions: readonly OccurrenceException[];
  /** A master's deleted (cancelled) occurrences, by ascending index. */
  readonly deletedOccurrences: readonly number[];
}
/** An item as stored. Immutable: a change replaces it, so old versions stay valid in the logs. */
export type SimulatedItem = SimulatedMessage | SimulatedCalendarItem;

/**
 * The changes that fit a calendar item as it is now: any item can be edited; a cancelled one
 * nothing else; only a meeting is answered, only an attendee's copy is cancelled by its organizer
 * (the organizer's own copy is deleted: a delete), only a series has occurrences to change or
 * cancel (while more than one is left).
 */
export function fittingActivities(item: SimulatedCalendarItem): CalendarActivity[] {
  const fits: CalendarActivity[] = ['edit'];
  if (item.isCancelled) return fits;
  const meeting = item.requiredAttendees.length + item.optionalAttendees.length > 0;
  fits.push('reschedule');
  if (meeting) fits.push('attendeeResponse');
  if (meeting && !ownerOrganizes(item)) fits.push('cancelled');
  const series = item.recurrence;
  if (series !== null && item.deletedOccurrences.length < series.occurrences - 1) {
    fits.push('exception', 'occurrenceCancelled');
  }
  return fits;
}

/** Whether the mailbox owner organizes this calendar item. */
export function ownerOrganizes(item: SimulatedCalendarItem): boolean {
  return item.organizer.emailAddress.toLowerCase() === item.mailbox.toLowerCase();
}

/**
 * What a calendar change did, in the ground truth (`calendarActivity`): a new single meeting or
 * appointment, a new recurring series, the organizer moving it, someone answering, one occurrence
 * changed (an exception) or cancelled, the meeting cancelled, or another edit.
 */
export const CALENDAR_ACTIVITIES = [
  'singleMeeting',
  'recurringSeries',
  'reschedule',
  'attendeeResponse',
  'exception',
  'occurrenceCancelled',
  'cancelled',
  'edit',
] as const;
export type CalendarActivity = (typeof CALENDAR_ACTIVITIES)[number];
export function isCalendarActivity(value: string): value is CalendarActivity {
  return CALENDAR_ACTIVITIES.some((known) => known === value);
}

/** Properties a create may set (the control API's `item`); everything else is generated. */
export interface ItemProperties {
  readonly subject?: string;
  readonly body?: string;
  readonly importance?: Importance;
  readonly sensitivity?: Sensitivity;
  readonly categories?: readonly string[];
  readonly hasAttachments?: boolean;
  /** Messages. */
  readonly from?: EmailAddress;
  readonly toRecipients?: readonly EmailAddress[];
  readonly ccRecipients?: readonly EmailAddress[];
  readonly isRead?: boolean;
  /** Calendar items: epoch ms. */
  readonly start?: number;
  readonly end?: number;
  readonly isAllDayEvent?: boolean;
  readonly location?: string;
  readonly organizer?: EmailAddress;
  readonly requiredAttendees?: readonly Attendee[];
  readonly optionalAttendees?: readonly Attendee[];
  /** Makes the calendar item a recurring master. */
  readonly recurrence?: Recurrence;
}

const SENDERS: readonly [EmailAddress, ...EmailAddress[]] = [
  { name: 'Billing', emailAddress: 'billing@vendor.test' },
  { name: 'Grace Hopper', emailAddress: 'grace@fabrikam.test' },
  { name: 'Linus Example', emailAddress: 'linus@example.test' },
  { name: 'Service Desk', emailAddress: 'servicedesk@contoso.test' },
];
/** People meetings are held with. */
const COLLEAGUES: readonly [EmailAddress, ...EmailAddress[]] = [
  { name: 'Alan Turing', emailAddress: 'alan@contoso.test' },
  { name: 'Barbara Liskov', emailAddress: 'barbara@contoso.test' },
  { name: 'Edsger Dijkstra', emailAddress: 'edsger@contoso.test' },
  { name: 'Frances Allen', emailAddress: 'frances@contoso.test' },
  { name: 'Grace Hopper', emailAddress: 'grace@fabrikam.test' },
  { name: 'Ken Thompson', emailAddress: 'ken@fabrikam.test' },
  { name: 'Margaret Hamilton', emailAddress: 'margaret@contoso.test' },
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
const CATEGORIES: readonly [string, ...string[]] = [
  'Red category',
  'Blue category',
  'Project X',
  'Follow up',
];
const BODIES: readonly [string, ...string[]] = [
  'Hi, please find the details below. Let me know if anything is unclear.',
  'Thanks for the quick reply. See you there.',
  'Agenda: status, risks, next steps. Please come prepared.',
  'Forwarding this for your information; no action needed.',
];
/** Control characters Exchange has written into text as character references (Viewpoint's capture). */
const CONTROL_CHARACTERS: readonly [string, ...string[]] = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000B',
  '\u001A',
  '\u001F',
];

const HALF_HOUR = 30 * 60 * 1000;
const DAY = 24 * 60 * 60 * 1000;

/** Makes new items and new versions of items, with ids and content from seeded streams. */
export class ItemFactory {
  readonly #random: Random;
  readonly #details: Random;
  readonly #ids: IdMinter;
  readonly #controlCharacterRate: () => number;
  #subjectCounter = 0;
  #serial = 0;

  /**
   * @param random the change stream (the choices items had before they had details)
   * @param details the stream every other detail comes from
   * @param controlCharacterRate probability that a new item's subject holds a control character
   */
  constructor(random: Random, details: Random, ids: IdMinter, controlCharacterRate: () => number = () => 0) {
    this.#random = random;
    this.#details = details;
    this.#ids = ids;
    this.#controlCharacterRate = controlCharacterRate;
  }

  /**
   * A new item in `folder`: a calendar item in the calendar, a message anywhere else. `activity`
   * asks for a single meeting or a series (random when left out); `given` overrides generated
   * properties.
   */
  create(
    owner: EmailAddress,
    folder: ItemFolder,
    now: number,
    activity?: CalendarActivity,
    given: ItemProperties = {},
  ): SimulatedItem {
    this.#subjectCounter++;
    this.#serial++;
    const d = this.#details;
    let subject = `${this.#random.pick(SUBJECTS)} #${this.#subjectCounter}`;
    if (d.chance(this.#controlCharacterRate())) {
      // Exchange passes such characters through, as character references XML 1.0 forbids.
      subject = `${subject} ${d.pick(CONTROL_CHARACTERS)}`;
    }
    const hasAttachments = given.hasAttachments ?? d.chance(0.2);
    const bodyText = given.body ?? d.pick(BODIES);
    const common = {
      id: this.itemId(),
      changeKey: this.changeKey(),
      mailbox: owner.emailAddress,
      folder,
      subject: given.subject ?? subject,
      lastModified: now,
      serial: this.#serial,
      created: now,
      sensitivity: given.sensitivity ?? (d.chance(0.05) ? 'Private' : 'Normal'),
      importance: given.importance ?? (d.chance(0.1) ? 'High' : d.chance(0.05) ? 'Low' : 'Normal'),
      categories: given.categories ?? (d.chance(0.15) ? [d.pick(CATEGORIES)] : []),
      bodyType: d.chance(0.8) ? ('HTML' as const) : ('Text' as const),
      bodyText,
      hasAttachments,
      size: 0,
    };
    if (folder === 'calendar') {
      // The change stream's draws, in the order they always were.
      let start = Math.ceil(now / HALF_HOUR) * HALF_HOUR + this.#random.int(14 * 48) * HALF_HOUR;
      let end = start + (1 + this.#random.int(3)) * HALF_HOUR;
      const drawnOwnerOrganizes = this.#random.chance(0.5);
      let organizer = drawnOwnerOrganizes ? owner : this.#random.pick(SENDERS);
      const drawnLocation = this.#random.pick(LOCATIONS);
      const location = given.location ?? drawnLocation;
      const recurring =
        given.recurrence !== undefined ||
        (activity === undefined ? d.chance(0.3) : activity === 'recurringSeries');
      const isAllDayEvent = given.isAllDayEvent ?? (!recurring && d.chance(0.1));
      if (isAllDayEvent) {
        start = Math.floor(start / DAY) * DAY;
        end = start + DAY;
      }
      if (given.start !== undefined) {
        const length = (given.end ?? given.start + (end - start)) - given.start;
        start = given.start;
        end = start + length;
      } else if (given.end !== undefined) end = given.end;
      organizer = given.organizer ?? organizer;
      const organizes = organizer.emailAddress.toLowerCase() === owner.emailAddress.toLowerCase();
      let required: readonly Attendee[] =
        given.requiredAttendees ?? this.#attendees(owner, organizer, 1 + d.int(3));
      let optional: readonly Attendee[] =
        given.optionalAttendees ?? (d.chance(0.3) ? this.#attendees(owner, organizer, 1, required) : []);
      // A few calendar items are appointments: no attendees, not a meeting.
      if (given.requiredAttendees === undefined && organizes && d.chance(0.15)) {
        required = [];
        optional = [];
      }
      if (!organizes && ![...required, ...optional].some((a) => same(a.mailbox, owner))) {
        required = [
          ...required,
          { mailbox: owner, responseType: 'NoResponseReceived', lastResponseTime: null },
        ];
      }
      const myResponseType: ResponseType = organizes
        ? 'Organizer'
        : (required.find((a) => same(a.mailbox, owner))?.responseType ??
          optional.find((a) => same(a.mailbox, owner))?.responseType ??
          'NoResponseReceived');
      const recurrence: Recurrence | null = given.recurrence ?? (recurring ? this.#recurrence(start) : null);
      const item: SimulatedCalendarItem = {
        ...common,
        element: 'CalendarItem',
        start,
        end,
        isAllDayEvent,
        organizer,
        location,
        myResponseType,
        requiredAttendees: required,
        optionalAttendees: optional,
        isCancelled: false,
        sequence: 0,
        recurrence,
        exceptions: [],
        deletedOccurrences: [],
      };
      return withSize(item);
    }
    const sent = folder === 'sentitems' || folder === 'drafts';
    const drawnSender = this.#random.pick(SENDERS);
    const from = given.from ?? (sent ? owner : drawnSender);
    const to = given.toRecipients ?? (sent ? [d.pick(COLLEAGUES)] : [owner]);
    const cc = given.ccRecipients ?? (d.chance(0.3) ? [d.pick(COLLEAGUES)] : []);
    const message: SimulatedMessage = {
      ...common,
      element: 'Message',
      from,
      toRecipients: to,
      ccRecipients: cc.filter((c) => !to.some((t) => same(t, c))),
      received: now,
      sent: now - (5 + d.int(600)) * 1000,
      isRead: given.isRead ?? sent,
    };
    return withSize(message);
  }

  /**
   * The item after a change: a user edited it (`modify`) or marked it read or unread
   * (`readFlag`). For a calendar item a modify is one of the calendar activities (random when
   * `activity` is left out, among those that fit the item); `activity` says which it was.
   */
  modified(
    item: SimulatedItem,
    kind: 'modify' | 'readFlag',
    now: number,
    asked?: CalendarActivity,
  ): { item: SimulatedItem; activity: CalendarActivity | null; occurrenceIndex: number | null } {
    const changed = { changeKey: this.changeKey(), lastModified: now };
    if (item.element === 'Message') {
      if (kind === 'readFlag')
        return { item: { ...item, ...changed, isRead: !item.isRead }, activity: null, occurrenceIndex: null };
      return {
        item: withSize({ ...item, ...changed, subject: revised(item.subject) }),
        activity: null,
        occurrenceIndex: null,
      };
    }
    // The change stream's draws, in the order they always were, whatever the activity uses.
    const shift = (this.#random.int(5) - 2 || 1) * HALF_HOUR;
    const location = this.#random.pick(LOCATIONS);
    const activity = asked ?? this.#calendarActivity(item);
    const d = this.#details;
    const next = { ...item, ...changed };
    switch (activity) {
      case 'reschedule':
        return {
          item: {
            ...next,
            start: item.start + shift,
            end: item.end + shift,
            location,
            // The organizer sends an update: answers start over.
            sequence: item.sequence + 1,
            requiredAttendees: item.requiredAttendees.map(resetResponse),
            optionalAttendees: item.optionalAttendees.map(resetResponse),
            myResponseType: item.myResponseType === 'Organizer' ? 'Organizer' : 'NoResponseReceived',
            exceptions: [],
          },
          activity,
          occurrenceIndex: null,
        };
      case 'attendeeResponse': {
        const answer = d.pick<ResponseType>(['Accept', 'Accept', 'Tentative', 'Decline']);
        if (!ownerOrganizes(item)) {
          // The owner answers the invitation.
          const mine = (a: Attendee): Attendee =>
            same(a.mailbox, { name: '', emailAddress: item.mailbox })
              ? { ...a, responseType: answer, lastResponseTime: now }
              : a;
          return {
            item: {
              ...next,
              myResponseType: answer,
              requiredAttendees: item.requiredAttendees.map(mine),
              optionalAttendees: item.optionalAttendees.map(mine),
            },
            activity,
            occurrenceIndex: null,
          };
        }
        const all = [...item.requiredAttendees, ...item.optionalAttendees];
        const who = all[d.int(all.length)];
        const answered = (a: Attendee): Attendee =>
          a === who ? { ...a, responseType: answer, lastResponseTime: now } : a;
        return {
          item: {
            ...next,
            requiredAttendees: item.requiredAttendees.map(answered),
            optionalAttendees: item.optionalAttendees.map(answered),
          },
          activity,
          occurrenceIndex: null,
        };
      }
      case 'exception':
      case 'occurrenceCancelled': {
        const recurrence = item.recurrence;
        if (recurrence === null) throw new Error('unreachable: only a series has occurrences');
        const taken = new Set([...item.deletedOccurrences]);
        const free: number[] = [];
        for (let i = 1; i <= recurrence.occurrences; i++) if (!taken.has(i)) free.push(i);
        const index = free[d.int(free.length)] ?? 1;
        if (activity === 'occurrenceCancelled') {
          return {
            item: {
              ...next,
              deletedOccurrences: [...item.deletedOccurrences, index].sort((a, b) => a - b),
              exceptions: item.exceptions.filter((e) => e.index !== index),
            },
            activity,
            occurrenceIndex: index,
          };
        }
        const original = occurrenceStart(recurrence, item.start, index);
        const earlier = item.exceptions.find((e) => e.index === index);
        const from = earlier?.start ?? original;
        const length = (earlier?.end ?? original + (item.end - item.start)) - from;
        const exception: OccurrenceException = {
          index,
          start: from + shift,
          end: from + shift + length,
          subject: earlier?.subject ?? item.subject,
          location,
          changeKey: changed.changeKey,
          lastModified: now,
        };
        return {
          item: {
            ...next,
            exceptions: [...item.exceptions.filter((e) => e.index !== index), exception].sort(
              (a, b) => a.index - b.index,
            ),
          },
          activity,
          occurrenceIndex: index,
        };
      }
      case 'cancelled':
        // The organizer cancelled; the attendee's copy stays, marked, until someone removes it.
        return {
          item: {
            ...next,
            isCancelled: true,
            subject: item.subject.startsWith('Canceled: ') ? item.subject : `Canceled: ${item.subject}`,
            sequence: item.sequence + 1,
          },
          activity,
          occurrenceIndex: null,
        };
      default:
        return {
          item: withSize({
            ...next,
            location,
            categories: item.categories.length > 0 ? [] : [d.pick(CATEGORIES)],
          }),
          activity: 'edit',
          occurrenceIndex: null,
        };
    }
  }

  /** Weighted like a real calendar: answers and moved meetings most, series edits and cancellations less. */
  #calendarActivity(item: SimulatedCalendarItem): CalendarActivity {
    const weights: Record<CalendarActivity, number> = {
      singleMeeting: 0,
      recurringSeries: 0,
      reschedule: 3,
      attendeeResponse: 4,
      exception: 3,
      occurrenceCancelled: 2,
      cancelled: 1,
      edit: 1,
    };
    const fits = fittingActivities(item);
    let total = 0;
    for (const a of fits) total += weights[a];
    let draw = this.#details.next() * total;
    for (const a of fits) {
      draw -= weights[a];
      if (draw < 0) return a;
    }
    return 'edit';
  }

  #attendees(
    owner: EmailAddress,
    organizer: EmailAddress,
    count: number,
    taken: readonly Attendee[] = [],
  ): Attendee[] {
    const out: Attendee[] = [];
    for (let i = 0; i < count; i++) {
      const who = this.#details.pick(COLLEAGUES);
      if (same(who, owner) || same(who, organizer) || [...taken, ...out].some((a) => same(a.mailbox, who))) {
        continue;
      }
      out.push({ mailbox: who, responseType: 'NoResponseReceived', lastResponseTime: null });
    }
    return out;
  }

  #recurrence(start: number): Recurrence {
    const d = this.#details;
    const day = new Date(start).getUTCDate();
    const pattern = d.pick<Recurrence['pattern']>([
      'Weekly',
      'Weekly',
      'Daily',
      day <= 28 ? 'AbsoluteMonthly' : 'Weekly',
    ]);
    return {
      pattern,
      interval: pattern === 'Weekly' ? 1 + d.int(2) : 1,
      occurrences: Math.min(MAX_OCCURRENCES, 4 + d.int(pattern === 'Daily' ? 10 : 12)),
      range: d.chance(0.5) ? 'Numbered' : 'EndDate',
    };
  }

  itemId(): string {
    return this.#ids.mint(ID_KIND.item, 40);
  }

  changeKey(): string {
    return this.#ids.mint(ID_KIND.changeKey, 15);
  }
}

function same(a: EmailAddress, b: EmailAddress): boolean {
  return a.emailAddress.toLowerCase() === b.emailAddress.toLowerCase();
}

function resetResponse(a: Attendee): Attendee {
  return a.responseType === 'Organizer'
    ? a
    : { ...a, responseType: 'NoResponseReceived', lastResponseTime: null };
}

/** Exchange's Size counts headers and properties, the body and attachments; this is a fair stand-in. */
function withSize<T extends SimulatedItem>(item: T): T {
  const people =
    item.element === 'Message'
      ? item.toRecipients.length + item.ccRecipients.length + 1
      : item.requiredAttendees.length + item.optionalAttendees.length + 1;
  const size =
    1200 +
    2 * item.subject.length +
    item.bodyText.length * (item.bodyType === 'HTML' ? 3 : 1) +
    people * 120 +
    (item.hasAttachments ? 24_000 + (item.serial % 97) * 512 : 0) +
    (item.element === 'CalendarItem' ? 800 + item.exceptions.length * 600 : 0);
  return { ...item, size };
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
