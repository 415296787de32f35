/**
 * Graph subscriptions for Outlook messages and events: create, renew (PATCH of the expiry, which
 * also reauthorizes), reauthorize, get and delete, as request builders and answer decoders.
 *
 * What the lifecycle does with the typed errors (see errors.ts): a renewal answering 404
 * (`SubscriptionGone`) means create a new subscription and catch up with delta; a create answering
 * 409 (`SubscriptionExists`) means adopt `existingSubscriptionId`; 429 (`Throttled`) means wait
 * `retryAfterMs`; `ValidationFailed` means our receiver did not answer the handshake in 10 s.
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { MAX_CLIENT_STATE_LENGTH } from './client-state.ts';
import {
  decodeGraphError,
  type GraphOperation,
  GraphProtocolError,
  type GraphResponseError,
  InvalidGraphRequestError,
} from './errors.ts';
import { isJsonObject, own, ownText, parseJsonBody } from './json.ts';
import { CHANGE_TYPES, type ChangeType } from './notification.ts';
import {
  type GraphReply,
  type GraphRequest,
  IMMUTABLE_ID_PREFERENCE,
  requireSegment,
  requireWebhookUrl,
} from './request.ts';

/** Outlook message, event and contact subscriptions live at most this long (Learn, subscription resource). */
export const MAX_EXPIRATION_MINUTES = 10_080;
/** …and this long with `includeResourceData` (Learn, Outlook change notifications overview). */
export const MAX_EXPIRATION_MINUTES_WITH_RESOURCE_DATA = 1_440;
/**
 * Asked for a little less than the maximum: Graph measures the limit on its own clock, and a
 * create or renewal one second over it is refused.
 */
export const EXPIRY_SAFETY_MARGIN_MS = 10 * 60_000;

/** What a subscription watches. No folder: every message of the mailbox (moves arrive as delete + create). */
export type SubscriptionResource =
  | { readonly kind: 'messages'; readonly userId: string; readonly folderId?: string }
  | { readonly kind: 'events'; readonly userId: string; readonly calendarId?: string };

export function resourcePath(resource: SubscriptionResource): string {
  const user = requireSegment('userId', resource.userId);
  if (resource.kind === 'messages') {
    return resource.folderId === undefined
      ? `/users/${user}/messages`
      : `/users/${user}/mailFolders/${requireSegment('folderId', resource.folderId)}/messages`;
  }
  return resource.calendarId === undefined
    ? `/users/${user}/events`
    : `/users/${user}/calendars/${requireSegment('calendarId', resource.calendarId)}/events`;
}

export interface CreateSubscriptionInput {
  readonly resource: SubscriptionResource;
  /** @default created, updated, deleted */
  readonly changeTypes?: readonly ChangeType[];
  readonly notificationUrl: string;
  /** Required here: Graph cannot add it to a subscription later (a PATCH with it is refused). */
  readonly lifecycleNotificationUrl: string;
  /** From client-state.ts: at most 128 characters. */
  readonly clientState: string;
  /** Epoch ms; at most 10,080 minutes after `now`. @default expiryFrom(now) */
  readonly expiresAt?: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' } as const;

/** The latest expiry worth asking for at `now`: the maximum less a safety margin. */
export function expiryFrom(now: number, maxMinutes = MAX_EXPIRATION_MINUTES): number {
  return now + maxMinutes * 60_000 - EXPIRY_SAFETY_MARGIN_MS;
}

/**
 * When to renew a subscription expiring at `expiresAt`: halfway through a full lifetime (three
 * and a half days for Outlook), so a renewer that fails for a day still has days to succeed, at
 * one PATCH per mailbox and resource every few days.
 */
export function renewalDueAt(expiresAt: number, maxMinutes = MAX_EXPIRATION_MINUTES): number {
  return expiresAt - (maxMinutes * 60_000) / 2;
}

function requireExpiry(expiresAt: number, now: number): string {
  const latest = now + MAX_EXPIRATION_MINUTES * 60_000;
  if (!Number.isFinite(expiresAt) || expiresAt <= now || expiresAt > latest) {
    throw new InvalidGraphRequestError(
      'expirationDateTime',
      Number.isFinite(expiresAt) ? new Date(expiresAt).toISOString() : String(expiresAt),
      `must be in the future and at most ${MAX_EXPIRATION_MINUTES} minutes after now (${new Date(now).toISOString()}); use expiryFrom(now)`,
    );
  }
  return new Date(expiresAt).toISOString();
}

/** `POST /subscriptions`, with immutable ids preferred (they apply only when asked for at create). */
export function buildCreateSubscription(input: CreateSubscriptionInput, now: number): GraphRequest {
  const changeTypes = input.changeTypes ?? CHANGE_TYPES;
  if (changeTypes.length === 0 || new Set(changeTypes).size !== changeTypes.length) {
    throw new InvalidGraphRequestError(
      'changeType',
      changeTypes.join(','),
      `must name each of ${CHANGE_TYPES.join(', ')} at most once, and at least one`,
    );
  }
  for (const type of changeTypes) {
    if (!(CHANGE_TYPES as readonly string[]).includes(type)) {
      throw new InvalidGraphRequestError('changeType', type, `is not one of ${CHANGE_TYPES.join(', ')}`);
    }
  }
  if (input.clientState === '' || input.clientState.length > MAX_CLIENT_STATE_LENGTH) {
    throw new InvalidGraphRequestError(
      'clientState',
      input.clientState,
      `is ${input.clientState.length} characters; Graph accepts 1 to ${MAX_CLIENT_STATE_LENGTH}`,
    );
  }
  const body = {
    changeType: changeTypes.join(','),
    notificationUrl: requireWebhookUrl('notificationUrl', input.notificationUrl),
    lifecycleNotificationUrl: requireWebhookUrl('lifecycleNotificationUrl', input.lifecycleNotificationUrl),
    resource: resourcePath(input.resource),
    expirationDateTime: requireExpiry(input.expiresAt ?? expiryFrom(now), now),
    clientState: input.clientState,
  };
  return {
    operation: 'createSubscription',
    method: 'POST',
    path: '/subscriptions',
    headers: { ...JSON_HEADERS, Prefer: IMMUTABLE_ID_PREFERENCE },
    body: JSON.stringify(body),
    mailbox: null,
  };
}

/**
 * `PATCH /subscriptions/{id}` with a new expiry: renews, and also answers a
 * `reauthorizationRequired`. Never send it and a reauthorize for one subscription within 10
 * minutes of each other (field advice: the second can be refused).
 */
export function buildRenewSubscription(subscriptionId: string, expiresAt: number, now: number): GraphRequest {
  return {
    operation: 'renewSubscription',
    method: 'PATCH',
    path: `/subscriptions/${requireSegment('subscriptionId', subscriptionId)}`,
    headers: JSON_HEADERS,
    body: JSON.stringify({ expirationDateTime: requireExpiry(expiresAt, now) }),
    mailbox: null,
  };
}

/** `POST /subscriptions/{id}/reauthorize`: answers a `reauthorizationRequired` without changing the expiry. */
export function buildReauthorizeSubscription(subscriptionId: string): GraphRequest {
  return {
    operation: 'reauthorizeSubscription',
    method: 'POST',
    path: `/subscriptions/${requireSegment('subscriptionId', subscriptionId)}/reauthorize`,
    headers: { Accept: 'application/json' },
    body: null,
    mailbox: null,
  };
}

export function buildGetSubscription(subscriptionId: string): GraphRequest {
  return {
    operation: 'getSubscription',
    method: 'GET',
    path: `/subscriptions/${requireSegment('subscriptionId', subscriptionId)}`,
    headers: { Accept: 'application/json' },
    body: null,
    mailbox: null,
  };
}

export function buildDeleteSubscription(subscriptionId: string): GraphRequest {
  return {
    operation: 'deleteSubscription',
    method: 'DELETE',
    path: `/subscriptions/${requireSegment('subscriptionId', subscriptionId)}`,
    headers: {},
    body: null,
    mailbox: null,
  };
}

/** A subscription as Graph describes it (only what the bridge uses). */
export interface GraphSubscription {
  readonly id: string;
  readonly resource: string;
  readonly changeTypes: readonly ChangeType[];
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly clientState: string | null;
  readonly notificationUrl: string | null;
  readonly lifecycleNotificationUrl: string | null;
}

export type SubscriptionCallError = GraphResponseError | GraphProtocolError;

/** 201 of a create. A 409 comes back as a `SubscriptionExists` error naming the subscription to adopt. */
export function decodeCreateSubscriptionResponse(
  reply: GraphReply,
  now: number,
): Result<GraphSubscription, SubscriptionCallError> {
  return decodeSubscriptionAnswer('createSubscription', 201, reply, now);
}

/** 200 of a renewal, with the expiry Graph granted. A 404 is `SubscriptionGone`: create a new one. */
export function decodeRenewSubscriptionResponse(
  reply: GraphReply,
  now: number,
): Result<GraphSubscription, SubscriptionCallError> {
  return decodeSubscriptionAnswer('renewSubscription', 200, reply, now);
}

/** 200 of a GET (to check a subscription adopted after a 409 is one this bridge would have made). */
export function decodeGetSubscriptionResponse(
  reply: GraphReply,
  now: number,
): Result<GraphSubscription, SubscriptionCallError> {
  return decodeSubscriptionAnswer('getSubscription', 200, reply, now);
}

/** Reauthorize answers 204 (Learn: "subscription: reauthorize"); any 2xx is taken as done. */
export function decodeReauthorizeResponse(
  reply: GraphReply,
  now: number,
): Result<void, SubscriptionCallError> {
  if (reply.status >= 200 && reply.status < 300) return ok(undefined);
  return err(decodeGraphError('reauthorizeSubscription', reply.status, reply.headers, reply.body, now));
}

/** 204; a 404 means it is already gone, which is what a delete wants. */
export function decodeDeleteSubscriptionResponse(
  reply: GraphReply,
  now: number,
): Result<'deleted' | 'alreadyGone', SubscriptionCallError> {
  if (reply.status >= 200 && reply.status < 300) return ok('deleted');
  if (reply.status === 404) return ok('alreadyGone');
  return err(decodeGraphError('deleteSubscription', reply.status, reply.headers, reply.body, now));
}

function decodeSubscriptionAnswer(
  operation: GraphOperation,
  expectedStatus: number,
  reply: GraphReply,
  now: number,
): Result<GraphSubscription, SubscriptionCallError> {
  // Some proxies turn 201 into 200; both carry the subscription.
  if (reply.status !== expectedStatus && reply.status !== 200) {
    return err(decodeGraphError(operation, reply.status, reply.headers, reply.body, now));
  }
  const parsed = parseJsonBody(reply.body, 256 * 1024);
  if (!parsed.ok) return err(new GraphProtocolError(operation, parsed.error.detail));
  if (!isJsonObject(parsed.value))
    return err(new GraphProtocolError(operation, 'the body is not a JSON object'));
  const body = parsed.value;
  const id = ownText(body, 'id', 512);
  if (id === undefined) return err(new GraphProtocolError(operation, 'the subscription has no id'));
  const expiry = ownText(body, 'expirationDateTime', 64);
  const expiresAt = expiry === undefined ? Number.NaN : Date.parse(expiry);
  if (expiry === undefined || Number.isNaN(expiresAt) || !/(Z|[+-]\d\d:\d\d)$/i.test(expiry)) {
    return err(
      new GraphProtocolError(
        operation,
        `expirationDateTime is ${expiry === undefined ? 'missing' : showValue(expiry)}, expected an ISO 8601 time with a zone`,
      ),
    );
  }
  const changeTypeText = ownText(body, 'changeType', 100) ?? '';
  const changeTypes = changeTypeText
    .split(',')
    .map((t) => t.trim())
    .filter((t): t is ChangeType => (CHANGE_TYPES as readonly string[]).includes(t));
  const text = (key: string, max: number) => {
    const value = own(body, key);
    return typeof value === 'string' && value !== '' && value.length <= max ? value : null;
  };
  return ok({
    id,
    resource: text('resource', 2048) ?? '',
    changeTypes,
    expiresAt,
    clientState: text('clientState', 256),
    notificationUrl: text('notificationUrl', 2048),
    lifecycleNotificationUrl: text('lifecycleNotificationUrl', 2048),
  });
}

/**
 * Whether a subscription found by a 409 (or a listing) is one this bridge can adopt as it is:
 * same URLs and clientState (so notifications verify and name the current generation), and a
 * lifecycle URL (which cannot be added later). Otherwise delete it and create anew.
 */
export function isAdoptable(
  found: GraphSubscription,
  wanted: { notificationUrl: string; lifecycleNotificationUrl: string; clientState: string },
): boolean {
  return (
    found.notificationUrl === wanted.notificationUrl &&
    found.lifecycleNotificationUrl === wanted.lifecycleNotificationUrl &&
    found.clientState === wanted.clientState
  );
}
