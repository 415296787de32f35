/**
 * Reading one item for enrichment (processor/enrich.ts): `GET /users/{id}/messages/{id}` or
 * `/events/{id}` with `$select` of exactly what an enriched event carries, immutable ids (the ids
 * the notifications name), times in UTC, and the item decoded into the same `ExchangeItem` the
 * EWS GetItem gives, so consumers read one shape whichever source filled it. What Graph has no
 * counterpart for is null (the schema's table, docs/events.md, says which fields each source fills).
 *
 * Learn pages: "Get message", "Get event", "message resource type", "event resource type",
 * "Obtain immutable identifiers for Outlook resources" (`Prefer: IdType="ImmutableId"`),
 * "Get event" (`Prefer: outlook.timezone`), "Get message" (`Prefer: outlook.body-content-type`).
 */
import type {
  ExchangeAttendee,
  ExchangeItem,
  ExchangeItemBody,
  ExchangeMailbox,
} from '../../events/bridge-event.ts';
import { err, ok, type Result } from '../core/result.ts';
import { decodeGraphError, GraphProtocolError, type GraphResponseError } from './errors.ts';
import { isJsonObject, type JsonObject, own, parseJsonBody } from './json.ts';
import { type GraphReply, type GraphRequest, IMMUTABLE_ID_PREFERENCE, requireSegment } from './request.ts';

export type GraphItemKind = 'message' | 'event';
export const GRAPH_ITEM_KINDS: readonly GraphItemKind[] = ['message', 'event'];

export function isGraphItemKind(value: unknown): value is GraphItemKind {
  return value === 'message' || value === 'event';
}

/** The properties enrichment returns, as Graph names them (`$select`). */
export const MESSAGE_SELECT = [
  'id',
  'changeKey',
  'subject',
  'importance',
  'categories',
  'hasAttachments',
  'receivedDateTime',
  'sentDateTime',
  'lastModifiedDateTime',
  'conversationId',
  'internetMessageId',
  'isRead',
  'from',
  'toRecipients',
  'ccRecipients',
] as const;

export const EVENT_SELECT = [
  'id',
  'changeKey',
  'subject',
  'importance',
  'sensitivity',
  'categories',
  'hasAttachments',
  'lastModifiedDateTime',
  'iCalUId',
  'start',
  'end',
  'isAllDay',
  'location',
  'isCancelled',
  'type',
  'organizer',
  'attendees',
  'recurrence',
] as const;

export function buildGetItem(input: {
  readonly userId: string;
  readonly kind: GraphItemKind;
  readonly itemId: string;
  /** With the body (`--enrich full`), as plain text. */
  readonly body: boolean;
}): GraphRequest {
  const user = requireSegment('userId', input.userId);
  const id = requireSegment('itemId', input.itemId);
  const select = [
    ...(input.kind === 'message' ? MESSAGE_SELECT : EVENT_SELECT),
    ...(input.body ? ['body'] : []),
  ];
  const prefer = [IMMUTABLE_ID_PREFERENCE, 'outlook.timezone="UTC"'];
  if (input.body) prefer.push('outlook.body-content-type="text"');
  return {
    operation: 'getItem',
    method: 'GET',
    path: `/users/${user}/${input.kind === 'message' ? 'messages' : 'events'}/${id}?$select=${select.join(',')}`,
    headers: { Accept: 'application/json', Prefer: prefer.join(', ') },
    body: null,
    mailbox: input.userId,
  };
}

export type ItemReadError = GraphResponseError | GraphProtocolError;

/** 200 → the item; anything else → Graph's error typed (404 is `NotFound`: the item is gone). */
export function decodeGetItem(
  reply: GraphReply,
  now: number,
  kind: GraphItemKind,
  options: { readonly maxBodyChars: number },
): Result<ExchangeItem, ItemReadError> {
  if (reply.status !== 200)
    return err(decodeGraphError('getItem', reply.status, reply.headers, reply.body, now));
  const parsed = parseJsonBody(reply.body, 8 * 1024 * 1024);
  if (!parsed.ok) return err(new GraphProtocolError('getItem', parsed.error.detail));
  if (!isJsonObject(parsed.value))
    return err(new GraphProtocolError('getItem', 'the answer is not a JSON object'));
  const o = parsed.value;
  const id = text(o, 'id');
  if (id === null) return err(new GraphProtocolError('getItem', 'the item has no id'));
  const body = bodyOf(o, options.maxBodyChars);
  const common = {
    itemId: { id, changeKey: text(o, 'changeKey') },
    // Graph does not expose the MAPI item class.
    itemClass: null,
    subject: text(o, 'subject'),
    sensitivity: capitalized(text(o, 'sensitivity')),
    importance: capitalized(text(o, 'importance')),
    categories: strings(own(o, 'categories')),
    hasAttachments: bool(o, 'hasAttachments'),
    // Graph has no item size.
    size: null,
    lastModifiedTime: text(o, 'lastModifiedDateTime'),
    ...(body === undefined ? {} : { body }),
  };
  if (kind === 'message') {
    return ok({
      kind: 'message',
      itemType: 'Message',
      ...common,
      dateTimeReceived: text(o, 'receivedDateTime'),
      dateTimeSent: text(o, 'sentDateTime'),
      conversationId: text(o, 'conversationId'),
      from: recipient(own(o, 'from')),
      toRecipients: recipients(own(o, 'toRecipients')),
      ccRecipients: recipients(own(o, 'ccRecipients')),
      internetMessageId: text(o, 'internetMessageId'),
      isRead: bool(o, 'isRead'),
    });
  }
  const listed = own(o, 'attendees');
  const attendees: readonly unknown[] = Array.isArray(listed) ? listed : [];
  const byType = (type: string): ExchangeAttendee[] =>
    attendees
      .filter(isJsonObject)
      .filter((a) => own(a, 'type') === type)
      .map((a) => {
        const status = own(a, 'status');
        const response = isJsonObject(status) ? status : {};
        return {
          mailbox: mailboxOf(own(a, 'emailAddress')),
          responseType: RESPONSE_TYPES[String(own(response, 'response'))] ?? null,
          lastResponseTime: text(response, 'time'),
        };
      });
  const location = own(o, 'location');
  const recurrence = own(o, 'recurrence');
  return ok({
    kind: 'calendar',
    itemType: 'CalendarItem',
    ...common,
    dateTimeReceived: null,
    dateTimeSent: null,
    conversationId: null,
    uid: text(o, 'iCalUId'),
    start: utc(own(o, 'start')),
    end: utc(own(o, 'end')),
    isAllDayEvent: bool(o, 'isAllDay'),
    location: isJsonObject(location) ? text(location, 'displayName') : null,
    isCancelled: bool(o, 'isCancelled'),
    calendarItemType: CALENDAR_ITEM_TYPES[String(own(o, 'type'))] ?? null,
    organizer: recipient(own(o, 'organizer')),
    requiredAttendees: byType('required'),
    optionalAttendees: byType('optional'),
    // Graph's patternedRecurrence, rebuilt from its own fields (never the object as it came).
    recurrence: isJsonObject(recurrence) ? plain(recurrence) : null,
  });
}

/** Graph's event `type` → EWS's CalendarItemType. */
const CALENDAR_ITEM_TYPES: Readonly<Record<string, string>> = {
  singleInstance: 'Single',
  occurrence: 'Occurrence',
  exception: 'Exception',
  seriesMaster: 'RecurringMaster',
};

/** Graph's responseStatus.response → EWS's ResponseType. */
const RESPONSE_TYPES: Readonly<Record<string, string>> = {
  none: 'Unknown',
  organizer: 'Organizer',
  tentativelyAccepted: 'Tentative',
  accepted: 'Accept',
  declined: 'Decline',
  notResponded: 'NoResponseReceived',
};

function text(o: JsonObject, key: string): string | null {
  const value = own(o, key);
  return typeof value === 'string' && value !== '' ? value : null;
}

function bool(o: JsonObject, key: string): boolean | null {
  const value = own(o, key);
  return typeof value === 'boolean' ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Graph's lower-case enums (`normal`, `private`) in EWS's casing (`Normal`, `Private`). */
function capitalized(value: string | null): string | null {
  return value === null ? null : `${value.charAt(0).toUpperCase()}${value.slice(1)}`;
}

function mailboxOf(value: unknown): ExchangeMailbox {
  const o = isJsonObject(value) ? value : {};
  return { name: text(o, 'name'), emailAddress: text(o, 'address') };
}

/** `{"emailAddress": {"name", "address"}}` (a recipient) → EWS's Mailbox. */
function recipient(value: unknown): ExchangeMailbox | null {
  if (!isJsonObject(value)) return null;
  return mailboxOf(own(value, 'emailAddress'));
}

function recipients(value: unknown): ExchangeMailbox[] {
  if (!Array.isArray(value)) return [];
  return value.map(recipient).filter((r): r is ExchangeMailbox => r !== null);
}

/** dateTimeTimeZone asked in UTC (`outlook.timezone="UTC"`) → an ISO instant. */
function utc(value: unknown): string | null {
  if (!isJsonObject(value)) return null;
  const dateTime = text(value, 'dateTime');
  if (dateTime === null) return null;
  const zone = text(value, 'timeZone');
  if (zone !== null && zone.toUpperCase() !== 'UTC') return dateTime;
  // Graph writes seven fraction digits and no offset: keep milliseconds, mark it UTC.
  const at = Date.parse(`${dateTime.replace(/(\.\d{3})\d*$/, '$1')}Z`);
  return Number.isNaN(at) ? dateTime : new Date(at).toISOString();
}

function bodyOf(o: JsonObject, maxBodyChars: number): ExchangeItemBody | undefined {
  const body = own(o, 'body');
  if (!isJsonObject(body)) return undefined;
  const content = own(body, 'content');
  const type = own(body, 'contentType');
  if (typeof content !== 'string') return undefined;
  return {
    bodyType: type === 'html' ? 'HTML' : 'Text',
    text: content.slice(0, maxBodyChars),
    truncated: content.length > maxBodyChars,
  };
}

/** A JSON value rebuilt from own properties only (untrusted input never copied as it came). */
function plain(value: unknown, depth = 0): object | null {
  if (depth > 6) return null;
  if (Array.isArray(value))
    return value.map((v) => (isJsonObject(v) || Array.isArray(v) ? plain(v, depth + 1) : v));
  if (!isJsonObject(value)) return null;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key.startsWith('@odata')) continue;
    const v = own(value, key);
    out[key] = isJsonObject(v) || Array.isArray(v) ? plain(v, depth + 1) : v;
  }
  return out;
}
