/**
 * Who is calling: Basic authentication as on-premises Exchange offers it, or app-only OAuth as
 * Exchange Online requires it (client-credentials tokens from an Entra-like token endpoint), or
 * nothing at all (`none`, the default, for quick local runs).
 *
 * The 401 answers, token endpoint errors and their JSON are shaped like the real ones so the
 * bridge's EWS client meets the same answers it will meet in production. Token lifetimes run on
 * the simulator's clock, so at a large time scale tokens expire within real seconds and the
 * bridge's token refresh gets exercised.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../functions/core/clock.ts';
import { showValue } from '../functions/core/show.ts';
import { ID_KIND, type IdMinter } from './random.ts';

export const AUTH_MODES = ['none', 'basic', 'oauth'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export function isAuthMode(value: string): value is AuthMode {
  return AUTH_MODES.some((known) => known === value);
}

export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}
export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
}
export interface Credentials {
  readonly basic: readonly BasicCredential[];
  readonly oauth: readonly OAuthClient[];
}

/**
 * The credentials the simulator accepts unless told otherwise. The Basic account is a service
 * account without a mailbox (it must impersonate, like an on-premises account holding the
 * ApplicationImpersonation role); the OAuth client is an app with `full_access_as_app`.
 */
export const DEFAULT_CREDENTIALS: Credentials = {
  basic: [{ username: 'svc-bridge@contoso.test', password: 'simulator-password' }],
  oauth: [{ clientId: '6a1f3e0c-2b7d-4c59-9e8a-5d4b3c2a1f00', clientSecret: 'simulator-client-secret' }],
};

/** The only scope Exchange Online's app-only EWS accepts (ews-protocol.md §4). */
export const EWS_SCOPE = 'https://outlook.office365.com/.default';
/** Entra's usual lifetime for client-credentials tokens, in seconds. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3599;
/** The tenant in the token URL: `/{tenant}/oauth2/v2.0/token`. */
export const DEFAULT_TENANT = 'contoso.test';
/** Exchange Online's resource app id, which its 401 challenges name. */
const EXCHANGE_ONLINE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

export type Identity =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'basic'; readonly username: string }
  | { readonly kind: 'app'; readonly clientId: string };

export type AuthOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: 401; readonly headers: Record<string, string | string[]> };

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface AuthenticatorOptions {
  readonly mode: AuthMode;
  readonly credentials: Credentials;
  readonly clock: Clock;
  readonly ids: IdMinter;
  readonly tenant: string;
  readonly tokenLifetimeSeconds: number;
  readonly host: string;
  /** The one scope the token endpoint accepts. @default EWS_SCOPE (the Graph stand-in passes Graph's) */
  readonly scope?: string;
}

/** What a bearer token is: issued to this client and still valid, or not one. */
export type BearerCheck =
  | { readonly ok: true; readonly clientId: string }
  | { readonly ok: false; readonly problem: 'missing' | 'unknown' | 'expired' };

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  readonly #tokens = new Map<string, { clientId: string; expiresAt: number }>();

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  get mode(): AuthMode {
    return this.#o.mode;
  }

  /** Checks the Authorization header of an EWS request. */
  authenticate(headers: IncomingHttpHeaders): AuthOutcome {
    const authorization = headers.authorization ?? '';
    switch (this.#o.mode) {
      case 'none':
        return { ok: true, identity: { kind: 'anonymous' } };
      case 'basic': {
        const pair = decodeBasic(authorization);
        const known =
          pair &&
          this.#o.credentials.basic.find((c) => c.username === pair.user && c.password === pair.password);
        if (known) return { ok: true, identity: { kind: 'basic', username: known.username } };
        // On-premises IIS offers every scheme it has; a Basic client picks Basic.
        return {
          ok: false,
          status: 401,
          headers: { 'WWW-Authenticate': ['Negotiate', 'NTLM', `Basic realm="${this.#o.host}"`] },
        };
      }
      case 'oauth': {
        const bearer = this.checkBearer(authorization);
        if (!bearer.ok) return this.#bearerChallenge(bearer.problem === 'missing' ? null : bearer.problem);
        return { ok: true, identity: { kind: 'app', clientId: bearer.clientId } };
      }
    }
  }

  /** Reads an `Authorization: Bearer …` header against the tokens this authenticator issued. */
  checkBearer(authorization: string): BearerCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) return { ok: false, problem: 'missing' };
    const token = this.#tokens.get(match[1]);
    if (token === undefined) return { ok: false, problem: 'unknown' };
    if (token.expiresAt <= this.#o.clock.now()) return { ok: false, problem: 'expired' };
    return { ok: true, clientId: token.clientId };
  }

  /**
   * Exchange Online's challenge: `WWW-Authenticate: Bearer …` naming its resource, with
   * `error="invalid_token"` and an `x-ms-diagnostics` reason when a token was sent but refused.
   * The diagnostics text is shaped like Exchange Online's; the numbers are the simulator's own.
   */
  #bearerChallenge(problem: 'unknown' | 'expired' | null): AuthOutcome {
    const challenge =
      `Bearer client_id="${EXCHANGE_ONLINE_APP_ID}", trusted_issuers="00000001-0000-0000-c000-000000000000@*", ` +
      `token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"` +
      (problem === null ? '' : ', error="invalid_token"');
    const headers: Record<string, string> = { 'WWW-Authenticate': challenge };
    if (problem === 'expired') {
      headers['x-ms-diagnostics'] = '2000008;reason="The token has expired.";error_category="invalid_token"';
    } else if (problem === 'unknown') {
      headers['x-ms-diagnostics'] =
        '2000001;reason="The token is not one this server issued.";error_category="invalid_token"';
    }
    return { ok: false, status: 401, headers };
  }

  /**
   * The OAuth2 client-credentials token endpoint (`POST /{tenant}/oauth2/v2.0/token`), answering
   * as Entra ID does: the token JSON, or an error JSON with Entra's error and AADSTS code.
   */
  issueToken(tenant: string, contentType: string, body: string, authorization: string): TokenAnswer {
    if (tenant.toLowerCase() !== this.#o.tenant.toLowerCase()) {
      return entraError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. The simulator's tenant is '${this.#o.tenant}'.`,
      );
    }
    if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
      return entraError(
        400,
        'invalid_request',
        900144,
        `The request body must be application/x-www-form-urlencoded, not ${showValue(contentType || '(none)')}.`,
      );
    }
    const form = new URLSearchParams(body);
    // client_secret_basic (credentials in the Authorization header) is accepted too, as by Entra.
    const basic = decodeBasic(authorization);
    const clientId = form.get('client_id') ?? basic?.user ?? null;
    const clientSecret = form.get('client_secret') ?? basic?.password ?? null;
    const grantType = form.get('grant_type');
    if (grantType === null) {
      return entraError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    }
    if (grantType !== 'client_credentials') {
      return entraError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type ${showValue(grantType)}; the simulator issues app-only tokens (client_credentials).`,
      );
    }
    if (clientId === null) {
      return entraError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    }
    const client = this.#o.credentials.oauth.find((c) => c.clientId === clientId);
    if (client === undefined) {
      // Entra answers an unknown application with unauthorized_client (AADSTS700016), HTTP 400.
      return entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${this.#o.tenant}'.`,
      );
    }
    if (clientSecret !== client.clientSecret) {
      // …and a wrong or missing secret with invalid_client (AADSTS7000215), HTTP 401.
      return entraError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided for app '${clientId}'.`,
      );
    }
    const scope = form.get('scope');
    const accepted = this.#o.scope ?? EWS_SCOPE;
    if (scope !== accepted) {
      return entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${showValue(scope ?? '(none)')} is not valid. Client credential flows must use ${accepted}.`,
      );
    }
    const now = this.#o.clock.now();
    for (const [token, info] of this.#tokens) if (info.expiresAt < now) this.#tokens.delete(token);
    const token = this.#o.ids
      .mint(ID_KIND.token, 48)
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    const lifetime = this.#o.tokenLifetimeSeconds;
    this.#tokens.set(token, { clientId, expiresAt: now + lifetime * 1000 });
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
    };
  }
}

function decodeBasic(authorization: string): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function entraError(status: number, error: string, code: number, description: string): TokenAnswer {
  return {
    status,
    body: { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code] },
  };
}
