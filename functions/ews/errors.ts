/**
 * Typed errors for talking to Exchange. Each one says what was wrong, shows the value, and says
 * what to do; the `category` is what the subscription lifecycle switches on.
 */
import { showValue } from '../core/show.ts';
import { isResponseCode, type ResponseCode } from './response-codes.ts';

export type EwsOperation = 'Subscribe' | 'GetItem' | 'SyncFolderItems' | 'FindFolder';

/**
 * What a failure means for the caller. Codes the bridge does not act on specially fall into
 * `Transient` (worth retrying with backoff) or `Other` (retrying will not help without a change).
 */
export type EwsErrorCategory =
  /** Throttled: wait `backOffMilliseconds` (when given) and try again; not a failure. */
  | 'ServerBusy'
  /** The watermark is unknown or older than ~30 days: subscribe without it and catch up. */
  | 'InvalidWatermark'
  /** The subscription was deleted, expired or is unknown: create a new one. */
  | 'SubscriptionGone'
  /** EWSMaxSubscriptions reached for the mailbox (20 in Exchange Online): a human must free some. */
  | 'SubscriptionLimit'
  /** The mailbox is moving or failing over: retry later (and rediscover the EWS URL if it persists). */
  | 'MailboxMoved'
  /** Credentials, impersonation rights, licence or tenant policy refuse the call: a human must act. */
  | 'AccessDenied'
  /** The item, folder or mailbox does not exist (any more). */
  | 'NotFound'
  /** A stored SyncState is no longer accepted: synchronize the folder again from scratch. */
  | 'InvalidSyncState'
  /** Exchange rejected the request itself (schema, URL, ids): a bug or bad configuration. */
  | 'InvalidRequest'
  /** A passing server-side failure: retry with backoff. */
  | 'Transient'
  | 'Other';

const CATEGORY_OF: Partial<Record<ResponseCode, EwsErrorCategory>> = {
  ErrorServerBusy: 'ServerBusy',
  ErrorInvalidWatermark: 'InvalidWatermark',
  ErrorSubscriptionNotFound: 'SubscriptionGone',
  ErrorInvalidSubscription: 'SubscriptionGone',
  ErrorExpiredSubscription: 'SubscriptionGone',
  ErrorReadEventsFailed: 'SubscriptionGone',
  ErrorSubscriptionUnsubscribed: 'SubscriptionGone',
  ErrorMissedNotificationEvents: 'SubscriptionGone',
  ErrorExceededSubscriptionCount: 'SubscriptionLimit',
  ErrorMailboxMoveInProgress: 'MailboxMoved',
  ErrorMailboxFailover: 'MailboxMoved',
  ErrorAccessDenied: 'AccessDenied',
  ErrorAccountDisabled: 'AccessDenied',
  ErrorPasswordExpired: 'AccessDenied',
  ErrorImpersonateUserDenied: 'AccessDenied',
  ErrorImpersonationDenied: 'AccessDenied',
  ErrorImpersonationFailed: 'AccessDenied',
  ErrorSubscriptionAccessDenied: 'AccessDenied',
  ErrorSubscriptionDelegateAccessNotSupported: 'AccessDenied',
  ErrorInvalidLicense: 'AccessDenied',
  ErrorOrganizationAccessBlocked: 'AccessDenied',
  ErrorInvalidAuthorizationContext: 'AccessDenied',
  ErrorItemNotFound: 'NotFound',
  ErrorFolderNotFound: 'NotFound',
  ErrorSyncFolderNotFound: 'NotFound',
  ErrorNonExistentMailbox: 'NotFound',
  ErrorInvalidSyncStateData: 'InvalidSyncState',
  ErrorSchemaValidation: 'InvalidRequest',
  ErrorInvalidRequest: 'InvalidRequest',
  ErrorInvalidPushSubscriptionUrl: 'InvalidRequest',
  ErrorInvalidSubscriptionRequest: 'InvalidRequest',
  ErrorIncorrectSchemaVersion: 'InvalidRequest',
  ErrorInvalidSchemaVersionForMailboxVersion: 'InvalidRequest',
  ErrorInvalidExchangeImpersonationHeaderData: 'InvalidRequest',
  ErrorInvalidIdMalformed: 'InvalidRequest',
  ErrorInvalidIdEmpty: 'InvalidRequest',
  ErrorInvalidSmtpAddress: 'InvalidRequest',
  ErrorInvalidPullSubscriptionId: 'InvalidRequest',
  ErrorInvalidPagingMaxRows: 'InvalidRequest',
  ErrorInvalidIndexedPagingParameters: 'InvalidRequest',
  ErrorInternalServerError: 'Transient',
  ErrorInternalServerTransientError: 'Transient',
  ErrorMailboxStoreUnavailable: 'Transient',
  ErrorTimeoutExpired: 'Transient',
  ErrorADUnavailable: 'Transient',
  ErrorConnectionFailed: 'Transient',
  ErrorExceededConnectionCount: 'Transient',
  ErrorProxiedSubscriptionCallFailure: 'Transient',
  ErrorNoRespondingCASInDestinationSite: 'Transient',
  ErrorProxyRequestProcessingFailed: 'Transient',
  ErrorMailboxLogonFailed: 'Transient',
  ErrorProxyTokenExpired: 'Transient',
  ErrorBatchProcessingStopped: 'Transient',
  ErrorNotEnoughMemory: 'Transient',
  // A per-user server limit on objects open at once (connections, sessions): it clears as they
  // close, so waiting and trying again works.
  ErrorTooManyObjectsOpened: 'Transient',
};

export function categoryOf(responseCode: string): EwsErrorCategory {
  return isResponseCode(responseCode) ? (CATEGORY_OF[responseCode] ?? 'Other') : 'Other';
}

const ADVICE: Record<EwsErrorCategory, string> = {
  ServerBusy: 'Exchange is throttling; wait the back-off it asked for, then retry',
  InvalidWatermark:
    'the watermark is unknown or older than ~30 days (or from another mailbox database); subscribe without it and catch up with SyncFolderItems',
  SubscriptionGone: 'the subscription no longer exists on Exchange; create a new one',
  SubscriptionLimit:
    'the mailbox has reached its EWS subscription limit (20 in Exchange Online, shared by every application); remove unused subscriptions or wait for them to expire',
  MailboxMoved:
    'the mailbox is moving or failing over; retry later, and rediscover the EWS URL if this persists',
  AccessDenied:
    'check the credentials, the application permission (full_access_as_app) or impersonation rights, and that EWS is enabled for the tenant/mailbox',
  NotFound: 'the item, folder or mailbox does not exist (any more)',
  InvalidSyncState: 'the stored SyncState is no longer valid; synchronize the folder again from scratch',
  InvalidRequest: 'Exchange rejected the request itself; check the configured ids, URL and Exchange version',
  Transient: 'a passing Exchange-side failure; retry with backoff',
  Other: 'see the Exchange response code documentation for what it means',
};

/**
 * Every failure of a request to Exchange (or to its token endpoint), whatever went wrong: whether
 * trying the same request again later can succeed without anyone changing anything, and, when
 * Exchange answered with an EWS response code, what that code means (the `category` the
 * subscription lifecycle switches on). Set once, by each subclass's constructor.
 */
export abstract class ExchangeRequestError extends Error {
  readonly retryable: boolean;
  /** Set when Exchange answered with an EWS response code (EwsResponseError); otherwise undefined. */
  readonly category: EwsErrorCategory | undefined;

  constructor(
    message: string,
    meaning: { readonly retryable: boolean; readonly category?: EwsErrorCategory },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.retryable = meaning.retryable;
    this.category = meaning.category;
  }
}

/** Categories of codes that can pass by themselves: throttling, a passing failure, a mailbox move. */
const RETRYABLE_CATEGORIES: ReadonlySet<EwsErrorCategory> = new Set([
  'ServerBusy',
  'Transient',
  'MailboxMoved',
]);

/** Exchange answered the operation with a response code other than NoError. */
export class EwsResponseError extends ExchangeRequestError {
  override readonly name = 'EwsResponseError';
  readonly operation: EwsOperation;
  /** The code as Exchange sent it; `ResponseCode` when it is one the schema knows. */
  readonly responseCode: ResponseCode | string;
  declare readonly category: EwsErrorCategory;
  readonly messageText: string | null;
  /** `BackOffMilliseconds` from MessageXml, when Exchange gave one (ErrorServerBusy). */
  readonly backOffMilliseconds: number | null;
  /** Every `t:Value Name="…"` in MessageXml. */
  readonly messageXml: ReadonlyMap<string, string>;
  /** Whether it came in a response message or as a SOAP Fault. */
  readonly via: 'responseMessage' | 'soapFault';

  constructor(args: {
    operation: EwsOperation;
    responseCode: string;
    messageText: string | null;
    messageXml: ReadonlyMap<string, string>;
    via: 'responseMessage' | 'soapFault';
  }) {
    const inner = innerResponseCode(args.responseCode, args.messageXml);
    const category = categoryOf(inner ?? args.responseCode);
    const backOff = parseBackOff(args.messageXml.get('BackOffMilliseconds'));
    const text =
      inner !== undefined
        ? ` (inner ${inner}: ${showValue(args.messageXml.get('InnerErrorMessageText') ?? '', 120)})`
        : args.messageText === null
          ? ''
          : ` (${showValue(args.messageText, 120)})`;
    const wait = backOff === null ? '' : `; BackOffMilliseconds=${backOff}`;
    super(`${args.operation} failed with ${args.responseCode}${text}${wait}: ${ADVICE[category]}`, {
      retryable: RETRYABLE_CATEGORIES.has(category),
      category,
    });
    this.operation = args.operation;
    this.responseCode = args.responseCode;
    this.messageText = args.messageText;
    this.messageXml = args.messageXml;
    this.backOffMilliseconds = backOff;
    this.via = args.via;
  }
}

/**
 * The specific code Exchange wraps in an ErrorInternalServerError (`InnerErrorResponseCode` in
 * MessageXml): throttling is reported as an inner ErrorServerBusy (ews-protocol.md §3), and a
 * refusal only a person can fix (an invalid licence) can come the same way. Acting on the outer
 * code would retry the first too eagerly and the second forever.
 */
function innerResponseCode(outer: string, messageXml: ReadonlyMap<string, string>): string | undefined {
  if (outer !== 'ErrorInternalServerError') return undefined;
  const inner = messageXml.get('InnerErrorResponseCode');
  return inner !== undefined && inner !== outer && categoryOf(inner) !== 'Other' ? inner : undefined;
}

function parseBackOff(raw: string | undefined): number | null {
  if (raw === undefined || !/^\d{1,10}$/.test(raw)) return null;
  return Number(raw);
}

/**
 * A SOAP Fault that carries no EWS response code. Its `faultcode` says whose fault it is (SOAP 1.1
 * §4.4.1): `Client` (SOAP 1.2: `Sender`) means the request was refused as it stands, e.g.
 * "User is not mailbox owner", and sending it again changes nothing; `Server` (or anything else) is
 * a failure on Exchange's side that can pass.
 */
export class EwsSoapFaultError extends ExchangeRequestError {
  override readonly name = 'EwsSoapFaultError';
  readonly operation: EwsOperation;
  readonly faultCode: string;
  readonly faultString: string;
  constructor(operation: EwsOperation, faultCode: string, faultString: string) {
    const local = faultCode.slice(faultCode.indexOf(':') + 1);
    const refused = local === 'Client' || local === 'Sender' || local.startsWith('Client.');
    super(
      `${operation} failed with SOAP fault ${showValue(faultCode)}: ${showValue(faultString, 200)}; ${
        refused
          ? 'Exchange refused the request as sent (a client fault), so retrying it unchanged will not help: check the mailbox, the rights of the account (impersonation, mailbox ownership) and the request the fault names'
          : 'this is an Exchange-side failure without an EWS code, retry with backoff and check the EWS URL if it persists'
      }`,
      // A Client/Sender fault: the request itself was refused.
      { retryable: !refused },
    );
    this.operation = operation;
    this.faultCode = faultCode;
    this.faultString = faultString;
  }
}

/**
 * The response could not be understood at all: not XML, not SOAP, not the operation that was
 * asked for, or missing a part the schema requires. Usually a proxy, a login page or a wrong URL.
 * `unusablePart`: the response was read, but one part of it (one item of several) cannot be used.
 */
export class EwsProtocolError extends ExchangeRequestError {
  override readonly name = 'EwsProtocolError';
  readonly operation: EwsOperation;
  readonly detail: string;
  readonly scope: 'response' | 'unusablePart';

  constructor(operation: EwsOperation, detail: string, scope: 'response' | 'unusablePart' = 'response') {
    super(
      scope === 'response'
        ? `${operation} response is not a usable EWS response: ${detail}; check that the URL points at /EWS/Exchange.asmx and nothing in between rewrites responses`
        : `${operation} response was read, but one part of it cannot be used: ${detail}; the rest of the response stands, and this part is reported as missing`,
      { retryable: false },
    );
    this.operation = operation;
    this.detail = detail;
    this.scope = scope;
  }
}

export type EwsError = EwsResponseError | EwsSoapFaultError | EwsProtocolError;

/**
 * A request the caller asked us to build is not one Exchange would accept (a StatusFrequency out
 * of range, a URL that is not http(s), no event types…). Thrown: it is a configuration or
 * programming error, caught where the configuration is read.
 */
export class InvalidEwsRequestError extends ExchangeRequestError {
  override readonly name = 'InvalidEwsRequestError';
  readonly field: string;
  readonly value: string;

  constructor(field: string, value: string, problem: string) {
    super(`${field} ${showValue(value)} ${problem}`, { retryable: false });
    this.field = field;
    this.value = value;
  }
}
