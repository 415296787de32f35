/**
 * The bridge's EWS client: sends `Subscribe`, `GetItem`, `SyncFolderItems` and `FindFolder` to a
 * real Exchange (Exchange Online with app-only OAuth2, or on-premises with Basic over HTTPS) and
 * turns every outcome into a typed result. Nothing here throws for anything the network or
 * Exchange can do; the envelopes are built and read by the protocol module (`functions/ews`),
 * never here.
 *
 * Secrets (client secret, password, access tokens) never appear in an error or its fields: text
 * that comes back from a server is cut and scrubbed before it is kept. Nothing is logged.
 */
import { type Clock, systemClock } from '../core/clock.ts';
import { err, ok, type Result } from '../core/result.ts';
import { formatCount, showValue } from '../core/show.ts';
import {
  credentialHint,
  type ExchangeAuth,
  type ExchangeConnection,
  safeUrlText,
  scopeOf,
  secretsOf,
  tokenUrlOf,
} from '../ews/connection.ts';
import {
  type EwsError,
  type EwsOperation,
  EwsProtocolError,
  EwsResponseError,
  EwsSoapFaultError,
  InvalidEwsRequestError,
} from '../ews/errors.ts';
import {
  decodeFindFolderResponse,
  encodeFindFolder,
  type FindFolderRequest,
  type FindFolderResult,
} from '../ews/folders.ts';
import {
  decodeGetItemResponse,
  decodeSyncFolderItemsResponse,
  ENRICHMENT_SHAPE,
  encodeGetItem,
  encodeSyncFolderItems,
  type GetItemResult,
  type ItemIdRef,
  type ItemShape,
  type SyncFolderItemsRequest,
  type SyncFolderItemsResult,
} from '../ews/items.ts';
import type { RequestContext } from '../ews/request.ts';
import { RESPONSE_LIMITS } from '../ews/soap.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
  type SubscribeResult,
} from '../ews/subscribe.ts';

export interface EwsClient {
  /** The name of the connection this client speaks for. */
  readonly connection: string;
  /** Creates a push subscription for `mailbox`. */
  subscribe(
    mailbox: string,
    request: PushSubscriptionRequest,
  ): Promise<Result<SubscribeResult, EwsCallError>>;
  /** Reads items of `mailbox`; one result per id, in order. @default shape ENRICHMENT_SHAPE */
  getItems(
    mailbox: string,
    itemIds: readonly ItemIdRef[],
    shape?: ItemShape,
  ): Promise<Result<GetItemResult, EwsCallError>>;
  /** One page of changes in a folder of `mailbox` since a SyncState. */
  syncFolderItems(
    mailbox: string,
    request: SyncFolderItemsRequest,
  ): Promise<Result<SyncFolderItemsResult, EwsCallError>>;
  /** One page of the folders under a folder of `mailbox` (Deep traversal; default msgfolderroot). */
  findFolders(mailbox: string, request: FindFolderRequest): Promise<Result<FindFolderResult, EwsCallError>>;
}

export interface EwsClientDeps {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Measures timeouts, token lifetimes and Retry-After dates. @default systemClock */
  readonly clock?: Clock;
  /** Largest EWS response body read. @default RESPONSE_LIMITS.maxBytes (16 MiB) */
  readonly maxResponseBytes?: number;
}

// ---- errors -----------------------------------------------------------------------------------

/** Who was being talked to when it went wrong. */
export type EwsTarget = 'EWS' | 'token endpoint';

/** Where a failure happened: the operation, the connection and the mailbox it was for. */
interface CallSite {
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;
}

function prefix(site: CallSite): string {
  return `${site.operation} for mailbox ${showValue(site.mailbox)} on connection ${showValue(site.connection)}`;
}

function targetName(target: EwsTarget): string {
  return target === 'EWS' ? 'Exchange (EWS)' : 'the OAuth2 token endpoint';
}

/**
 * The credentials were refused: by the token endpoint (OAuth2 `invalid_client`, …) or by EWS
 * (HTTP 401/403). Not retryable: a person must fix the credentials or the permissions.
 */
export class EwsAuthError extends Error {
  override readonly name = 'EwsAuthError';
  readonly retryable = false;
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;
  readonly target: EwsTarget;
  readonly url: string;
  readonly httpStatus: number;
  /** The OAuth2 `error` code from the token endpoint (`invalid_client`, `unauthorized_client`, …). */
  readonly oauthError: string | null;
  /** What the server said (error_description, WWW-Authenticate, X-MS-Diagnostics), cut and scrubbed. */
  readonly detail: string | null;
  /** Which settings to check, named (never their secret values). */
  readonly credential: string;
  readonly advice: string;

  constructor(
    site: CallSite,
    args: {
      target: EwsTarget;
      url: string;
      httpStatus: number;
      oauthError: string | null;
      detail: string | null;
      credential: string;
      advice: string;
    },
  ) {
    const code = args.oauthError === null ? '' : ` ${showValue(args.oauthError)}`;
    const detail = args.detail === null ? '' : ` (${showValue(args.detail, 300)})`;
    super(
      `${prefix(site)}: ${targetName(args.target)} at ${args.url} refused the credentials with HTTP ${args.httpStatus}${code}${detail}; ${args.advice}`,
    );
    this.operation = site.operation;
    this.connection = site.connection;
    this.mailbox = site.mailbox;
    this.target = args.target;
    this.url = args.url;
    this.httpStatus = args.httpStatus;
    this.oauthError = args.oauthError;
    this.detail = args.detail;
    this.credential = args.credential;
    this.advice = args.advice;
  }
}

/**
 * Exchange (or a proxy or the token endpoint) answered with a temporary HTTP failure and no EWS
 * error in it: 502, 503, 504, 429, or another 5xx without a SOAP Fault. Retryable.
 */
export class EwsUnavailableError extends Error {
  override readonly name = 'EwsUnavailableError';
  readonly retryable = true;
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;
  readonly target: EwsTarget;
  readonly url: string;
  readonly httpStatus: number;
  /** From `Retry-After` (seconds or an HTTP date), when the server sent one. */
  readonly retryAfterMs: number | null;
  /** Why the body was not an EWS answer, when there was one. */
  readonly detail: string | null;

  constructor(
    site: CallSite,
    args: {
      target: EwsTarget;
      url: string;
      httpStatus: number;
      retryAfterMs: number | null;
      detail: string | null;
    },
  ) {
    const wait = args.retryAfterMs === null ? '' : `, Retry-After ${formatCount(args.retryAfterMs)} ms`;
    const detail = args.detail === null ? '' : `; ${args.detail}`;
    const advice =
      args.retryAfterMs === null
        ? 'retry with backoff'
        : `retry after ${formatCount(args.retryAfterMs)} ms, then with backoff`;
    super(
      `${prefix(site)}: ${targetName(args.target)} at ${args.url} is temporarily unavailable (HTTP ${args.httpStatus}${wait}${detail}); ${advice}`,
    );
    this.operation = site.operation;
    this.connection = site.connection;
    this.mailbox = site.mailbox;
    this.target = args.target;
    this.url = args.url;
    this.httpStatus = args.httpStatus;
    this.retryAfterMs = args.retryAfterMs;
    this.detail = args.detail;
  }
}

export type UnreachableReason =
  | 'timeout'
  | 'connectionRefused'
  | 'dnsFailure'
  | 'tlsFailure'
  | 'connectionReset'
  | 'network';

const UNREACHABLE: Record<UnreachableReason, { what: string; advice: string; retryable: boolean }> = {
  timeout: {
    what: 'did not answer in time',
    advice:
      'retry later; if it keeps happening, check the network path and raise timeoutMs of the connection',
    retryable: true,
  },
  connectionRefused: {
    what: 'refused the connection',
    advice: 'check the host and port in the URL and that the server is running; retry later',
    retryable: true,
  },
  dnsFailure: {
    what: 'has a host name that does not resolve',
    advice: 'check the host name in the URL (and, from a Lambda in a VPC, its DNS settings)',
    retryable: false,
  },
  tlsFailure: {
    what: 'failed the TLS handshake',
    advice:
      "check that the URL's scheme and port are right and that the server's certificate is valid for that host name and issued by a CA Node trusts (a private CA goes in NODE_EXTRA_CA_CERTS)",
    retryable: false,
  },
  connectionReset: {
    what: 'closed the connection before answering',
    advice: 'retry with backoff; if it persists, look for a proxy or load balancer cutting connections',
    retryable: true,
  },
  network: {
    what: 'could not be reached',
    advice:
      'check network connectivity (a Lambda in a VPC needs a NAT route to reach Exchange); retry with backoff',
    retryable: true,
  },
};

const TEMPORARY_DNS_CODES = new Set(['EAI_AGAIN']);

/**
 * No HTTP answer at all: timeout, connection refused, DNS, TLS, reset ("unreachable EWS"). A DNS
 * name that does not exist and a failed TLS handshake are not retryable (configuration); the rest are.
 */
export class EwsUnreachableError extends Error {
  override readonly name = 'EwsUnreachableError';
  readonly retryable: boolean;
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;
  readonly target: EwsTarget;
  readonly url: string;
  readonly reason: UnreachableReason;
  /** The system or library error code (ECONNREFUSED, ENOTFOUND, ERR_SSL_…), when there was one. */
  readonly code: string | null;
  /** The timeout that expired, for `reason: 'timeout'`. */
  readonly timeoutMs: number | null;

  constructor(
    site: CallSite,
    args: {
      target: EwsTarget;
      url: string;
      reason: UnreachableReason;
      code: string | null;
      timeoutMs: number | null;
      cause: unknown;
    },
  ) {
    const info = UNREACHABLE[args.reason];
    // Without a code (e.g. fetch's "bad port"), the innermost message is the best clue there is.
    const clue = args.code === null ? innermostMessage(args.cause) : null;
    const code = args.code !== null ? ` (${args.code})` : clue !== null ? ` (${showValue(clue, 120)})` : '';
    const after = args.timeoutMs === null ? '' : ` within ${formatCount(args.timeoutMs)} ms`;
    super(
      `${prefix(site)}: ${targetName(args.target)} is unreachable: ${args.url} ${info.what}${after}${code}; ${info.advice}`,
      args.cause === undefined ? undefined : { cause: args.cause },
    );
    // EAI_AGAIN is a resolver hiccup; ENOTFOUND is a name that does not exist (configuration).
    this.retryable = args.reason === 'dnsFailure' ? TEMPORARY_DNS_CODES.has(args.code ?? '') : info.retryable;
    this.operation = site.operation;
    this.connection = site.connection;
    this.mailbox = site.mailbox;
    this.target = args.target;
    this.url = args.url;
    this.reason = args.reason;
    this.code = args.code;
    this.timeoutMs = args.timeoutMs;
  }
}

/**
 * Everything a call can fail with:
 * - `EwsResponseError`: Exchange answered with an EWS response code (incl. ErrorServerBusy with
 *   `backOffMilliseconds`, ErrorExceededSubscriptionCount), in a response message or a SOAP Fault;
 * - `EwsSoapFaultError`: a SOAP Fault without an EWS code (retryable unless it is a Client fault);
 * - `EwsProtocolError`: an answer that is not EWS (HTML login page, redirect, 404, oversized body);
 * - `InvalidEwsRequestError`: the request itself is not one Exchange would accept (nothing was sent);
 * - `EwsAuthError`, `EwsUnavailableError`, `EwsUnreachableError`: see their docs.
 */
export type EwsCallError =
  | EwsError
  | InvalidEwsRequestError
  | EwsAuthError
  | EwsUnavailableError
  | EwsUnreachableError;

/** Whether trying the same call again later can succeed without anyone changing anything. */
export function isRetryable(error: EwsCallError): boolean {
  if (error instanceof EwsResponseError) {
    return (
      error.category === 'ServerBusy' || error.category === 'Transient' || error.category === 'MailboxMoved'
    );
  }
  if (error instanceof EwsSoapFaultError) return error.retryable;
  if (error instanceof EwsProtocolError || error instanceof InvalidEwsRequestError) return false;
  return error.retryable;
}

/** How long the server asked us to wait before retrying (BackOffMilliseconds or Retry-After), if it said. */
export function retryAfterMs(error: EwsCallError): number | null {
  if (error instanceof EwsResponseError) return error.backOffMilliseconds;
  if (error instanceof EwsUnavailableError) return error.retryAfterMs;
  return null;
}

// ---- the client -------------------------------------------------------------------------------

const SOAP_ACTION_BASE = 'http://schemas.microsoft.com/exchange/services/2006/messages/';
/** Token responses are a few KiB; anything bigger is not one. */
const TOKEN_RESPONSE_MAX_BYTES = 64 * 1024;
/** Refresh this long before a token expires (at most half its lifetime). */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Lifetime assumed when a token response has no usable expires_in. */
const DEFAULT_TOKEN_LIFETIME_S = 300;
const USER_AGENT = 'exchange-push-bridge';

/** Printable ASCII, one "@": what X-AnchorMailbox and the impersonation header can carry. */
const SMTP_ADDRESS = /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/;

/** A failure before it is tied to a call site (a shared token request serves many callers). */
type Failure =
  | {
      readonly kind: 'unreachable';
      readonly target: EwsTarget;
      readonly url: string;
      readonly reason: UnreachableReason;
      readonly code: string | null;
      readonly timeoutMs: number | null;
      readonly cause: unknown;
    }
  | {
      readonly kind: 'auth';
      readonly target: EwsTarget;
      readonly url: string;
      readonly httpStatus: number;
      readonly oauthError: string | null;
      readonly detail: string | null;
    }
  | {
      readonly kind: 'unavailable';
      readonly target: EwsTarget;
      readonly url: string;
      readonly httpStatus: number;
      readonly retryAfterMs: number | null;
      readonly detail: string | null;
    }
  | { readonly kind: 'protocol'; readonly detail: string };

interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export function createEwsClient(connection: ExchangeConnection, deps: EwsClientDeps = {}): EwsClient {
  const fetchFn = deps.fetch ?? globalThis.fetch;
  const clock = deps.clock ?? systemClock;
  const maxResponseBytes = deps.maxResponseBytes ?? RESPONSE_LIMITS.maxBytes;
  const ewsUrl = safeUrlText(connection.ewsUrl);
  const secrets = secretsOf(connection);
  // The last tokens handed out, so that a server echoing one back cannot put it in an error.
  const recentTokens: string[] = [];
  const rememberToken = (token: string) => {
    recentTokens.unshift(token);
    recentTokens.length = Math.min(recentTokens.length, 2);
  };
  const scrub = (text: string): string => redact(text, [...secrets, ...recentTokens]);

  /** One HTTP exchange, body included, under the connection's timeout and a size cap. */
  async function exchange(
    target: EwsTarget,
    url: string,
    init: { headers: Record<string, string>; body: string },
    maxBytes: number,
  ): Promise<Result<HttpReply, Failure>> {
    const shownUrl = safeUrlText(url);
    const controller = new AbortController();
    const timeout = new Error('timeout');
    const cancelTimer = clock.setTimer(connection.timeoutMs, () => controller.abort(timeout));
    try {
      const response = await fetchFn(url, {
        method: 'POST',
        headers: init.headers,
        body: init.body,
        // A redirect is a misconfigured URL (or a login page); following it would resend credentials.
        redirect: 'manual',
        signal: controller.signal,
      });
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > maxBytes) {
        controller.abort();
        return err(tooLarge(target, shownUrl, maxBytes, `declares ${formatCount(declared)} bytes`));
      }
      const body = await readCapped(response, maxBytes);
      if (body === null) {
        controller.abort();
        return err(tooLarge(target, shownUrl, maxBytes, 'kept coming'));
      }
      return ok({ status: response.status, headers: response.headers, body });
    } catch (error) {
      const timedOut = controller.signal.aborted && controller.signal.reason === timeout;
      const { reason, code } = timedOut
        ? { reason: 'timeout' as const, code: null }
        : classifyNetworkError(error);
      return err({
        kind: 'unreachable',
        target,
        url: shownUrl,
        reason,
        code,
        timeoutMs: timedOut ? connection.timeoutMs : null,
        cause: timedOut ? undefined : error,
      });
    } finally {
      cancelTimer();
    }
  }

  const credentials = createCredentials(connection, clock, exchange, scrub, rememberToken);

  async function call<T>(
    operation: EwsOperation,
    mailbox: string,
    encode: (context: RequestContext) => string,
    decode: (body: Uint8Array) => Result<T, EwsError>,
  ): Promise<Result<T, EwsCallError>> {
    const site: CallSite = { operation, connection: connection.name, mailbox };
    if (!SMTP_ADDRESS.test(mailbox)) {
      return err(
        new InvalidEwsRequestError(
          'Mailbox',
          mailbox,
          "is not an SMTP address (printable ASCII with one @); give the mailbox's primary SMTP address",
        ),
      );
    }
    const context: RequestContext = connection.impersonation
      ? {
          requestServerVersion: connection.requestServerVersion,
          impersonation: { kind: 'PrimarySmtpAddress', value: mailbox },
        }
      : { requestServerVersion: connection.requestServerVersion };
    let envelope: string;
    try {
      envelope = encode(context);
    } catch (error) {
      if (error instanceof InvalidEwsRequestError) return err(error);
      throw error;
    }
    const headers: Record<string, string> = {
      'Content-Type': 'text/xml; charset=utf-8',
      Accept: 'text/xml',
      SOAPAction: `"${SOAP_ACTION_BASE}${operation}"`,
      'User-Agent': USER_AGENT,
    };
    // Exchange Online routes on this header; without it impersonated calls fail with 500/503 or
    // ErrorNoRespondingCASInDestinationSite (ews-protocol §4).
    if (connection.impersonation) headers['X-AnchorMailbox'] = mailbox;

    for (let attempt = 1; ; attempt++) {
      const authorization = await credentials.authorization();
      if (!authorization.ok) return err(toError(site, authorization.error));
      const requestHeaders =
        authorization.value === null ? headers : { ...headers, Authorization: authorization.value };
      const reply = await exchange(
        'EWS',
        connection.ewsUrl,
        { headers: requestHeaders, body: envelope },
        maxResponseBytes,
      );
      if (!reply.ok) return err(toError(site, reply.error));
      // A cached token can be revoked or rotated before it expires: fetch a new one, once.
      if (
        reply.value.status === 401 &&
        attempt === 1 &&
        authorization.value !== null &&
        credentials.canRefresh
      ) {
        credentials.invalidate(authorization.value);
        continue;
      }
      return interpret(site, reply.value, decode);
    }
  }

  function interpret<T>(
    site: CallSite,
    reply: HttpReply,
    decode: (body: Uint8Array) => Result<T, EwsError>,
  ): Result<T, EwsCallError> {
    const { status, headers, body } = reply;
    if (status >= 200 && status < 300) return decode(body);
    if (status === 401 || status === 403) {
      const parts = [
        headers.get('www-authenticate') === null
          ? null
          : `WWW-Authenticate: ${headers.get('www-authenticate')}`,
        headers.get('x-ms-diagnostics') === null
          ? null
          : `X-MS-Diagnostics: ${headers.get('x-ms-diagnostics')}`,
      ].filter((p) => p !== null);
      return err(
        toError(site, {
          kind: 'auth',
          target: 'EWS',
          url: ewsUrl,
          httpStatus: status,
          oauthError: null,
          detail: parts.length === 0 ? null : scrub(parts.join('; ')),
        }),
      );
    }
    if (status >= 500 || status === 429) {
      // Exchange sends ErrorServerBusy and other EWS errors as a SOAP Fault with HTTP 500; those
      // keep their code (and BackOffMilliseconds). A body that is not EWS at all is a proxy or IIS.
      const decoded = decode(body);
      if (decoded.ok || !(decoded.error instanceof EwsProtocolError)) return decoded;
      return err(
        toError(site, {
          kind: 'unavailable',
          target: 'EWS',
          url: ewsUrl,
          httpStatus: status,
          retryAfterMs: parseRetryAfter(headers.get('retry-after'), clock.now()),
          detail: body.byteLength === 0 ? null : `the body is not an EWS answer: ${decoded.error.detail}`,
        }),
      );
    }
    if (status >= 300 && status < 400) {
      const location = headers.get('location');
      return err(
        new EwsProtocolError(
          site.operation,
          `${ewsUrl} answered HTTP ${status}, a redirect${location === null ? '' : ` to ${showValue(safeUrlText(location), 200)}`} (not followed: it would resend the credentials); set ewsUrl of connection ${showValue(connection.name)} to the final https URL of /EWS/Exchange.asmx`,
        ),
      );
    }
    return err(
      new EwsProtocolError(
        site.operation,
        `${ewsUrl} answered HTTP ${status}${status === 404 ? ' (not found)' : ''}; check ewsUrl of connection ${showValue(connection.name)}`,
      ),
    );
  }

  function toError(site: CallSite, failure: Failure): EwsCallError {
    switch (failure.kind) {
      case 'unreachable':
        return new EwsUnreachableError(site, failure);
      case 'unavailable':
        return new EwsUnavailableError(site, failure);
      case 'protocol':
        return new EwsProtocolError(site.operation, failure.detail);
      case 'auth':
        return new EwsAuthError(site, {
          ...failure,
          credential: credentialHint(connection),
          advice: authAdvice(connection, failure.target, failure.httpStatus, failure.oauthError),
        });
    }
  }

  return {
    connection: connection.name,
    subscribe: (mailbox, request) =>
      call('Subscribe', mailbox, (context) => encodeSubscribe(request, context), decodeSubscribeResponse),
    getItems: (mailbox, itemIds, shape = ENRICHMENT_SHAPE) =>
      call(
        'GetItem',
        mailbox,
        (context) => encodeGetItem({ itemShape: shape, itemIds }, context),
        decodeGetItemResponse,
      ),
    syncFolderItems: (mailbox, request) =>
      call(
        'SyncFolderItems',
        mailbox,
        (context) => encodeSyncFolderItems(request, context),
        decodeSyncFolderItemsResponse,
      ),
    findFolders: (mailbox, request) =>
      call('FindFolder', mailbox, (context) => encodeFindFolder(request, context), decodeFindFolderResponse),
  };
}

// ---- credentials ------------------------------------------------------------------------------

type Exchange = (
  target: EwsTarget,
  url: string,
  init: { headers: Record<string, string>; body: string },
  maxBytes: number,
) => Promise<Result<HttpReply, Failure>>;

interface Credentials {
  /** The Authorization header value, or null when the connection sends none. */
  authorization(): Promise<Result<string | null, Failure>>;
  /** Whether a refused credential can be replaced by asking again (OAuth2). */
  readonly canRefresh: boolean;
  /** Drops the cached credential, if it is still this one. */
  invalidate(authorization: string): void;
}

function createCredentials(
  connection: ExchangeConnection,
  clock: Clock,
  exchange: Exchange,
  scrub: (text: string) => string,
  rememberToken: (token: string) => void,
): Credentials {
  const { auth } = connection;
  if (auth.kind === 'none') {
    return { authorization: async () => ok(null), canRefresh: false, invalidate: () => {} };
  }
  if (auth.kind === 'basic') {
    const value = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
    return { authorization: async () => ok(value), canRefresh: false, invalidate: () => {} };
  }
  return createTokenCredentials(auth, clock, exchange, scrub, rememberToken);
}

/**
 * OAuth2 client credentials: one cached token per connection, refreshed shortly before it
 * expires; concurrent callers share one in-flight token request; failures are not cached.
 */
function createTokenCredentials(
  auth: Extract<ExchangeAuth, { kind: 'oauth2' }>,
  clock: Clock,
  exchange: Exchange,
  scrub: (text: string) => string,
  rememberToken: (token: string) => void,
): Credentials {
  const tokenUrl = tokenUrlOf(auth);
  const shownUrl = safeUrlText(tokenUrl);
  let cached: { readonly authorization: string; readonly refreshAt: number } | null = null;
  let inFlight: Promise<Result<string, Failure>> | null = null;

  async function requestToken(): Promise<Result<string, Failure>> {
    const requestedAt = clock.now();
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      scope: scopeOf(auth),
    });
    const reply = await exchange(
      'token endpoint',
      tokenUrl,
      {
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          'User-Agent': USER_AGENT,
        },
        body: form.toString(),
      },
      TOKEN_RESPONSE_MAX_BYTES,
    );
    if (!reply.ok) return reply;
    const { status, headers, body } = reply.value;
    const json = parseJson(body);
    if (status === 200) {
      const token = readToken(json);
      if (typeof token === 'string') {
        return err({
          kind: 'protocol',
          detail: `the token endpoint ${shownUrl} answered HTTP 200 but ${token}; check auth.tokenUrl (leave it out for the Microsoft identity platform)`,
        });
      }
      const lifetimeMs = token.expiresInS * 1000;
      const authorization = `Bearer ${token.accessToken}`;
      rememberToken(token.accessToken);
      cached = {
        authorization,
        refreshAt: requestedAt + Math.max(lifetimeMs - TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2),
      };
      return ok(authorization);
    }
    if (status === 400 || status === 401 || status === 403) {
      const oauth = readOAuthError(json);
      return err({
        kind: 'auth',
        target: 'token endpoint',
        url: shownUrl,
        httpStatus: status,
        oauthError: oauth.error,
        detail: oauth.description === null ? null : scrub(oauth.description),
      });
    }
    if (status === 429 || status >= 500) {
      return err({
        kind: 'unavailable',
        target: 'token endpoint',
        url: shownUrl,
        httpStatus: status,
        retryAfterMs: parseRetryAfter(headers.get('retry-after'), clock.now()),
        detail: null,
      });
    }
    return err({
      kind: 'protocol',
      detail: `the token endpoint ${shownUrl} answered HTTP ${status}; check auth.tokenUrl (leave it out for the Microsoft identity platform)`,
    });
  }

  return {
    canRefresh: true,
    async authorization() {
      if (cached !== null && clock.now() < cached.refreshAt) return ok(cached.authorization);
      inFlight ??= requestToken().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    invalidate(authorization) {
      if (cached?.authorization === authorization) cached = null;
    },
  };
}

function readToken(json: unknown): { accessToken: string; expiresInS: number } | string {
  if (!isRecord(json)) return 'the body is not a JSON object';
  const accessToken = json.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return 'the body has no access_token';
  const tokenType = json.token_type;
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    return `token_type is ${typeof tokenType === 'string' ? showValue(tokenType) : 'not a string'}, expected Bearer`;
  }
  // Entra sends a number; some older servers send a numeric string.
  const expiresIn = json.expires_in;
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\d{1,9}$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  return {
    accessToken,
    expiresInS: Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TOKEN_LIFETIME_S,
  };
}

function readOAuthError(json: unknown): { error: string | null; description: string | null } {
  if (!isRecord(json)) return { error: null, description: null };
  const error = json.error;
  const description = json.error_description;
  return {
    error: typeof error === 'string' && /^[\w.-]{1,64}$/.test(error) ? error : null,
    // Entra's descriptions are one useful line ("AADSTS7000215: Invalid client secret provided…")
    // followed by trace and correlation ids.
    description: typeof description === 'string' ? (description.split(/\r?\n/)[0] ?? '').slice(0, 300) : null,
  };
}

function authAdvice(
  connection: ExchangeConnection,
  target: EwsTarget,
  status: number,
  oauthError: string | null,
): string {
  const name = showValue(connection.name);
  const hint = credentialHint(connection);
  const { auth } = connection;
  if (target === 'token endpoint') {
    switch (oauthError) {
      case 'invalid_client':
        return `the client secret is wrong or expired, or does not belong to the client id: check ${hint}; if needed create a new client secret in the app registration and store its Value (not its Secret ID)`;
      case 'unauthorized_client':
        return `the app is not known or not enabled in that tenant: check ${hint}, and that an administrator granted consent`;
      case 'invalid_request':
        return `the token request was refused: check auth.tenantId (an unknown tenant gives AADSTS90002) and auth.tokenUrl of connection ${name}`;
      case 'invalid_scope':
        return `check auth.scope of connection ${name} (for Exchange Online: https://outlook.office365.com/.default)`;
      default:
        return `check ${hint}, and auth.tokenUrl`;
    }
  }
  if (auth.kind === 'oauth2') {
    const allow =
      'that EWS is allowed for the app (from October 2026 Exchange Online requires EWSEnabled=True for the organization and the app id in EwsAllowedAppIDs)';
    return status === 401
      ? `Exchange refused the app-only token even after a fresh one: check that the app of ${hint} has the Office 365 Exchange Online application permission full_access_as_app with admin consent, and ${allow}`
      : `Exchange accepted the token but refused access: check ${allow}, that no Application Access Policy excludes the mailbox, and that EWS is enabled for the mailbox`;
  }
  if (auth.kind === 'basic') {
    return status === 401
      ? `check ${hint} (wrong or expired password, locked account) and that the EWS virtual directory accepts Basic authentication`
      : `the account signed in but is not allowed: check that it holds the ApplicationImpersonation role for the mailbox and that EWS is enabled for it (Set-CASMailbox -EwsEnabled $true)`;
  }
  return `the server wants credentials but connection ${name} has auth kind "none": configure "oauth2" or "basic"`;
}

// ---- helpers ----------------------------------------------------------------------------------

function tooLarge(target: EwsTarget, url: string, maxBytes: number, how: string): Failure {
  return {
    kind: 'protocol',
    detail: `the answer of ${target === 'EWS' ? 'EWS' : 'the token endpoint'} at ${url} ${how}, more than the ${formatCount(maxBytes)} bytes accepted; ask for fewer items or changes per call`,
  };
}

/** Reads a body, giving up (null) as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

const TLS_CODE =
  /^(?:ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

/** Names what undici's `fetch failed` stands for, from the codes in its cause chain. */
export function classifyNetworkError(error: unknown): { reason: UnreachableReason; code: string | null } {
  const code = findCode(error, 0);
  if (code === null) return { reason: 'network', code };
  if (code === 'ECONNREFUSED') return { reason: 'connectionRefused', code };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return { reason: 'dnsFailure', code };
  }
  if (TLS_CODE.test(code)) return { reason: 'tlsFailure', code };
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'].includes(code)) {
    return { reason: 'connectionReset', code };
  }
  if (
    ['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(code)
  ) {
    return { reason: 'timeout', code };
  }
  return { reason: 'network', code };
}

function findCode(error: unknown, depth: number): string | null {
  if (depth > 5 || typeof error !== 'object' || error === null) return null;
  const code: unknown = Reflect.get(error, 'code');
  if (typeof code === 'string' && code !== '') return code;
  // Happy eyeballs: an AggregateError of one failure per address tried.
  const errors: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findCode(inner, depth + 1);
      if (found !== null) return found;
    }
  }
  return findCode(Reflect.get(error, 'cause'), depth + 1);
}

function innermostMessage(error: unknown): string | null {
  let message: string | null = null;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message === 'fetch failed' ? null : message;
}

/** `Retry-After`: delay-seconds or an HTTP date, as milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Replaces every occurrence of a secret with "[redacted]". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== '') out = out.split(secret).join('[redacted]');
  }
  return out;
}
