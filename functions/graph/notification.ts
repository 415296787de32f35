/**
 * What Microsoft Graph POSTs to a subscription's notification URL and lifecycle URL: the
 * validation handshake (`?validationToken=…`, answered with the decoded token as text/plain), and
 * `{"value": [...]}` batches of change notifications and lifecycle notifications.
 *
 * The whole body is untrusted (anyone can POST to the URL) and the batch may mix subscriptions and
 * tenants, so one odd item must not cost the others: the body as a whole is refused only when it
 * is not a batch at all (too big, not JSON, no `value` array, too many items); an item that cannot
 * be read is set aside in `rejected` with its reason, and whatever of its subscriptionId and
 * clientState could be read, so the receiver can still verify it and act (catch up) on it.
 * Nothing here throws for any input.
 */
import { err, ok, type Result } from '../core/result.ts';
import { formatCount, showValue } from '../core/show.ts';
import { isJsonObject, type JsonObject, own, ownText, parseJsonBody } from './json.ts';

export const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const LIFECYCLE_EVENTS = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** `resourceData` of a basic (not rich) notification: which item changed. */
export interface ResourceData {
  readonly id: string;
  /** `#Microsoft.Graph.Message`, `#Microsoft.Graph.Event`, … as sent (Graph's casing varies). */
  readonly odataType: string | null;
  readonly odataId: string | null;
  /** Changes with every update of the item: with the id, it tells two updates apart. */
  readonly etag: string | null;
}

export interface ChangeNotification {
  readonly kind: 'change';
  readonly subscriptionId: string;
  /** What the subscription was created with: the authenticity check (see client-state.ts). */
  readonly clientState: string | null;
  readonly changeType: ChangeType;
  /** `Users/{user-id}/Messages/{id}` and the like: the user is Graph's object id, not the address. */
  readonly resource: string;
  readonly resourceData: ResourceData | null;
  readonly tenantId: string | null;
  /** As sent; informational (the bridge keeps its own expiry from the create/renew answer). */
  readonly subscriptionExpirationDateTime: string | null;
}

export interface LifecycleNotification {
  readonly kind: 'lifecycle';
  readonly subscriptionId: string;
  readonly clientState: string | null;
  readonly lifecycleEvent: LifecycleEvent;
  readonly tenantId: string | null;
  readonly subscriptionExpirationDateTime: string | null;
}

export type GraphNotification = ChangeNotification | LifecycleNotification;

/** An item of the batch that could not be read; what could be read of it is kept. */
export interface RejectedItem {
  readonly index: number;
  readonly subscriptionId: string | null;
  readonly clientState: string | null;
  readonly reason: string;
}

export interface NotificationBatch {
  readonly notifications: readonly GraphNotification[];
  readonly rejected: readonly RejectedItem[];
  /**
   * Whether the body carried `validationTokens` (rich notifications, which the bridge never asks
   * for): a sign the subscription was not made by this bridge.
   */
  readonly hasValidationTokens: boolean;
}

export type NotificationRefusal = 'TooLarge' | 'Malformed' | 'NotANotificationBatch' | 'TooManyItems';

/** Why a body is not a notification batch at all. The message is one line. */
export class NotificationDecodeError extends Error {
  override readonly name = 'NotificationDecodeError';
  readonly reason: NotificationRefusal;

  constructor(reason: NotificationRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface NotificationLimits {
  /** Largest body accepted, in bytes. @default 1 MiB */
  readonly maxBytes: number;
  /** Most items accepted in one `value` array. @default 1000 */
  readonly maxItems: number;
}

/**
 * Learn gives no batch size; the stand-in sends at most 100 items, each well under 2 KiB. These
 * bounds leave room for Graph and keep a hostile body cheap to refuse.
 */
export const DEFAULT_NOTIFICATION_LIMITS: NotificationLimits = { maxBytes: 1024 * 1024, maxItems: 1000 };

const ADVICE: Record<NotificationRefusal, string> = {
  TooLarge: 'raise the limit only if Graph really sends batches this large',
  Malformed: 'Graph retries a delivery that is not acknowledged, so a damaged body is sent again',
  NotANotificationBatch: 'this endpoint only receives Microsoft Graph change and lifecycle notifications',
  TooManyItems: 'raise the item limit only if Graph really sends batches this large',
};

function refuse(reason: NotificationRefusal, what: string): { ok: false; error: NotificationDecodeError } {
  return err(new NotificationDecodeError(reason, `${reason}: ${what}; ${ADVICE[reason]}`));
}

/** Graph's ids are GUIDs and short opaque strings; anything longer is not one of its fields. */
const MAX_ID = 512;
const MAX_RESOURCE = 2048;
/** Graph caps clientState at 128; a little more is read so a forgery is refused by the check, not here. */
const MAX_CLIENT_STATE = 256;

/** Decodes a notification POST body. Never throws. */
export function decodeNotificationBody(
  body: string | Uint8Array,
  limits: NotificationLimits = DEFAULT_NOTIFICATION_LIMITS,
): Result<NotificationBatch, NotificationDecodeError> {
  const parsed = parseJsonBody(body, limits.maxBytes);
  if (!parsed.ok) {
    return refuse(parsed.error.tooLarge ? 'TooLarge' : 'Malformed', parsed.error.detail);
  }
  if (!isJsonObject(parsed.value)) return refuse('NotANotificationBatch', 'the body is not a JSON object');
  const value = own(parsed.value, 'value');
  if (!Array.isArray(value)) return refuse('NotANotificationBatch', 'the body has no "value" array');
  if (value.length > limits.maxItems) {
    return refuse(
      'TooManyItems',
      `"value" holds ${formatCount(value.length)} items, more than the ${formatCount(limits.maxItems)} accepted`,
    );
  }
  const notifications: GraphNotification[] = [];
  const rejected: RejectedItem[] = [];
  value.forEach((item: unknown, index) => {
    const decoded = decodeItem(item);
    if (decoded.ok) notifications.push(decoded.value);
    else {
      const object: JsonObject = isJsonObject(item) ? item : {};
      rejected.push({
        index,
        subscriptionId: ownText(object, 'subscriptionId', MAX_ID) ?? null,
        clientState: ownText(object, 'clientState', MAX_CLIENT_STATE) ?? null,
        reason: decoded.error,
      });
    }
  });
  return ok({
    notifications,
    rejected,
    hasValidationTokens: Array.isArray(own(parsed.value, 'validationTokens')),
  });
}

function decodeItem(item: unknown): Result<GraphNotification, string> {
  if (!isJsonObject(item)) return err('the item is not a JSON object');
  const subscriptionId = ownText(item, 'subscriptionId', MAX_ID);
  if (subscriptionId === undefined) return err('the item has no usable subscriptionId');
  const clientState = optionalText(item, 'clientState', MAX_CLIENT_STATE);
  const tenantId = optionalText(item, 'tenantId', MAX_ID);
  const expiry = optionalText(item, 'subscriptionExpirationDateTime', 64);
  if (!clientState.ok) return clientState;
  if (!tenantId.ok) return tenantId;
  if (!expiry.ok) return expiry;
  const common = {
    subscriptionId,
    clientState: clientState.value,
    tenantId: tenantId.value,
    subscriptionExpirationDateTime: expiry.value,
  };

  if (Object.hasOwn(item, 'lifecycleEvent')) {
    const event = own(item, 'lifecycleEvent');
    if (typeof event !== 'string' || !isLifecycleEvent(event)) {
      return err(
        `lifecycleEvent is ${typeof event === 'string' ? showValue(event) : typeof event}, expected one of ${LIFECYCLE_EVENTS.join(', ')}`,
      );
    }
    return ok({ kind: 'lifecycle', ...common, lifecycleEvent: event });
  }

  const changeType = own(item, 'changeType');
  if (typeof changeType !== 'string' || !isChangeType(changeType)) {
    return err(
      `changeType is ${typeof changeType === 'string' ? showValue(changeType) : typeof changeType}, expected one of ${CHANGE_TYPES.join(', ')}`,
    );
  }
  const resource = ownText(item, 'resource', MAX_RESOURCE);
  if (resource === undefined) return err('the change notification has no usable resource');
  // Rich notifications (encryptedContent) are never asked for; their resourceData is read the same.
  const rawData = own(item, 'resourceData');
  let resourceData: ResourceData | null = null;
  if (rawData !== undefined && rawData !== null) {
    if (!isJsonObject(rawData)) return err('resourceData is not a JSON object');
    const id = ownText(rawData, 'id', MAX_ID);
    if (id === undefined) return err('resourceData has no usable id');
    const odataType = optionalText(rawData, '@odata.type', 200);
    const odataId = optionalText(rawData, '@odata.id', MAX_RESOURCE);
    const etag = optionalText(rawData, '@odata.etag', 200);
    if (!odataType.ok) return odataType;
    if (!odataId.ok) return odataId;
    if (!etag.ok) return etag;
    resourceData = { id, odataType: odataType.value, odataId: odataId.value, etag: etag.value };
  }
  return ok({ kind: 'change', ...common, changeType, resource, resourceData });
}

/** Absent or null → null; a string within bounds → it; anything else is refused (it is not Graph's). */
function optionalText(object: JsonObject, key: string, max: number): Result<string | null, string> {
  const value = own(object, key);
  if (value === undefined || value === null || value === '') return ok(null);
  if (typeof value !== 'string')
    return err(`${key} is a ${Array.isArray(value) ? 'array' : typeof value}, expected a string`);
  if (value.length > max) return err(`${key} is ${formatCount(value.length)} characters, more than ${max}`);
  return ok(value);
}

function isChangeType(value: string): value is ChangeType {
  return (CHANGE_TYPES as readonly string[]).includes(value);
}

function isLifecycleEvent(value: string): value is LifecycleEvent {
  return (LIFECYCLE_EVENTS as readonly string[]).includes(value);
}

// ---- the validation handshake -------------------------------------------------------------------

/** Graph's tokens are ~100 printable characters; this bounds what is echoed back. */
const MAX_VALIDATION_TOKEN = 1024;

/** A validationToken that is present but cannot be echoed safely. */
export class ValidationRequestError extends Error {
  override readonly name = 'ValidationRequestError';
  readonly detail: string;

  constructor(detail: string) {
    super(
      `validation request refused: ${detail}; Graph sends one printable validationToken of about 100 characters, so this request is not Graph's`,
    );
    this.detail = detail;
  }
}

export interface ValidationAnswer {
  readonly statusCode: 200;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Recognizes Graph's validation request (creating or renewing a subscription) from the query
 * string. `query` is either the raw, still-encoded query string (API Gateway's `rawQueryString`)
 * or parameters already decoded once (`queryStringParameters`): never decode those again, or a
 * `%25` in the token is decoded twice and the echo fails validation.
 *
 * `null`: not a validation request (a notification). Otherwise the token, URL-decoded, or why it
 * cannot be answered.
 */
export function validationTokenOf(
  query: string | URLSearchParams | Readonly<Record<string, string | undefined>> | null | undefined,
): Result<string, ValidationRequestError> | null {
  if (query === null || query === undefined) return null;
  let values: string[];
  if (typeof query === 'string' || query instanceof URLSearchParams) {
    const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query;
    values = params.getAll('validationToken');
  } else {
    const value = Object.hasOwn(query, 'validationToken') ? query.validationToken : undefined;
    values = value === undefined ? [] : [value];
  }
  if (values.length === 0) return null;
  const [token] = values;
  if (values.length > 1 || token === undefined)
    return err(new ValidationRequestError('validationToken is given more than once'));
  if (token === '') return err(new ValidationRequestError('validationToken is empty'));
  if (token.length > MAX_VALIDATION_TOKEN) {
    return err(
      new ValidationRequestError(
        `validationToken is ${formatCount(token.length)} characters, more than ${MAX_VALIDATION_TOKEN}`,
      ),
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(token)) {
    return err(new ValidationRequestError('validationToken holds control characters'));
  }
  return ok(token);
}

/**
 * The answer Graph needs within 10 s: 200, text/plain, the decoded token as the whole body. No
 * state is read to give it. `nosniff` because the body is text from the request.
 */
export function validationAnswer(token: string): ValidationAnswer {
  return {
    statusCode: 200,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    },
    body: token,
  };
}
