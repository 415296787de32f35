/**
 * Decoding `SendNotification`, the request Exchange POSTs to a push subscription's callback URL,
 * and encoding the `SendNotificationResult` that answers it.
 *
 * Liberal in what it accepts (any prefix, either SOAP version, error pushes that leave out
 * `Notification` as real Exchange does), strict where a mistake would lose data (well-formedness,
 * ids without `Id`, unknown elements where events belong), and never throwing: every input yields
 * a decoded notification or a NotificationDecodeError.
 */
import { err, ok, type Result } from '../core/result.ts';
import { formatCount, showValue } from '../core/show.ts';
import { openEnvelope, readResponseMessageHead, type SoapVersion, soapContentType } from './soap.ts';
import { NS, qualifiedName, type XmlElement } from './xml.ts';

/** The event elements a notification can carry (types.xsd "Notification types"). */
export const NOTIFICATION_EVENT_TYPES = [
  'CopiedEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'NewMailEvent',
  'StatusEvent',
  'FreeBusyChangedEvent',
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];
const EVENT_TYPES: ReadonlySet<string> = new Set(NOTIFICATION_EVENT_TYPES);
function isEventType(name: string): name is NotificationEventType {
  return EVENT_TYPES.has(name);
}

/** An item or folder id as Exchange sends it. ChangeKey is optional and never relied on. */
export interface EwsId {
  readonly id: string;
  readonly changeKey: string | null;
}

/**
 * One event, with every part the schema allows; parts Exchange did not send are null. Values are
 * strings as sent (ids and watermarks are opaque and case-sensitive; timeStamp is not reparsed).
 */
export interface NotificationEvent {
  readonly type: NotificationEventType;
  readonly watermark: string | null;
  readonly timeStamp: string | null;
  readonly itemId: EwsId | null;
  readonly folderId: EwsId | null;
  readonly parentFolderId: EwsId | null;
  readonly oldItemId: EwsId | null;
  readonly oldFolderId: EwsId | null;
  readonly oldParentFolderId: EwsId | null;
  readonly unreadCount: number | null;
}

export type ResponseClass = 'Success' | 'Warning' | 'Error';

/** One `SendNotificationResponseMessage`: one subscription's notification (or error push). */
export interface Notification {
  readonly responseClass: ResponseClass;
  readonly responseCode: string | null;
  /**
   * From `Notification/SubscriptionId`, or, in an error push without `Notification`, from
   * `MessageXml/Value[@Name='SubscriptionId']`; null when neither is there.
   */
  readonly subscriptionId: string | null;
  readonly previousWatermark: string | null;
  readonly moreEvents: boolean | null;
  readonly events: readonly NotificationEvent[];
  /** Exchange's localized text, kept for logs only: it is never interpreted. */
  readonly messageText: string | null;
}

export interface SendNotification {
  readonly soapVersion: SoapVersion;
  /** `RequestServerVersion/@Version` when present; informational only (nothing depends on it). */
  readonly requestServerVersion: string | null;
  readonly notifications: readonly Notification[];
}

export type DecodeRefusal =
  | 'TooLarge'
  | 'Doctype'
  | 'Malformed'
  | 'TooDeep'
  | 'TooManyEvents'
  | 'NotSoapEnvelope'
  | 'NotSendNotification'
  | 'InvalidNotification'
  /** A bug in the decoder itself, not a problem with the input: the receiver answers 500 so Exchange retries. */
  | 'DecoderFailure';

/** Why a request body is not a SendNotification the bridge can take. The message is one line. */
export class NotificationDecodeError extends Error {
  override readonly name = 'NotificationDecodeError';
  readonly reason: DecodeRefusal;

  constructor(reason: DecodeRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface NotificationLimits {
  /** Largest body accepted, in bytes. @default 1 MiB */
  readonly maxBytes: number;
  /** Deepest element nesting accepted (a SendNotification needs 9). @default 32 */
  readonly maxDepth: number;
  /** Most events accepted in one request, over all its notifications. @default 1000 */
  readonly maxEvents: number;
}

export const DEFAULT_NOTIFICATION_LIMITS: NotificationLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxEvents: 1000,
};

const ADVICE: Record<DecodeRefusal, string> = {
  TooLarge: 'raise the body limit only if Exchange really sends notifications this large',
  Doctype: 'the request is refused as hostile',
  Malformed: 'Exchange resends a push that is not acknowledged, so a damaged delivery is retried',
  TooDeep: 'a SendNotification nests 9 levels deep, so this is not one',
  TooManyEvents: 'raise the event limit only if Exchange really sends notifications this large',
  NotSoapEnvelope: 'this endpoint only receives EWS push notifications (SOAP SendNotification)',
  NotSendNotification: 'this endpoint only receives EWS push notifications (SOAP SendNotification)',
  InvalidNotification: 'the request is not a SendNotification the bridge can interpret',
  DecoderFailure: 'this is a bug in the bridge, please report it with the request body',
};

function refuse(reason: DecodeRefusal, what: string): { ok: false; error: NotificationDecodeError } {
  return err(new NotificationDecodeError(reason, `${reason}: ${what}; ${ADVICE[reason]}`));
}

/** Decodes a SendNotification request body. Never throws. */
export function decodeSendNotification(
  body: string | Uint8Array,
  limits: NotificationLimits = DEFAULT_NOTIFICATION_LIMITS,
): Result<SendNotification, NotificationDecodeError> {
  try {
    return decode(body, limits);
  } catch (e) {
    // Defence in depth: a decoder bug must still surface as the decoder's own typed error.
    return refuse(
      'DecoderFailure',
      `the decoder failed unexpectedly (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

function decode(
  body: string | Uint8Array,
  limits: NotificationLimits,
): Result<SendNotification, NotificationDecodeError> {
  const opened = openEnvelope(body, limits);
  if (!opened.ok) return refuse(opened.error.reason, opened.error.message);
  const { soapVersion, header, payload } = opened.value;
  if (payload.ns !== NS.messages || payload.name !== 'SendNotification') {
    return refuse(
      'NotSendNotification',
      `SOAP Body holds ${showValue(qualifiedName(payload))}, expected {${NS.messages}}SendNotification`,
    );
  }
  const responseMessages = payload.children.find(
    (c) => c.ns === NS.messages && c.name === 'ResponseMessages',
  );
  if (responseMessages === undefined)
    return refuse('InvalidNotification', 'SendNotification has no m:ResponseMessages');

  const notifications: Notification[] = [];
  let eventCount = 0;
  for (const message of responseMessages.children) {
    if (message.ns !== NS.messages || message.name !== 'SendNotificationResponseMessage') continue;
    const decoded = decodeResponseMessage(message);
    if (!decoded.ok) return refuse('InvalidNotification', decoded.error);
    eventCount += decoded.value.events.length;
    if (eventCount > limits.maxEvents) {
      return refuse('TooManyEvents', `the request carries more than ${formatCount(limits.maxEvents)} events`);
    }
    notifications.push(decoded.value);
  }
  if (notifications.length === 0) {
    return refuse('InvalidNotification', 'm:ResponseMessages holds no m:SendNotificationResponseMessage');
  }
  return ok({ soapVersion, requestServerVersion: readRequestServerVersion(header), notifications });
}

function readRequestServerVersion(header: XmlElement | undefined): string | null {
  // Seen in the types namespace and, in one capture, the messages namespace: match the local name.
  const element = header?.children.find((c) => c.name === 'RequestServerVersion');
  return element?.attributes.get('Version') ?? null;
}

function decodeResponseMessage(message: XmlElement): Result<Notification, string> {
  const head = readResponseMessageHead(message);
  if (!head.ok) return head;
  const { responseClass, responseCode, messageText, messageXml } = head.value;
  const notificationElements = message.children.filter(
    (c) => c.ns === NS.messages && c.name === 'Notification',
  );
  if (notificationElements.length > 1)
    return err('a SendNotificationResponseMessage holds more than one m:Notification');
  const [notification] = notificationElements;
  if (notification === undefined) {
    // The observed error push (ErrorReadEventsFailed): no Notification, the id is in MessageXml.
    return ok({
      responseClass,
      responseCode,
      subscriptionId: messageXml.get('SubscriptionId') || null,
      previousWatermark: null,
      moreEvents: null,
      events: [],
      messageText,
    });
  }
  return decodeNotification(notification, { responseClass, responseCode, messageText, messageXml });
}

function decodeNotification(
  notification: XmlElement,
  head: {
    responseClass: ResponseClass;
    responseCode: string | null;
    messageText: string | null;
    messageXml: ReadonlyMap<string, string>;
  },
): Result<Notification, string> {
  let subscriptionId: string | undefined;
  let previousWatermark: string | undefined;
  let moreEvents: boolean | undefined;
  const events: NotificationEvent[] = [];
  for (const child of notification.children) {
    // Elements of other namespaces are extensions we do not know; they carry no events.
    if (child.ns !== NS.types) continue;
    switch (child.name) {
      case 'SubscriptionId':
        if (subscriptionId !== undefined) return err('m:Notification holds more than one t:SubscriptionId');
        if (child.text === '') return err('t:SubscriptionId is empty');
        subscriptionId = child.text;
        break;
      case 'PreviousWatermark':
        if (previousWatermark !== undefined)
          return err('m:Notification holds more than one t:PreviousWatermark');
        previousWatermark = child.text;
        break;
      case 'MoreEvents': {
        if (moreEvents !== undefined) return err('m:Notification holds more than one t:MoreEvents');
        const value = parseBoolean(child.text);
        if (value === undefined)
          return err(`t:MoreEvents is ${showValue(child.text)}, expected true or false`);
        moreEvents = value;
        break;
      }
      default: {
        if (!isEventType(child.name)) {
          // An element of the types namespace where only events belong: refusing (so Exchange
          // retries) is safer than dropping what may be an event.
          return err(`m:Notification holds an unexpected element t:${child.name}`);
        }
        const event = decodeEvent(child.name, child);
        if (!event.ok) return event;
        events.push(event.value);
      }
    }
  }
  if (subscriptionId === undefined) {
    const fromMessageXml = head.messageXml.get('SubscriptionId');
    if (!fromMessageXml) return err('m:Notification has no t:SubscriptionId');
    subscriptionId = fromMessageXml;
  }
  return ok({
    responseClass: head.responseClass,
    responseCode: head.responseCode,
    subscriptionId,
    previousWatermark: emptyToNull(previousWatermark),
    moreEvents: moreEvents ?? null,
    events,
    messageText: head.messageText,
  });
}

type IdField = 'itemId' | 'folderId' | 'parentFolderId' | 'oldItemId' | 'oldFolderId' | 'oldParentFolderId';
const ID_FIELDS: Readonly<Record<string, IdField>> = {
  ItemId: 'itemId',
  FolderId: 'folderId',
  ParentFolderId: 'parentFolderId',
  OldItemId: 'oldItemId',
  OldFolderId: 'oldFolderId',
  OldParentFolderId: 'oldParentFolderId',
};

function decodeEvent(type: NotificationEventType, element: XmlElement): Result<NotificationEvent, string> {
  let watermark: string | null = null;
  let timeStamp: string | null = null;
  let unreadCount: number | null = null;
  const ids: Record<IdField, EwsId | null> = {
    itemId: null,
    folderId: null,
    parentFolderId: null,
    oldItemId: null,
    oldFolderId: null,
    oldParentFolderId: null,
  };
  for (const child of element.children) {
    if (child.ns !== NS.types) continue;
    const idField = Object.hasOwn(ID_FIELDS, child.name) ? ID_FIELDS[child.name] : undefined;
    if (idField !== undefined) {
      const id = child.attributes.get('Id');
      if (id === undefined || id === '') return err(`t:${child.name} in t:${type} has no Id attribute`);
      if (ids[idField] !== null) return err(`t:${type} holds more than one t:${child.name}`);
      ids[idField] = { id, changeKey: child.attributes.get('ChangeKey') || null };
    } else if (child.name === 'Watermark') {
      watermark = child.text || null;
    } else if (child.name === 'TimeStamp') {
      timeStamp = child.text || null;
    } else if (child.name === 'UnreadCount') {
      if (!/^[+-]?\d{1,10}$/.test(child.text))
        return err(`t:UnreadCount is ${showValue(child.text)}, expected an integer`);
      unreadCount = Number(child.text);
    }
    // Other children are not in the schema for events; they carry nothing the bridge uses.
  }
  return ok({ type, watermark, timeStamp, ...ids, unreadCount });
}

/** xs:boolean: true, false, 1, 0. */
function parseBoolean(text: string): boolean | undefined {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return undefined;
}

function emptyToNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

/** The watermark after a notification: the last event's, when any event carries one. */
export function lastWatermark(notification: Notification): string | null {
  for (let i = notification.events.length - 1; i >= 0; i--) {
    const watermark = notification.events[i]?.watermark;
    if (watermark) return watermark;
  }
  return null;
}

// ---- the answer ---------------------------------------------------------------------------------

/** What the callback tells Exchange: keep sending (`OK`) or end this subscription (`Unsubscribe`). */
export type SubscriptionStatus = 'OK' | 'Unsubscribe';

function resultEnvelope(status: SubscriptionStatus, soapVersion: SoapVersion): string {
  const ns = soapVersion === '1.1' ? NS.soap11 : NS.soap12;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${ns}"><soap:Body>` +
    `<m:SendNotificationResult xmlns:m="${NS.messages}"><m:SubscriptionStatus>${status}</m:SubscriptionStatus></m:SendNotificationResult>` +
    '</soap:Body></soap:Envelope>'
  );
}

// The four possible answers never change; build them once (they are on every heartbeat's path).
const RESULTS: Record<SoapVersion, Record<SubscriptionStatus, string>> = {
  '1.1': { OK: resultEnvelope('OK', '1.1'), Unsubscribe: resultEnvelope('Unsubscribe', '1.1') },
  '1.2': { OK: resultEnvelope('OK', '1.2'), Unsubscribe: resultEnvelope('Unsubscribe', '1.2') },
};

/** The SendNotificationResult answering a push, and the Content-Type it travels with. */
export function encodeSendNotificationResult(
  status: SubscriptionStatus,
  soapVersion: SoapVersion = '1.1',
): { body: string; contentType: string } {
  return { body: RESULTS[soapVersion][status], contentType: soapContentType(soapVersion) };
}
