/**
 * Typed errors for talking to Microsoft Graph. Each says what was wrong, shows the value, and says
 * what to do; `category` is what the subscription lifecycle switches on, `retryable` whether the
 * same request may succeed later without anyone changing anything.
 */
import { showValue } from '../core/show.ts';
import { isJsonObject, type JsonObject, own, ownText, parseJsonBody } from './json.ts';

export type GraphOperation =
  | 'createSubscription'
  | 'renewSubscription'
  | 'reauthorizeSubscription'
  | 'deleteSubscription'
  | 'getSubscription'
  | 'delta'
  | 'mailFolders'
  | 'getItem'
  | 'token';

export type GraphErrorCategory =
  /** 429 (or 503) from Outlook's limits: wait `retryAfterMs` and send the same request again. */
  | 'Throttled'
  /** 404 on `/subscriptions/{id}`: Graph deleted it (expired, removed); create a new one and catch up with delta. */
  | 'SubscriptionGone'
  /** 409 on create: this app already has a subscription for the resource and change types; adopt `existingSubscriptionId`. */
  | 'SubscriptionExists'
  /** 409 otherwise, e.g. a reauthorize and a PATCH of one subscription within 10 minutes: wait, then retry. */
  | 'Conflict'
  /** 410 (or `syncStateNotFound`) on delta: the delta link is no longer known; synchronize the folder from scratch. */
  | 'ResyncRequired'
  /** 400 `ValidationError`: our endpoint did not answer Graph's validation request in time (cold start?); retry. */
  | 'ValidationFailed'
  /** 401/403: the app's credentials, permissions or an access policy refuse the call; a person must act. */
  | 'AccessDenied'
  /** 404 of a user, folder or calendar. */
  | 'NotFound'
  /** Graph refused the request itself (400): a bug or bad configuration. */
  | 'InvalidRequest'
  /** A passing failure on Graph's side (5xx): retry with backoff. */
  | 'Transient'
  | 'Other';

const RETRYABLE: ReadonlySet<GraphErrorCategory> = new Set([
  'Throttled',
  'Conflict',
  'ValidationFailed',
  'Transient',
]);

const ADVICE: Record<GraphErrorCategory, string> = {
  Throttled:
    'Outlook is throttling this app for the mailbox (4 concurrent, 10,000 per 10 minutes); wait Retry-After, then retry',
  SubscriptionGone:
    'Graph no longer has this subscription (it expired or was removed); create a new one and catch up with delta',
  SubscriptionExists:
    'a subscription for this resource and change types already exists for the app; adopt it (renew it) instead of creating another',
  Conflict: 'Graph refused the change as conflicting; wait a few minutes and retry',
  ResyncRequired: 'the delta link is no longer valid; synchronize the folder again from scratch',
  ValidationFailed:
    'Graph could not validate the notification or lifecycle URL; check that the receiver answers validationToken with 200 text/plain within 10 s, then retry',
  AccessDenied:
    'check the app registration: client secret, the application permissions Mail.Read and Calendars.Read with admin consent, and any application access policy limiting mailboxes',
  NotFound: 'the user, folder or calendar does not exist (any more); check the configured ids',
  InvalidRequest: 'Graph refused the request itself; check the resource, URLs and expiry',
  Transient: 'a passing failure on Graph’s side; retry with backoff',
  Other: 'see the Graph error code documentation for what it means',
};

/** What the caller can read headers with: `Headers`, or anything with the same `get`. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** Graph answered with an HTTP error. */
export class GraphResponseError extends Error {
  override readonly name = 'GraphResponseError';
  readonly operation: GraphOperation;
  readonly httpStatus: number;
  /** `error.code` from Graph's body, when it had one. */
  readonly code: string | null;
  /** `error.message`, cut and quoted for logs; never interpreted except for the 409 id. */
  readonly messageText: string | null;
  readonly category: GraphErrorCategory;
  readonly retryable: boolean;
  /** From `Retry-After` (seconds or an HTTP date), when Graph sent one. */
  readonly retryAfterMs: number | null;
  /** For `SubscriptionExists`: the id Graph named in its 409 message, when it named one. */
  readonly existingSubscriptionId: string | null;

  constructor(args: {
    operation: GraphOperation;
    httpStatus: number;
    code: string | null;
    messageText: string | null;
    category: GraphErrorCategory;
    retryAfterMs: number | null;
    existingSubscriptionId?: string | null;
  }) {
    const code = args.code === null ? '' : ` ${args.code}`;
    const text = args.messageText === null ? '' : ` (${showValue(args.messageText, 160)})`;
    const wait = args.retryAfterMs === null ? '' : `; Retry-After ${args.retryAfterMs} ms`;
    super(
      `${args.operation} failed with HTTP ${args.httpStatus}${code}${text}${wait}: ${ADVICE[args.category]}`,
    );
    this.operation = args.operation;
    this.httpStatus = args.httpStatus;
    this.code = args.code;
    this.messageText = args.messageText;
    this.category = args.category;
    this.retryable = RETRYABLE.has(args.category);
    this.retryAfterMs = args.retryAfterMs;
    this.existingSubscriptionId = args.existingSubscriptionId ?? null;
  }
}

/** The answer could not be understood: not JSON, or missing what Graph always sends. */
export class GraphProtocolError extends Error {
  override readonly name = 'GraphProtocolError';
  readonly operation: GraphOperation;
  readonly detail: string;
  readonly retryable = false;

  constructor(operation: GraphOperation, detail: string) {
    super(
      `${operation}: the answer is not a usable Microsoft Graph answer: ${detail}; check that the Graph base URL is https://graph.microsoft.com/v1.0 and nothing in between rewrites answers`,
    );
    this.operation = operation;
    this.detail = detail;
  }
}

/**
 * A request the caller asked us to build is not one Graph would accept (an expiry beyond the
 * maximum, a clientState over 128 characters, a URL that is not HTTPS…). Thrown: it is a
 * configuration or programming error, caught where the configuration is read.
 */
export class InvalidGraphRequestError extends Error {
  override readonly name = 'InvalidGraphRequestError';
  readonly field: string;
  readonly value: string;

  constructor(field: string, value: string, problem: string) {
    super(`${field} ${showValue(value)} ${problem}`);
    this.field = field;
    this.value = value;
  }
}

/** Maps an HTTP error answer of Graph to a typed error. */
export function decodeGraphError(
  operation: GraphOperation,
  status: number,
  headers: HeaderReader,
  body: string | Uint8Array,
  now: number,
): GraphResponseError {
  const parsed = parseJsonBody(body, 64 * 1024);
  const error = parsed.ok && isJsonObject(parsed.value) ? own(parsed.value, 'error') : undefined;
  const detail: JsonObject = isJsonObject(error) ? error : {};
  const code = ownText(detail, 'code', 100) ?? null;
  const message = own(detail, 'message');
  const messageText = typeof message === 'string' && message !== '' ? message.slice(0, 500) : null;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
  const category = categorize(operation, status, code);
  return new GraphResponseError({
    operation,
    httpStatus: status,
    code,
    messageText,
    category,
    retryAfterMs,
    existingSubscriptionId: category === 'SubscriptionExists' ? existingIdIn(messageText) : null,
  });
}

function categorize(operation: GraphOperation, status: number, code: string | null): GraphErrorCategory {
  // Learn ("Use delta query", Token duration) promises 410 Gone but also "40X-series error with
  // error codes such as syncStateNotFound": match the code too.
  if (operation === 'delta' && (status === 410 || (code !== null && /^(syncState|resync)/i.test(code)))) {
    return 'ResyncRequired';
  }
  if (status === 429) return 'Throttled';
  if (status === 503) return 'Throttled';
  if (status === 401 || status === 403) return 'AccessDenied';
  if (status === 404) {
    const onSubscription =
      operation === 'renewSubscription' ||
      operation === 'reauthorizeSubscription' ||
      operation === 'deleteSubscription' ||
      operation === 'getSubscription';
    return onSubscription ? 'SubscriptionGone' : 'NotFound';
  }
  if (status === 409) return operation === 'createSubscription' ? 'SubscriptionExists' : 'Conflict';
  if (status === 400 && code === 'ValidationError') return 'ValidationFailed';
  if (status === 400) return 'InvalidRequest';
  if (status >= 500) return 'Transient';
  return 'Other';
}

/**
 * Graph's 409 names the existing subscription in its message ("Subscription Id <id> already
 * exists for the requested combination"); the id is the only part relied on.
 */
function existingIdIn(message: string | null): string | null {
  if (message === null) return null;
  const match = /subscription\s+id\s+([0-9A-Za-z-]{8,64})\s+already exists/i.exec(message);
  return match?.[1] ?? null;
}

/** `Retry-After`: delay-seconds or an HTTP date, as milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Graph (or the token endpoint) could not be reached, or did not answer in time. Retryable. */
export class GraphUnreachableError extends Error {
  override readonly name = 'GraphUnreachableError';
  readonly retryable = true;
  readonly operation: GraphOperation;
  /** Origin and path only: query strings of delta links carry state tokens. */
  readonly url: string;
  readonly reason: 'timeout' | 'network' | 'tooLarge';

  constructor(args: {
    operation: GraphOperation;
    url: string;
    reason: 'timeout' | 'network' | 'tooLarge';
    detail: string;
    cause?: unknown;
  }) {
    super(
      `${args.operation}: ${args.url} ${args.detail}; ${
        args.reason === 'tooLarge'
          ? 'ask for smaller pages (Prefer odata.maxpagesize) or fewer properties'
          : 'retry with backoff, and check network egress to Graph if it persists'
      }`,
      args.cause === undefined ? undefined : { cause: args.cause },
    );
    this.operation = args.operation;
    this.url = args.url;
    this.reason = args.reason;
  }
}

/** A URL as errors may show it: no query (state tokens) and no credentials. */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return showValue(url.split('?')[0] ?? '', 120);
  }
}
