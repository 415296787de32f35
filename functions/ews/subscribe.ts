/**
 * `Subscribe` with a `PushSubscriptionRequest`: the request that makes Exchange start POSTing
 * notifications to a callback URL, and its response (a SubscriptionId and the starting Watermark).
 */
import { err, ok, type Result } from '../core/result.ts';
import { type EwsError, EwsProtocolError, InvalidEwsRequestError } from './errors.ts';
import {
  type FolderRef,
  type RequestContext,
  requireIntegerInRange,
  requireText,
  writeFolderRef,
  writeHeader,
} from './request.ts';
import { singleSuccessfulMessage, writeEnvelope } from './soap.ts';
import { escapeText, NS } from './xml.ts';

/** `t:NotificationEventTypeType`: the events a subscription can ask for (StatusEvent always comes). */
export const SUBSCRIBABLE_EVENT_TYPES = [
  'CopiedEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'NewMailEvent',
  'FreeBusyChangedEvent',
] as const;
export type SubscribableEventType = (typeof SUBSCRIBABLE_EVENT_TYPES)[number];

/** URL must be shorter than this (Exchange's ErrorInvalidPushSubscriptionUrl rule). */
export const MAX_PUSH_URL_LENGTH = 2083;

export interface PushSubscriptionRequest {
  /**
   * Which folders: `'all'` for every folder of the mailbox (`SubscribeToAllFolders="true"`, one
   * subscription against the mailbox's limit), or a non-empty list.
   */
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  /** Resume from this watermark (events after it are replayed); omit for a fresh subscription. */
  readonly watermark?: string;
  /** Minutes between StatusEvent heartbeats when nothing happens, 1–1440. */
  readonly statusFrequency: number;
  /** The callback URL: http or https, shorter than 2083 characters. */
  readonly url: string;
  /** Opaque data Exchange keeps with the subscription (Exchange 2013 and later). */
  readonly callerData?: string;
}

/** The SOAP envelope for a push `Subscribe`. Throws InvalidEwsRequestError for input Exchange would refuse. */
export function encodeSubscribe(request: PushSubscriptionRequest, context: RequestContext = {}): string {
  let folders: string;
  let allFolders = '';
  if (request.folders === 'all') {
    allFolders = ' SubscribeToAllFolders="true"';
    folders = '';
  } else {
    if (request.folders.length === 0) {
      throw new InvalidEwsRequestError('FolderIds', '[]', "is empty; name at least one folder or use 'all'");
    }
    folders = `<t:FolderIds>${request.folders.map(writeFolderRef).join('')}</t:FolderIds>`;
  }
  if (request.eventTypes.length === 0) {
    throw new InvalidEwsRequestError(
      'EventTypes',
      '[]',
      `is empty; choose from ${SUBSCRIBABLE_EVENT_TYPES.join(', ')}`,
    );
  }
  const seen = new Set<string>();
  for (const type of request.eventTypes) {
    if (!(SUBSCRIBABLE_EVENT_TYPES as readonly string[]).includes(type)) {
      throw new InvalidEwsRequestError(
        'EventType',
        type,
        `cannot be subscribed to; choose from ${SUBSCRIBABLE_EVENT_TYPES.join(', ')} (StatusEvent heartbeats always come)`,
      );
    }
    if (seen.has(type)) throw new InvalidEwsRequestError('EventType', type, 'is listed twice');
    seen.add(type);
  }
  const eventTypes = request.eventTypes.map((t) => `<t:EventType>${t}</t:EventType>`).join('');
  const watermark =
    request.watermark === undefined
      ? ''
      : `<t:Watermark>${escapeText(requireText('Watermark', request.watermark))}</t:Watermark>`;
  const statusFrequency = requireIntegerInRange('StatusFrequency', request.statusFrequency, 1, 1440);
  const url = validatePushUrl(request.url);
  const callerData =
    request.callerData === undefined
      ? ''
      : `<t:CallerData>${escapeText(requireText('CallerData', request.callerData))}</t:CallerData>`;
  // Element order is the schema's: base (FolderIds, EventTypes, Watermark), then push
  // (StatusFrequency, URL, CallerData). Exchange rejects any other order.
  const body =
    `<m:Subscribe><m:PushSubscriptionRequest${allFolders}>${folders}<t:EventTypes>${eventTypes}</t:EventTypes>` +
    `${watermark}<t:StatusFrequency>${statusFrequency}</t:StatusFrequency><t:URL>${escapeText(url)}</t:URL>${callerData}` +
    '</m:PushSubscriptionRequest></m:Subscribe>';
  return writeEnvelope(body, { header: writeHeader(context) });
}

/** Checks a callback URL the way Exchange will (ErrorInvalidPushSubscriptionUrl), before sending it. */
export function validatePushUrl(url: string): string {
  if (url.length === 0 || url.length >= MAX_PUSH_URL_LENGTH) {
    throw new InvalidEwsRequestError(
      'URL',
      url,
      `is ${url.length} characters; Exchange accepts 1 to ${MAX_PUSH_URL_LENGTH - 1}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidEwsRequestError('URL', url, 'is not an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidEwsRequestError(
      'URL',
      url,
      `has scheme ${parsed.protocol.replace(':', '')}; Exchange pushes only to http or https`,
    );
  }
  requireText('URL', url);
  return url;
}

export interface SubscribeResult {
  readonly subscriptionId: string;
  /** Where the subscription starts; store it as the last watermark. */
  readonly watermark: string;
}

/** Decodes a SubscribeResponse: the new subscription, or the typed error Exchange answered with. */
export function decodeSubscribeResponse(body: string | Uint8Array): Result<SubscribeResult, EwsError> {
  const opened = singleSuccessfulMessage('Subscribe', body);
  if (!opened.ok) return opened;
  const message = opened.value;
  // In the response these are in the messages namespace (unlike t: inside notifications).
  const subscriptionId = message.children.find(
    (c) => c.ns === NS.messages && c.name === 'SubscriptionId',
  )?.text;
  const watermark = message.children.find((c) => c.ns === NS.messages && c.name === 'Watermark')?.text;
  if (!subscriptionId)
    return err(new EwsProtocolError('Subscribe', 'the successful response has no m:SubscriptionId'));
  if (!watermark)
    return err(new EwsProtocolError('Subscribe', 'the successful push response has no m:Watermark'));
  return ok({ subscriptionId, watermark });
}
