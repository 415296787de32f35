/**
 * GetItem for enrichment: what changed, in Exchange's own terms. The request asks for exactly the
 * properties events carry (`IdOnly` plus AdditionalProperties, so Exchange does not compute a
 * Default shape we would throw away), the body only when asked; the decoder turns each item into
 * `data.item` of a notification event (events/bridge-event.ts, `ExchangeItem`).
 *
 * Text goes through the project's XML module: a character reference XML 1.0 forbids (`&#x0;` in a
 * subject, which real Exchange sends) reads as U+FFFD instead of refusing the whole response.
 */
import type {
  ExchangeAttendee,
  ExchangeItem,
  ExchangeItemBody,
  ExchangeMailbox,
} from '../../events/bridge-event.ts';
import { err, ok, type Result } from '../core/result.ts';
import { isFieldUri } from '../domain/enrichment.ts';
import {
  type EwsError,
  type EwsProtocolError,
  type EwsResponseError,
  InvalidEwsRequestError,
} from './errors.ts';
import { decodeGetItemAnswers } from './items.ts';
import { type RequestContext, requireText, writeHeader } from './request.ts';
import { writeEnvelope } from './soap.ts';
import { escapeAttribute, NS, type XmlElement } from './xml.ts';

/** Properties every enriched item is read with (`--enrich default`). */
export const DETAIL_FIELDS = [
  'item:ItemClass',
  'item:Subject',
  'item:Sensitivity',
  'item:DateTimeReceived',
  'item:Size',
  'item:Categories',
  'item:Importance',
  'item:DateTimeSent',
  'item:HasAttachments',
  'item:LastModifiedTime',
  'item:ConversationId',
  'message:ToRecipients',
  'message:CcRecipients',
  'message:From',
  'message:InternetMessageId',
  'message:IsRead',
  'calendar:UID',
  'calendar:Start',
  'calendar:End',
  'calendar:IsAllDayEvent',
  'calendar:Location',
  'calendar:IsCancelled',
  'calendar:CalendarItemType',
  'calendar:Organizer',
  'calendar:RequiredAttendees',
  'calendar:OptionalAttendees',
  'calendar:Recurrence',
] as const;

export interface DetailRequest {
  readonly itemIds: readonly string[];
  /** Ask for the body too (`--enrich full`), as text. */
  readonly body: boolean;
  /** More FieldURIs a mailbox asked for; they come back under `extra`, by element name. */
  readonly extraFields?: readonly string[];
}

/** Most ids one enrichment GetItem names (see EWS_DETAIL_BATCH in processor/enrich.ts). */
export const MAX_DETAIL_IDS = 100;

export function encodeGetItemDetails(request: DetailRequest, context: RequestContext = {}): string {
  const { itemIds } = request;
  if (itemIds.length === 0 || itemIds.length > MAX_DETAIL_IDS)
    throw new InvalidEwsRequestError('ItemIds', `${itemIds.length} ids`, `must be 1..${MAX_DETAIL_IDS}`);
  const extra = request.extraFields ?? [];
  for (const field of extra)
    if (!isFieldUri(field))
      throw new InvalidEwsRequestError('FieldURI', field, 'is not a FieldURI (item:Name)');
  const fields = [...new Set([...DETAIL_FIELDS, ...(request.body ? ['item:Body'] : []), ...extra])];
  const shape =
    '<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>' +
    (request.body ? '<t:BodyType>Text</t:BodyType>' : '') +
    `<t:AdditionalProperties>${fields.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}</t:AdditionalProperties>` +
    '</m:ItemShape>';
  const ids = itemIds.map((id) => `<t:ItemId Id="${escapeAttribute(requireText('ItemId', id))}"/>`).join('');
  return writeEnvelope(`<m:GetItem>${shape}<m:ItemIds>${ids}</m:ItemIds></m:GetItem>`, {
    header: writeHeader(context),
  });
}

export interface DecodeOptions {
  /** Longest body text kept, in UTF-16 code units; longer ones are cut and marked truncated. */
  readonly maxBodyChars: number;
  readonly extraFields?: readonly string[];
}

/** One answer per requested id, in request order. */
export type GetItemDetailsResult = ReadonlyArray<Result<ExchangeItem, EwsResponseError | EwsProtocolError>>;

export function decodeGetItemDetailsResponse(
  body: string | Uint8Array,
  options: DecodeOptions,
): Result<GetItemDetailsResult, EwsError> {
  return decodeGetItemAnswers(
    body,
    () => true,
    (element) => decodeItemDetails(element, options),
  );
}

const MESSAGE_ELEMENTS = new Set([
  'Message',
  'MeetingMessage',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
]);

/** One `t:Item`, `t:Message`, `t:CalendarItem`, … as `data.item`. */
export function decodeItemDetails(element: XmlElement, options: DecodeOptions): Result<ExchangeItem, string> {
  const child = (name: string) => element.children.find((c) => c.ns === NS.types && c.name === name);
  const text = (name: string): string | null => {
    const found = child(name);
    return found === undefined ? null : found.text;
  };
  const bool = (name: string): boolean | null => {
    const value = text(name);
    return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : null;
  };
  const int = (name: string): number | null => {
    const value = text(name);
    return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : null;
  };
  const idElement = child('ItemId');
  const id = idElement?.attributes.get('Id');
  if (!id) return err(`t:${element.name} has no t:ItemId with an Id`);
  const categories = child('Categories');
  const common = {
    itemType: element.name,
    itemId: { id, changeKey: idElement?.attributes.get('ChangeKey') || null },
    itemClass: text('ItemClass'),
    subject: text('Subject'),
    sensitivity: text('Sensitivity'),
    importance: text('Importance'),
    categories:
      categories === undefined
        ? []
        : categories.children.filter((c) => c.name === 'String').map((c) => c.text),
    hasAttachments: bool('HasAttachments'),
    size: int('Size'),
    dateTimeReceived: text('DateTimeReceived'),
    dateTimeSent: text('DateTimeSent'),
    lastModifiedTime: text('LastModifiedTime'),
    conversationId: child('ConversationId')?.attributes.get('Id') ?? null,
    ...bodyOf(child('Body'), options.maxBodyChars),
    ...extraOf(element, options.extraFields ?? []),
  };
  if (element.name === 'CalendarItem') {
    return ok({
      ...common,
      kind: 'calendar',
      uid: text('UID'),
      start: text('Start'),
      end: text('End'),
      isAllDayEvent: bool('IsAllDayEvent'),
      location: text('Location'),
      isCancelled: bool('IsCancelled'),
      calendarItemType: text('CalendarItemType'),
      organizer: mailboxIn(child('Organizer')),
      requiredAttendees: attendeesIn(child('RequiredAttendees')),
      optionalAttendees: attendeesIn(child('OptionalAttendees')),
      recurrence: recurrenceOf(child('Recurrence')),
    });
  }
  if (MESSAGE_ELEMENTS.has(element.name)) {
    return ok({
      ...common,
      kind: 'message',
      from: mailboxIn(child('From')),
      toRecipients: mailboxesIn(child('ToRecipients')),
      ccRecipients: mailboxesIn(child('CcRecipients')),
      internetMessageId: text('InternetMessageId'),
      isRead: bool('IsRead'),
    });
  }
  return ok({ ...common, kind: 'other' });
}

function bodyOf(body: XmlElement | undefined, maxChars: number): { body?: ExchangeItemBody } {
  if (body === undefined) return {};
  const truncated = body.text.length > maxChars;
  return {
    body: {
      bodyType: body.attributes.get('BodyType') ?? 'Text',
      text: truncated ? body.text.slice(0, maxChars) : body.text,
      truncated,
    },
  };
}

function extraOf(element: XmlElement, fields: readonly string[]): { extra?: Record<string, unknown> } {
  if (fields.length === 0) return {};
  const extra: Record<string, unknown> = {};
  for (const field of fields) {
    const name = field.slice(field.indexOf(':') + 1);
    const found = element.children.find((c) => c.ns === NS.types && c.name === name);
    extra[name] = found === undefined ? null : toJson(found);
  }
  return { extra };
}

/** `t:Mailbox` in a single-recipient element (From, Organizer). */
function mailboxIn(element: XmlElement | undefined): ExchangeMailbox | null {
  const mailbox = element?.children.find((c) => c.ns === NS.types && c.name === 'Mailbox');
  return mailbox === undefined ? null : mailboxOf(mailbox);
}

function mailboxOf(mailbox: XmlElement): ExchangeMailbox {
  const field = (name: string) =>
    mailbox.children.find((c) => c.ns === NS.types && c.name === name)?.text ?? null;
  return { name: field('Name'), emailAddress: field('EmailAddress') };
}

function mailboxesIn(element: XmlElement | undefined): ExchangeMailbox[] {
  return (element?.children ?? []).filter((c) => c.ns === NS.types && c.name === 'Mailbox').map(mailboxOf);
}

function attendeesIn(element: XmlElement | undefined): ExchangeAttendee[] {
  return (element?.children ?? [])
    .filter((c) => c.ns === NS.types && c.name === 'Attendee')
    .map((attendee) => {
      const field = (name: string) => attendee.children.find((c) => c.ns === NS.types && c.name === name);
      const mailbox = field('Mailbox');
      return {
        mailbox: mailbox === undefined ? { name: null, emailAddress: null } : mailboxOf(mailbox),
        responseType: field('ResponseType')?.text ?? null,
        lastResponseTime: field('LastResponseTime')?.text ?? null,
      };
    });
}

/**
 * An element as JSON, keeping Exchange's element names (lower camel case): a leaf is its text, a
 * parent an object of its children (a repeated child becomes an array); attributes are kept
 * under their own names. Used for the recurrence of a master and for extra properties.
 */
export function toJson(element: XmlElement): unknown {
  if (element.children.length === 0 && element.attributes.size === 0) return element.text;
  return toJsonObject(element);
}

/** A parent element as an object (toJson's second case, whatever the element holds). */
export function toJsonObject(element: XmlElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of element.attributes) if (!name.startsWith('{')) out[name] = value;
  for (const c of element.children) {
    const key = c.name.charAt(0).toLowerCase() + c.name.slice(1);
    const value = toJson(c);
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  if (element.children.length === 0 && element.text !== '') out.value = element.text;
  return out;
}

/** A master's recurrence pattern and range, as JSON in Exchange's names; null for other items. */
function recurrenceOf(element: XmlElement | undefined): Record<string, unknown> | null {
  return element === undefined ? null : toJsonObject(element);
}
