/**
 * The errors of talking to Exchange over HTTP that are not EWS answers: refused credentials, a
 * temporary HTTP failure, no answer at all. With the protocol's own (functions/ews/errors.ts) they
 * make up everything a call can fail with; every one is an ExchangeRequestError, which says
 * whether trying again can help.
 *
 * Secrets (client secret, password, access tokens) never appear in an error or its fields: text
 * that comes back from a server is cut and scrubbed (transport.ts, `redact`) before it is kept.
 */
import { formatCount, showValue } from '../../core/show.ts';
import { credentialHint, type ExchangeConnection } from '../../ews/connection.ts';
import {
  type EwsError,
  type EwsOperation,
  EwsResponseError,
  ExchangeRequestError,
  type InvalidEwsRequestError,
} from '../../ews/errors.ts';
import { innermostMessage, type UnreachableReason } from './network.ts';

/** Who was being talked to when it went wrong. */
export type EwsTarget = 'EWS' | 'token endpoint';

/** Where a failure happened: the operation, the connection and the mailbox it was for. */
export interface CallSite {
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;
}

function prefix(site: CallSite): string {
  return `${site.operation} for mailbox ${showValue(site.mailbox)} on connection ${showValue(site.connection)}`;
}

/**
 * A failure of the HTTP exchange itself, at a call site: the operation, connection and mailbox are
 * set here, once, for the three kinds below, and the message starts with them.
 */
abstract class ExchangeCallError extends ExchangeRequestError implements CallSite {
  readonly operation: EwsOperation;
  readonly connection: string;
  readonly mailbox: string;

  constructor(
    site: CallSite,
    message: string,
    meaning: { readonly retryable: boolean },
    options?: ErrorOptions,
  ) {
    super(`${prefix(site)}: ${message}`, meaning, options);
    this.operation = site.operation;
    this.connection = site.connection;
    this.mailbox = site.mailbox;
  }
}

function targetName(target: EwsTarget): string {
  return target === 'EWS' ? 'Exchange (EWS)' : 'the OAuth2 token endpoint';
}

/**
 * The credentials were refused: by the token endpoint (OAuth2 `invalid_client`, …) or by EWS
 * (HTTP 401/403). Not retryable: a person must fix the credentials or the permissions.
 */
export class EwsAuthError extends ExchangeCallError {
  override readonly name = 'EwsAuthError';
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
      site,
      `${targetName(args.target)} at ${args.url} refused the credentials with HTTP ${args.httpStatus}${code}${detail}; ${args.advice}`,
      { retryable: false },
    );
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
export class EwsUnavailableError extends ExchangeCallError {
  override readonly name = 'EwsUnavailableError';
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
      site,
      `${targetName(args.target)} at ${args.url} is temporarily unavailable (HTTP ${args.httpStatus}${wait}${detail}); ${advice}`,
      { retryable: true },
    );
    this.target = args.target;
    this.url = args.url;
    this.httpStatus = args.httpStatus;
    this.retryAfterMs = args.retryAfterMs;
    this.detail = args.detail;
  }
}

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
export class EwsUnreachableError extends ExchangeCallError {
  override readonly name = 'EwsUnreachableError';
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
      site,
      `${targetName(args.target)} is unreachable: ${args.url} ${info.what}${after}${code}; ${info.advice}`,
      {
        // EAI_AGAIN is a resolver hiccup; ENOTFOUND is a name that does not exist (configuration).
        retryable: args.reason === 'dnsFailure' ? TEMPORARY_DNS_CODES.has(args.code ?? '') : info.retryable,
      },
      args.cause === undefined ? undefined : { cause: args.cause },
    );
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
  return error.retryable;
}

/** How long the server asked us to wait before retrying (BackOffMilliseconds or Retry-After), if it said. */
export function retryAfterMs(error: EwsCallError): number | null {
  if (error instanceof EwsResponseError) return error.backOffMilliseconds;
  if (error instanceof EwsUnavailableError) return error.retryAfterMs;
  return null;
}

/** What to check when credentials were refused, for this connection's kind of auth. */
export function authAdvice(
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
