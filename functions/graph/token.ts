/**
 * App-only access to Graph: the OAuth2 client-credentials token request for
 * `https://graph.microsoft.com/.default` and the decoding of its answer, as pure functions (the
 * EWS client does the same inline in functions/adapters/ews-client.ts; the Graph client sends what
 * this builds). The client secret appears only in the request body, never in an error.
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type HeaderReader, InvalidGraphRequestError, parseRetryAfter } from './errors.ts';
import { isJsonObject, own, ownText, parseJsonBody } from './json.ts';

/** The scope that grants the app's application permissions on Graph. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
/** Refresh this long before a token expires (at most half its lifetime). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Lifetime assumed when the answer has no usable expires_in. */
const DEFAULT_LIFETIME_S = 300;

export interface GraphCredentials {
  /** The directory (tenant) id, a GUID, or a verified domain. */
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The whole token URL, for the stand-in or a sovereign cloud. @default `${DEFAULT_AUTHORITY}/{tenantId}/oauth2/v2.0/token` */
  readonly tokenUrl?: string;
}

export interface TokenRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function buildTokenRequest(credentials: GraphCredentials): TokenRequest {
  const { tenantId, clientId, clientSecret } = credentials;
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(tenantId)) {
    throw new InvalidGraphRequestError('tenantId', tenantId, 'is not a tenant id (a GUID) or domain name');
  }
  if (clientId === '') throw new InvalidGraphRequestError('clientId', clientId, 'is empty');
  // The secret is never shown, not even in this error.
  if (clientSecret === '') throw new InvalidGraphRequestError('clientSecret', '', 'is empty');
  return {
    url: credentials.tokenUrl ?? `${DEFAULT_AUTHORITY}/${tenantId}/oauth2/v2.0/token`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: GRAPH_SCOPE,
    }).toString(),
  };
}

export interface GraphToken {
  readonly accessToken: string;
  /** Epoch ms when Entra says it expires. */
  readonly expiresAt: number;
  /** Epoch ms after which a new one should be asked for. */
  readonly refreshAt: number;
}

/**
 * The token endpoint refused or failed. `retryable` is false for refusals (wrong secret, app not
 * consented, bad scope): a person must act.
 */
export class GraphTokenError extends Error {
  override readonly name = 'GraphTokenError';
  readonly httpStatus: number;
  /** OAuth2 `error` (`invalid_client`, `unauthorized_client`, `invalid_scope`…). */
  readonly oauthError: string | null;
  /** The first line of `error_description` (Entra: `AADSTS…`), cut. */
  readonly description: string | null;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;

  constructor(args: {
    httpStatus: number;
    oauthError: string | null;
    description: string | null;
    retryAfterMs: number | null;
  }) {
    const retryable = args.httpStatus === 429 || args.httpStatus >= 500 || args.httpStatus === 0;
    const what = args.oauthError === null ? '' : ` ${showValue(args.oauthError)}`;
    const why = args.description === null ? '' : ` (${showValue(args.description, 200)})`;
    super(
      `the Graph token request failed with HTTP ${args.httpStatus}${what}${why}: ${adviceFor(args.oauthError, retryable)}`,
    );
    this.httpStatus = args.httpStatus;
    this.oauthError = args.oauthError;
    this.description = args.description;
    this.retryable = retryable;
    this.retryAfterMs = args.retryAfterMs;
  }
}

function adviceFor(oauthError: string | null, retryable: boolean): string {
  if (retryable) return 'the identity platform failed for now; retry with backoff';
  switch (oauthError) {
    case 'invalid_client':
      return 'the client secret is wrong or expired, or belongs to another app; create a new secret and store its Value';
    case 'unauthorized_client':
      return 'the app is unknown in this tenant or not consented; an administrator must grant consent';
    case 'invalid_scope':
      return `the scope must be ${GRAPH_SCOPE}`;
    case 'invalid_request':
      return 'check the tenant id and the token URL';
    default:
      return 'check the tenant id, client id and secret of the Graph connection';
  }
}

/** Decodes the token endpoint's answer. Never throws. */
export function decodeTokenResponse(
  status: number,
  headers: HeaderReader,
  body: string | Uint8Array,
  requestedAt: number,
): Result<GraphToken, GraphTokenError> {
  const parsed = parseJsonBody(body, 64 * 1024);
  const json = parsed.ok && isJsonObject(parsed.value) ? parsed.value : {};
  if (status !== 200) {
    const description = own(json, 'error_description');
    return err(
      new GraphTokenError({
        httpStatus: status,
        oauthError: ownText(json, 'error', 64) ?? null,
        description:
          typeof description === 'string' ? (description.split(/\r?\n/)[0] ?? '').slice(0, 300) : null,
        retryAfterMs: parseRetryAfter(headers.get('retry-after'), requestedAt),
      }),
    );
  }
  const accessToken = ownText(json, 'access_token', 64 * 1024);
  const tokenType = own(json, 'token_type');
  if (
    accessToken === undefined ||
    (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer'))
  ) {
    return err(
      new GraphTokenError({
        httpStatus: status,
        oauthError: null,
        description:
          accessToken === undefined ? 'HTTP 200 without an access_token' : 'token_type is not Bearer',
        retryAfterMs: null,
      }),
    );
  }
  // Entra sends a number; some servers send a numeric string.
  const raw = own(json, 'expires_in');
  const seconds =
    typeof raw === 'number' && Number.isFinite(raw) && raw > 0
      ? raw
      : typeof raw === 'string' && /^\d{1,9}$/.test(raw) && Number(raw) > 0
        ? Number(raw)
        : DEFAULT_LIFETIME_S;
  const lifetimeMs = seconds * 1000;
  return ok({
    accessToken,
    expiresAt: requestedAt + lifetimeMs,
    refreshAt: requestedAt + Math.max(lifetimeMs - TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2),
  });
}
