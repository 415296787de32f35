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
import { type Clock, systemClock } from '../../core/clock.ts';
import { err, type Result } from '../../core/result.ts';
import { showValue } from '../../core/show.ts';
import { credentialHint, type ExchangeConnection, safeUrlText, secretsOf } from '../../ews/connection.ts';
import {
  type EwsError,
  type EwsOperation,
  EwsProtocolError,
  InvalidEwsRequestError,
} from '../../ews/errors.ts';
import {
  decodeFindFolderResponse,
  encodeFindFolder,
  type FindFolderRequest,
  type FindFolderResult,
} from '../../ews/folders.ts';
import {
  type DecodeOptions,
  type DetailRequest,
  decodeGetItemDetailsResponse,
  encodeGetItemDetails,
  type GetItemDetailsResult,
} from '../../ews/item-details.ts';
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
} from '../../ews/items.ts';
import type { RequestContext } from '../../ews/request.ts';
import { RESPONSE_LIMITS } from '../../ews/soap.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
  type SubscribeResult,
} from '../../ews/subscribe.ts';
import { createCredentials } from './credentials.ts';
import {
  authAdvice,
  type CallSite,
  EwsAuthError,
  type EwsCallError,
  EwsUnavailableError,
  EwsUnreachableError,
} from './errors.ts';
import {
  createHttpExchange,
  type Failure,
  type HttpReply,
  parseRetryAfter,
  redact,
  USER_AGENT,
} from './transport.ts';

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
  /** Reads items of `mailbox` for enrichment (`data.item`); one result per id, in order. */
  getItemDetails(
    mailbox: string,
    request: DetailRequest,
    options: DecodeOptions,
  ): Promise<Result<GetItemDetailsResult, EwsCallError>>;
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

const SOAP_ACTION_BASE = 'http://schemas.microsoft.com/exchange/services/2006/messages/';

/** Printable ASCII, one "@": what X-AnchorMailbox and the impersonation header can carry. */
const SMTP_ADDRESS = /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/;

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

  const exchange = createHttpExchange(fetchFn, clock, connection.timeoutMs);
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
    getItemDetails: (mailbox, request, options) =>
      call(
        'GetItem',
        mailbox,
        (context) => encodeGetItemDetails(request, context),
        (body) => decodeGetItemDetailsResponse(body, options),
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
