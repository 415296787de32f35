/**
 * The Authorization header of a connection's requests: none, Basic, or an OAuth2 client
 * credentials token from the connection's token endpoint, cached and refreshed.
 */
import type { Clock } from '../../core/clock.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { showValue } from '../../core/show.ts';
import {
  type ExchangeAuth,
  type ExchangeConnection,
  safeUrlText,
  scopeOf,
  tokenUrlOf,
} from '../../ews/connection.ts';
import { type Failure, type HttpExchange, parseRetryAfter, USER_AGENT } from './transport.ts';

/** Token responses are a few KiB; anything bigger is not one. */
const TOKEN_RESPONSE_MAX_BYTES = 64 * 1024;
/** Refresh this long before a token expires (at most half its lifetime). */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Lifetime assumed when a token response has no usable expires_in. */
const DEFAULT_TOKEN_LIFETIME_S = 300;

export interface Credentials {
  /** The Authorization header value, or null when the connection sends none. */
  authorization(): Promise<Result<string | null, Failure>>;
  /** Whether a refused credential can be replaced by asking again (OAuth2). */
  readonly canRefresh: boolean;
  /** Drops the cached credential, if it is still this one. */
  invalidate(authorization: string): void;
}

export function createCredentials(
  connection: ExchangeConnection,
  clock: Clock,
  exchange: HttpExchange,
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
  exchange: HttpExchange,
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
