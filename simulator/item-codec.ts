/**
 * An item as GetItem and SyncFolderItems write it: the properties a response shape asks for, in
 * the element order of types.xsd (ItemType's sequence, then MessageType's or CalendarItemType's).
 *
 * What each BaseShape returns (Microsoft Learn, "Property sets and response shapes in EWS in
 * Exchange", tables 3 and 4, and the GetItem responses of "GetItem operation (calendar item)" and
 * "GetItem operation (email message)"):
 * - IdOnly: the ItemId.
 * - Default, message: ItemId, Subject, Sensitivity, Body, Size, DateTimeSent, DateTimeCreated,
 *   ResponseObjects, HasAttachments, IsAssociated, ToRecipients, IsReadReceiptRequested,
 *   IsDeliveryReceiptRequested, From, IsRead.
 * - Default, calendar item: ItemId, Subject, ResponseObjects, HasAttachments, IsAssociated, Start,
 *   End, LegacyFreeBusyStatus, Location, CalendarItemType, Organizer.
 * - AllProperties: the first-class properties the simulator models (every property below), Body
 *   included (GetItem returns it; FindItem would not).
 * - AdditionalProperties: any of these by FieldURI, on top of the base shape. A FieldURI of another
 *   item kind (calendar:Start on a message) returns nothing, as in Exchange.
 * An empty list (no Categories, no CcRecipients, no attendees) is left out rather than written
 * empty, as Exchange does; so are properties a kind of calendar item does not have (Recurrence on
 * an occurrence, OriginalStart on a master).
 *
 * The property table is built once; encoding an item is one pass over it with a Set lookup per
 * property, so a GetItem of many items costs no more than writing them.
 */
import { escapeAttribute } from '../functions/ews/xml.ts';
import {
  type Attendee,
  type EmailAddress,
  ownerOrganizes,
  type SimulatedCalendarItem,
  type SimulatedItem,
  type SimulatedMessage,
} from './items.ts';
import { dayOfWeek, occurrenceItemId, occurrenceStart, xsDate, xsDuration } from './recurrence.ts';

export type BaseShape = 'IdOnly' | 'Default' | 'AllProperties';
/** `t:BodyType` of an item shape: Best is the item's own format. */
export type BodyTypeResponse = 'Best' | 'HTML' | 'Text';

export interface ItemShape {
  readonly baseShape: BaseShape;
  /** `t:FieldURI/@FieldURI` values asked for on top of the base shape. */
  readonly additionalProperties: ReadonlySet<string>;
  /** @default 'Best' */
  readonly bodyType?: BodyTypeResponse;
}

/** One occurrence of a series (CalendarItemType Occurrence) or an exception of it. */
export interface OccurrenceView {
  readonly index: number;
  readonly id: string;
  readonly changeKey: string;
  readonly start: number;
  readonly end: number;
  readonly originalStart: number;
  readonly subject: string;
  readonly location: string;
  readonly lastModified: number;
  readonly isException: boolean;
}

/** What GetItem answers for one id: a stored item, or an occurrence or exception of a master. */
export interface ItemView {
  readonly item: SimulatedItem;
  readonly parentFolderId: string;
  /** Set when the id named an occurrence or exception of `item` (then a recurring master). */
  readonly occurrence?: OccurrenceView | undefined;
}

/**
 * Escapes text content. A control character XML 1.0 forbids goes out as a character reference,
 * as Exchange writes it (WinRb/Viewpoint's dodgy_ews_response capture): not well-formed, which is
 * exactly what a client must survive.
 */
export function escapeItemText(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: writing the characters XML forbids is the point
  return value.replace(/[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (c) =>
    c === '&'
      ? '&amp;'
      : c === '<'
        ? '&lt;'
        : c === '>'
          ? '&gt;'
          : `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`,
  );
}

/** xs:dateTime as Exchange writes it: UTC, whole seconds. */
export function xsDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Exchange's folder ChangeKeys are short and rarely change; the simulator keeps one. */
const FOLDER_CHANGE_KEY = 'AQAAAA==';
/** The message class Exchange gives occurrences and exceptions of a series. */
const OCCURRENCE_CLASS = 'IPM.OLE.CLASS.{00061055-0000-0000-C000-000000000046}';
const TIME_ZONE = '(UTC) Coordinated Universal Time';

interface Context<T extends SimulatedItem> {
  readonly item: T;
  readonly parentFolderId: string;
  readonly occurrence: OccurrenceView | undefined;
  readonly bodyType: BodyTypeResponse;
}
type MessageContext = Context<SimulatedMessage>;
type CalendarContext = Context<SimulatedCalendarItem>;

interface Property<C> {
  readonly uri: string;
  /** In the Default shape of this item kind. */
  readonly inDefault: boolean;
  /** Writes the element, or '' when the item has nothing to write. */
  readonly write: (context: C) => string;
}

const el = (name: string, text: string): string => `<t:${name}>${text}</t:${name}>`;
const bool = (name: string, value: boolean): string => el(name, String(value));
const time = (name: string, epochMs: number): string => el(name, xsDateTime(epochMs));

function mailbox(address: EmailAddress): string {
  return (
    `<t:Mailbox><t:Name>${escapeItemText(address.name)}</t:Name>` +
    `<t:EmailAddress>${escapeItemText(address.emailAddress)}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox>`
  );
}
function recipients(name: string, list: readonly EmailAddress[]): string {
  return list.length === 0 ? '' : el(name, list.map(mailbox).join(''));
}
function attendees(name: string, list: readonly Attendee[]): string {
  if (list.length === 0) return '';
  return el(
    name,
    list
      .map(
        (a) =>
          `<t:Attendee>${mailbox(a.mailbox)}<t:ResponseType>${a.responseType}</t:ResponseType>` +
          `${a.lastResponseTime === null ? '' : time('LastResponseTime', a.lastResponseTime)}</t:Attendee>`,
      )
      .join(''),
  );
}
const names = (list: readonly EmailAddress[]): string => escapeItemText(list.map((a) => a.name).join('; '));

/** A 32-bit hash of a serial and a salt: the stand-in for the random parts of derived ids. */
function hash(serial: number, salt: number): number {
  let h = Math.imul(serial ^ 0x9e3779b9, 0x85ebca6b) ^ salt;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

/** A calendar item's UID: a Global Object ID in hex, as Exchange writes it. */
export function uidOf(item: SimulatedItem): string {
  const created = Math.floor(item.created / 1000);
  return (
    '040000008200E00074C5B7101A82E00800000000' +
    hex8(created) +
    '0000000000000000' +
    '10000000' +
    hex8(hash(item.serial, 1)) +
    hex8(hash(item.serial, 2)) +
    hex8(hash(item.serial, 3)) +
    hex8(item.serial)
  );
}
/** ConversationId: base64, shaped like Exchange's (AAQk…). */
export function conversationIdOf(item: SimulatedItem): string {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(0x00042400, 0);
  bytes.writeUInt32LE(hash(item.serial, 4), 4);
  bytes.writeUInt32LE(hash(item.serial, 5), 8);
  bytes.writeUInt32LE(hash(item.serial, 6), 12);
  bytes.writeUInt32LE(item.serial, 16);
  return bytes.toString('base64');
}
export function internetMessageIdOf(message: SimulatedMessage): string {
  const domain = message.from.emailAddress.split('@')[1] ?? 'contoso.test';
  return `<${hex8(hash(message.serial, 7)).toLowerCase()}${hex8(message.serial).toLowerCase()}@${domain}>`;
}

function body(context: Context<SimulatedItem>): string {
  const { item } = context;
  const type = context.bodyType === 'Best' ? item.bodyType : context.bodyType;
  const text =
    type === 'Text'
      ? item.bodyText
      : `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div>${escapeItemText(item.bodyText)}</div></body></html>`;
  return `<t:Body BodyType="${type}">${escapeItemText(text)}</t:Body>`;
}

/** ItemType's sequence, as far as the simulator has the properties. */
function itemProperties<C extends Context<SimulatedItem>>(kind: 'Message' | 'CalendarItem'): Property<C>[] {
  const message = kind === 'Message';
  const calendar = !message;
  return [
    {
      uri: 'item:ParentFolderId',
      inDefault: false,
      write: (c) =>
        `<t:ParentFolderId Id="${escapeAttribute(c.parentFolderId)}" ChangeKey="${FOLDER_CHANGE_KEY}"/>`,
    },
    {
      uri: 'item:ItemClass',
      inDefault: false,
      write: (c) =>
        el('ItemClass', message ? 'IPM.Note' : c.occurrence ? OCCURRENCE_CLASS : 'IPM.Appointment'),
    },
    {
      uri: 'item:Subject',
      inDefault: true,
      write: (c) => el('Subject', escapeItemText(c.occurrence?.subject ?? c.item.subject)),
    },
    { uri: 'item:Sensitivity', inDefault: message, write: (c) => el('Sensitivity', c.item.sensitivity) },
    { uri: 'item:Body', inDefault: message, write: body },
    {
      uri: 'item:DateTimeReceived',
      inDefault: false,
      write: (c) => time('DateTimeReceived', c.item.element === 'Message' ? c.item.received : c.item.created),
    },
    { uri: 'item:Size', inDefault: message, write: (c) => el('Size', String(c.item.size)) },
    {
      uri: 'item:Categories',
      inDefault: false,
      write: (c) =>
        c.item.categories.length === 0
          ? ''
          : el('Categories', c.item.categories.map((s) => el('String', escapeItemText(s))).join('')),
    },
    { uri: 'item:Importance', inDefault: false, write: (c) => el('Importance', c.item.importance) },
    { uri: 'item:IsSubmitted', inDefault: false, write: () => bool('IsSubmitted', false) },
    { uri: 'item:IsDraft', inDefault: false, write: (c) => bool('IsDraft', c.item.folder === 'drafts') },
    { uri: 'item:IsFromMe', inDefault: false, write: (c) => bool('IsFromMe', fromMe(c.item)) },
    { uri: 'item:IsResend', inDefault: false, write: () => bool('IsResend', false) },
    { uri: 'item:IsUnmodified', inDefault: false, write: () => bool('IsUnmodified', false) },
    {
      uri: 'item:DateTimeSent',
      inDefault: message,
      write: (c) => time('DateTimeSent', c.item.element === 'Message' ? c.item.sent : c.item.created),
    },
    {
      uri: 'item:DateTimeCreated',
      inDefault: message,
      write: (c) => time('DateTimeCreated', c.item.created),
    },
    { uri: 'item:ResponseObjects', inDefault: true, write: (c) => responseObjects(c.item) },
    {
      uri: 'item:ReminderDueBy',
      inDefault: false,
      write: (c) =>
        c.item.element === 'CalendarItem'
          ? time('ReminderDueBy', (c.occurrence?.start ?? c.item.start) - 15 * 60_000)
          : '',
    },
    { uri: 'item:ReminderIsSet', inDefault: false, write: () => bool('ReminderIsSet', calendar) },
    {
      uri: 'item:ReminderMinutesBeforeStart',
      inDefault: false,
      write: () => el('ReminderMinutesBeforeStart', calendar ? '15' : '0'),
    },
    {
      uri: 'item:DisplayCc',
      inDefault: false,
      write: (c) =>
        el(
          'DisplayCc',
          c.item.element === 'Message'
            ? names(c.item.ccRecipients)
            : names(c.item.optionalAttendees.map((a) => a.mailbox)),
        ),
    },
    {
      uri: 'item:DisplayTo',
      inDefault: false,
      write: (c) =>
        el(
          'DisplayTo',
          c.item.element === 'Message'
            ? names(c.item.toRecipients)
            : names(c.item.requiredAttendees.map((a) => a.mailbox)),
        ),
    },
    {
      uri: 'item:HasAttachments',
      inDefault: true,
      write: (c) => bool('HasAttachments', c.item.hasAttachments),
    },
    { uri: 'item:Culture', inDefault: false, write: () => el('Culture', 'en-US') },
    {
      uri: 'item:LastModifiedTime',
      inDefault: false,
      write: (c) => time('LastModifiedTime', c.occurrence?.lastModified ?? c.item.lastModified),
    },
    { uri: 'item:IsAssociated', inDefault: true, write: () => bool('IsAssociated', false) },
    {
      uri: 'item:ConversationId',
      inDefault: false,
      write: (c) => `<t:ConversationId Id="${conversationIdOf(c.item)}"/>`,
    },
  ];
}

function fromMe(item: SimulatedItem): boolean {
  const sender = item.element === 'Message' ? item.from : item.organizer;
  return sender.emailAddress.toLowerCase() === item.mailbox.toLowerCase();
}

/** What a client may do with the item (Learn: ResponseObjects; the captures' sets). */
function responseObjects(item: SimulatedItem): string {
  let names: readonly string[];
  if (item.element === 'Message') names = ['ReplyToItem', 'ReplyAllToItem', 'ForwardItem'];
  else if (ownerOrganizes(item)) {
    names =
      item.requiredAttendees.length + item.optionalAttendees.length > 0
        ? ['CancelCalendarItem', 'ForwardItem']
        : ['ForwardItem'];
  } else if (item.isCancelled) names = ['RemoveItem'];
  else {
    names = [
      'AcceptItem',
      'TentativelyAcceptItem',
      'DeclineItem',
      'ReplyToItem',
      'ReplyAllToItem',
      'ForwardItem',
    ];
  }
  return el('ResponseObjects', names.map((n) => `<t:${n}/>`).join(''));
}

const MESSAGE_PROPERTIES: readonly Property<MessageContext>[] = [
  ...itemProperties<MessageContext>('Message'),
  { uri: 'message:Sender', inDefault: false, write: (c) => el('Sender', mailbox(c.item.from)) },
  {
    uri: 'message:ToRecipients',
    inDefault: true,
    write: (c) => recipients('ToRecipients', c.item.toRecipients),
  },
  {
    uri: 'message:CcRecipients',
    inDefault: false,
    write: (c) => recipients('CcRecipients', c.item.ccRecipients),
  },
  {
    uri: 'message:IsReadReceiptRequested',
    inDefault: true,
    write: () => bool('IsReadReceiptRequested', false),
  },
  {
    uri: 'message:IsDeliveryReceiptRequested',
    inDefault: true,
    write: () => bool('IsDeliveryReceiptRequested', false),
  },
  {
    uri: 'message:ConversationTopic',
    inDefault: false,
    write: (c) => el('ConversationTopic', escapeItemText(c.item.subject.replace(/ \(rev \d+\)$/, ''))),
  },
  { uri: 'message:From', inDefault: true, write: (c) => el('From', mailbox(c.item.from)) },
  {
    uri: 'message:InternetMessageId',
    inDefault: false,
    write: (c) => el('InternetMessageId', escapeItemText(internetMessageIdOf(c.item))),
  },
  { uri: 'message:IsRead', inDefault: true, write: (c) => bool('IsRead', c.item.isRead) },
];

function isMeeting(item: SimulatedCalendarItem): boolean {
  return item.requiredAttendees.length + item.optionalAttendees.length > 0;
}
function calendarItemType(c: CalendarContext): string {
  if (c.occurrence !== undefined) return c.occurrence.isException ? 'Exception' : 'Occurrence';
  return c.item.recurrence === null ? 'Single' : 'RecurringMaster';
}
function freeBusy(item: SimulatedCalendarItem): string {
  if (item.isCancelled || item.isAllDayEvent || item.myResponseType === 'Decline') return 'Free';
  if (item.myResponseType === 'Tentative' || item.myResponseType === 'NoResponseReceived') return 'Tentative';
  return 'Busy';
}
/** AppointmentState's bits: 1 meeting, 2 received (the owner is an attendee), 4 cancelled. */
function appointmentState(item: SimulatedCalendarItem): number {
  if (!isMeeting(item)) return 0;
  return 1 | (ownerOrganizes(item) ? 0 : 2) | (item.isCancelled ? 4 : 0);
}
const onlyMaster = (c: CalendarContext) => c.occurrence === undefined && c.item.recurrence !== null;

/** One occurrence of a master as OccurrenceInfoType: ItemId, Start, End, OriginalStart. */
export function occurrenceOf(item: SimulatedCalendarItem, index: number): OccurrenceView {
  const recurrence = item.recurrence;
  if (recurrence === null) throw new Error('unreachable: occurrences belong to a series');
  const originalStart = occurrenceStart(recurrence, item.start, index);
  const exception = item.exceptions.find((e) => e.index === index);
  return {
    index,
    id: occurrenceItemId(item.id, index),
    changeKey: exception?.changeKey ?? item.changeKey,
    start: exception?.start ?? originalStart,
    end: exception?.end ?? originalStart + (item.end - item.start),
    originalStart,
    subject: exception?.subject ?? item.subject,
    location: exception?.location ?? item.location,
    lastModified: exception?.lastModified ?? item.lastModified,
    isException: exception !== undefined,
  };
}
function occurrenceInfo(name: string, o: OccurrenceView): string {
  return el(
    name,
    `<t:ItemId Id="${escapeAttribute(o.id)}" ChangeKey="${escapeAttribute(o.changeKey)}"/>` +
      `${time('Start', o.start)}${time('End', o.end)}${time('OriginalStart', o.originalStart)}`,
  );
}
function firstLast(item: SimulatedCalendarItem, which: 'first' | 'last'): OccurrenceView | undefined {
  const recurrence = item.recurrence;
  if (recurrence === null) return undefined;
  const deleted = new Set(item.deletedOccurrences);
  const step = which === 'first' ? 1 : -1;
  for (
    let i = which === 'first' ? 1 : recurrence.occurrences;
    i >= 1 && i <= recurrence.occurrences;
    i += step
  ) {
    if (!deleted.has(i)) return occurrenceOf(item, i);
  }
  return undefined;
}

function recurrenceElement(item: SimulatedCalendarItem): string {
  const r = item.recurrence;
  if (r === null) return '';
  const interval = el('Interval', String(r.interval));
  const pattern =
    r.pattern === 'Daily'
      ? el('DailyRecurrence', interval)
      : r.pattern === 'Weekly'
        ? el('WeeklyRecurrence', `${interval}${el('DaysOfWeek', dayOfWeek(item.start))}`)
        : el(
            'AbsoluteMonthlyRecurrence',
            `${interval}${el('DayOfMonth', String(new Date(item.start).getUTCDate()))}`,
          );
  const startDate = el('StartDate', xsDate(item.start));
  const range =
    r.range === 'Numbered'
      ? el('NumberedRecurrence', `${startDate}${el('NumberOfOccurrences', String(r.occurrences))}`)
      : el(
          'EndDateRecurrence',
          `${startDate}${el('EndDate', xsDate(occurrenceStart(r, item.start, r.occurrences)))}`,
        );
  return el('Recurrence', `${pattern}${range}`);
}

const CALENDAR_PROPERTIES: readonly Property<CalendarContext>[] = [
  ...itemProperties<CalendarContext>('CalendarItem'),
  { uri: 'calendar:UID', inDefault: false, write: (c) => el('UID', uidOf(c.item)) },
  {
    uri: 'calendar:RecurrenceId',
    inDefault: false,
    write: (c) => (c.occurrence ? time('RecurrenceId', c.occurrence.originalStart) : ''),
  },
  { uri: 'calendar:DateTimeStamp', inDefault: false, write: (c) => time('DateTimeStamp', c.item.created) },
  {
    uri: 'calendar:Start',
    inDefault: true,
    write: (c) => time('Start', c.occurrence?.start ?? c.item.start),
  },
  { uri: 'calendar:End', inDefault: true, write: (c) => time('End', c.occurrence?.end ?? c.item.end) },
  {
    uri: 'calendar:OriginalStart',
    inDefault: false,
    write: (c) => (c.occurrence ? time('OriginalStart', c.occurrence.originalStart) : ''),
  },
  {
    uri: 'calendar:IsAllDayEvent',
    inDefault: false,
    write: (c) => bool('IsAllDayEvent', c.item.isAllDayEvent),
  },
  {
    uri: 'calendar:LegacyFreeBusyStatus',
    inDefault: true,
    write: (c) => el('LegacyFreeBusyStatus', freeBusy(c.item)),
  },
  {
    uri: 'calendar:Location',
    inDefault: true,
    write: (c) => el('Location', escapeItemText(c.occurrence?.location ?? c.item.location)),
  },
  { uri: 'calendar:IsMeeting', inDefault: false, write: (c) => bool('IsMeeting', isMeeting(c.item)) },
  { uri: 'calendar:IsCancelled', inDefault: false, write: (c) => bool('IsCancelled', c.item.isCancelled) },
  {
    uri: 'calendar:IsRecurring',
    inDefault: false,
    // Learn, "IsRecurring": false for a single item, true for occurrences and exceptions, and for
    // a master true for attendees but (a documented defect) false for the organizer.
    write: (c) =>
      bool(
        'IsRecurring',
        c.occurrence !== undefined || (c.item.recurrence !== null && !ownerOrganizes(c.item)),
      ),
  },
  {
    uri: 'calendar:MeetingRequestWasSent',
    inDefault: false,
    write: (c) => bool('MeetingRequestWasSent', isMeeting(c.item) && ownerOrganizes(c.item)),
  },
  {
    uri: 'calendar:IsResponseRequested',
    inDefault: false,
    write: (c) => bool('IsResponseRequested', isMeeting(c.item)),
  },
  {
    uri: 'calendar:CalendarItemType',
    inDefault: true,
    write: (c) => el('CalendarItemType', calendarItemType(c)),
  },
  {
    uri: 'calendar:MyResponseType',
    inDefault: false,
    write: (c) => el('MyResponseType', c.item.myResponseType),
  },
  { uri: 'calendar:Organizer', inDefault: true, write: (c) => el('Organizer', mailbox(c.item.organizer)) },
  {
    uri: 'calendar:RequiredAttendees',
    inDefault: false,
    write: (c) => attendees('RequiredAttendees', c.item.requiredAttendees),
  },
  {
    uri: 'calendar:OptionalAttendees',
    inDefault: false,
    write: (c) => attendees('OptionalAttendees', c.item.optionalAttendees),
  },
  {
    uri: 'calendar:Duration',
    inDefault: false,
    write: (c) =>
      el('Duration', xsDuration((c.occurrence?.end ?? c.item.end) - (c.occurrence?.start ?? c.item.start))),
  },
  { uri: 'calendar:TimeZone', inDefault: false, write: () => el('TimeZone', TIME_ZONE) },
  {
    uri: 'calendar:AppointmentSequenceNumber',
    inDefault: false,
    write: (c) => el('AppointmentSequenceNumber', String(c.item.sequence)),
  },
  {
    uri: 'calendar:AppointmentState',
    inDefault: false,
    write: (c) => el('AppointmentState', String(appointmentState(c.item))),
  },
  {
    uri: 'calendar:Recurrence',
    inDefault: false,
    write: (c) => (onlyMaster(c) ? recurrenceElement(c.item) : ''),
  },
  {
    uri: 'calendar:FirstOccurrence',
    inDefault: false,
    write: (c) => {
      const first = onlyMaster(c) ? firstLast(c.item, 'first') : undefined;
      return first ? occurrenceInfo('FirstOccurrence', first) : '';
    },
  },
  {
    uri: 'calendar:LastOccurrence',
    inDefault: false,
    write: (c) => {
      const last = onlyMaster(c) ? firstLast(c.item, 'last') : undefined;
      return last ? occurrenceInfo('LastOccurrence', last) : '';
    },
  },
  {
    uri: 'calendar:ModifiedOccurrences',
    inDefault: false,
    write: (c) =>
      onlyMaster(c) && c.item.exceptions.length > 0
        ? el(
            'ModifiedOccurrences',
            c.item.exceptions
              .map((e) => occurrenceInfo('Occurrence', occurrenceOf(c.item, e.index)))
              .join(''),
          )
        : '',
  },
  {
    uri: 'calendar:DeletedOccurrences',
    inDefault: false,
    write: (c) => {
      const r = c.item.recurrence;
      if (!onlyMaster(c) || r === null || c.item.deletedOccurrences.length === 0) return '';
      return el(
        'DeletedOccurrences',
        c.item.deletedOccurrences
          .map((i) => el('DeletedOccurrence', time('Start', occurrenceStart(r, c.item.start, i))))
          .join(''),
      );
    },
  },
  {
    uri: 'calendar:AllowNewTimeProposal',
    inDefault: false,
    write: (c) => (isMeeting(c.item) ? bool('AllowNewTimeProposal', true) : ''),
  },
  {
    uri: 'calendar:IsOnlineMeeting',
    inDefault: false,
    write: (c) => bool('IsOnlineMeeting', c.item.location === 'Teams'),
  },
];

function select<C>(properties: readonly Property<C>[], shape: ItemShape, context: C): string {
  let out = '';
  const all = shape.baseShape === 'AllProperties';
  const byDefault = shape.baseShape === 'Default';
  const extra = shape.additionalProperties;
  for (const property of properties) {
    if (all || (byDefault && property.inDefault) || (extra.size > 0 && extra.has(property.uri))) {
      out += property.write(context);
    }
  }
  return out;
}

/** An item (or occurrence) element with the properties the shape asks for, in schema order. */
export function encodeItem(view: ItemView, shape: ItemShape): string {
  const { item, occurrence } = view;
  const id = occurrence?.id ?? item.id;
  const changeKey = occurrence?.changeKey ?? item.changeKey;
  const head = `<t:ItemId Id="${escapeAttribute(id)}" ChangeKey="${escapeAttribute(changeKey)}"/>`;
  const bodyType = shape.bodyType ?? 'Best';
  const rest =
    item.element === 'Message'
      ? select(MESSAGE_PROPERTIES, shape, {
          item,
          parentFolderId: view.parentFolderId,
          occurrence: undefined,
          bodyType,
        })
      : select(CALENDAR_PROPERTIES, shape, {
          item,
          parentFolderId: view.parentFolderId,
          occurrence,
          bodyType,
        });
  return `<t:${item.element}>${head}${rest}</t:${item.element}>`;
}

/** The FieldURIs the simulator can return, per item kind (for the docs and the tests). */
export const MESSAGE_FIELD_URIS: readonly string[] = MESSAGE_PROPERTIES.map((p) => p.uri);
export const CALENDAR_FIELD_URIS: readonly string[] = CALENDAR_PROPERTIES.map((p) => p.uri);
/** The Default shape's FieldURIs per item kind (besides the ItemId). */
export const DEFAULT_FIELD_URIS = {
  Message: MESSAGE_PROPERTIES.filter((p) => p.inDefault).map((p) => p.uri),
  CalendarItem: CALENDAR_PROPERTIES.filter((p) => p.inDefault).map((p) => p.uri),
} as const;
