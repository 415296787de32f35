/**
 * Which Exchange the bridge talks to, and how it proves who it is: an EWS URL plus OAuth2 client
 * credentials (Exchange Online, app-only with impersonation) or Basic (on-premises, over HTTPS).
 *
 * The configuration arrives as untrusted JSON (a Secrets Manager secret string in AWS, a local file
 * in local runs) and is parsed here into types, field by field, without casts. Every problem found
 * is reported at once, naming the connection and the field, showing the value (never a secret's),
 * and saying what to do. Pure: no I/O, no AWS.
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { DEFAULT_GRAPH_BASE_URL, type GraphConnection } from '../graph/connection.ts';
import { DEFAULT_EXCHANGE_VERSION, EXCHANGE_VERSIONS, type ExchangeVersion } from './request.ts';

export type ExchangeAuth =
  | {
      readonly kind: 'oauth2';
      /** The Entra tenant: its GUID or a verified domain (contoso.onmicrosoft.com). */
      readonly tenantId: string;
      /** The Application (client) ID of the app registration holding `full_access_as_app`. */
      readonly clientId: string;
      readonly clientSecret: string;
      /** @default https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token */
      readonly tokenUrl?: string;
      /** @default https://outlook.office365.com/.default */
      readonly scope?: string;
    }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /**
   * No credentials at all: only for the local EWS simulator, so only for a loopback ewsUrl. Real
   * Exchange always authenticates, and an unauthenticated connection to a remote host is a
   * misconfiguration that could only leak mailbox data to whoever answers.
   */
  | { readonly kind: 'none' };

export interface ExchangeConnection {
  /** EWS (the default when the JSON has no `kind`); Graph connections are `GraphConnection`. */
  readonly kind: 'ews';
  /** The key it is stored under; mailbox records refer to connections by this name. */
  readonly name: string;
  /** The EWS endpoint, e.g. https://outlook.office365.com/EWS/Exchange.asmx. */
  readonly ewsUrl: string;
  readonly auth: ExchangeAuth;
  /**
   * Act as each mailbox through `ExchangeImpersonation` (and `X-AnchorMailbox`). Always true for
   * oauth2 (app-only tokens have no mailbox of their own).
   * @default true
   */
  readonly impersonation: boolean;
  /** @default 'Exchange2013' */
  readonly requestServerVersion: ExchangeVersion;
  /**
   * How long one HTTP exchange (EWS call or token request, body included) may take, measured on
   * the client's clock.
   * @default 30000
   */
  readonly timeoutMs: number;
}

export const EXCHANGE_ONLINE_SCOPE = 'https://outlook.office365.com/.default';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 600_000;

/** Hosts of Exchange Online's EWS endpoint, where Basic authentication was turned off in 2022. */
const EXCHANGE_ONLINE_HOSTS = new Set(['outlook.office365.com', 'outlook.office.com']);

export function defaultTokenUrl(tenantId: string): string {
  return `https://login.microsoftonline.com/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

/** The token endpoint an oauth2 connection uses, its default filled in. */
export function tokenUrlOf(auth: Extract<ExchangeAuth, { kind: 'oauth2' }>): string {
  return auth.tokenUrl ?? defaultTokenUrl(auth.tenantId);
}

export function scopeOf(auth: Extract<ExchangeAuth, { kind: 'oauth2' }>): string {
  return auth.scope ?? EXCHANGE_ONLINE_SCOPE;
}

/** The secret values of a connection, for scrubbing anything that echoes them back. */
export function secretsOf(connection: ExchangeConnection): readonly string[] {
  const { auth } = connection;
  if (auth.kind === 'oauth2') return [auth.clientSecret];
  if (auth.kind === 'basic') {
    return [auth.password, Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')];
  }
  return [];
}

/** Names the credentials of a connection for an error message (no secret values). */
export function credentialHint(connection: ExchangeConnection): string {
  const { auth, name } = connection;
  if (auth.kind === 'oauth2') {
    return `auth.clientId ${showValue(auth.clientId)}, auth.clientSecret and auth.tenantId ${showValue(auth.tenantId)} of connection ${showValue(name)}`;
  }
  if (auth.kind === 'basic') {
    return `auth.username ${showValue(auth.username)} and auth.password of connection ${showValue(name)}`;
  }
  return `the auth of connection ${showValue(name)} (kind "none": no credentials are sent)`;
}

/** 127.0.0.0/8, ::1 and localhost: where the local EWS simulator runs. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

// ---- parsing ----------------------------------------------------------------------------------

export interface ConnectionConfigProblem {
  /** The connection's name, or null for a problem with the document as a whole. */
  readonly connection: string | null;
  /** Path of the field inside the connection (`ewsUrl`, `auth.clientId`), or null. */
  readonly field: string | null;
  /** The offending value as shown to people; null when absent or secret. */
  readonly value: string | null;
  readonly problem: string;
  readonly fix: string;
}

/** The connection configuration cannot be used; `problems` lists everything wrong with it. */
export class InvalidConnectionConfigError extends Error {
  override readonly name = 'InvalidConnectionConfigError';
  /** Where the configuration came from (`secret "…"`, `file …`), when known. */
  readonly origin: string | null;
  readonly problems: readonly ConnectionConfigProblem[];

  constructor(problems: readonly ConnectionConfigProblem[], origin: string | null = null) {
    const where = origin === null ? 'Exchange connection config' : `Exchange connection config in ${origin}`;
    const lines = problems.map(describeProblem);
    const [only] = lines;
    super(
      only !== undefined && lines.length === 1
        ? `${where} is invalid: ${only}`
        : `${where} has ${problems.length} problems:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
    );
    this.origin = origin;
    this.problems = problems;
  }
}

function describeProblem(p: ConnectionConfigProblem): string {
  const where = [
    p.connection === null ? null : `connection ${showValue(p.connection)}`,
    p.field === null ? null : `field ${p.field}`,
  ]
    .filter((part) => part !== null)
    .join(', ');
  const value = p.value === null ? '' : ` ${p.value}`;
  return `${where === '' ? '' : `${where}:`}${value} ${p.problem}; ${p.fix}`.trim();
}

const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
// Control characters make a header or an XML value unusable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of the check
const CONTROL = /[\u0000-\u001f\u007f]/;

const CONNECTION_KEYS = ['kind', 'ewsUrl', 'auth', 'impersonation', 'requestServerVersion', 'timeoutMs'];
const AUTH_KEYS: Record<ExchangeAuth['kind'], readonly string[]> = {
  oauth2: ['kind', 'tenantId', 'clientId', 'clientSecret', 'tokenUrl', 'scope'],
  basic: ['kind', 'username', 'password'],
  none: ['kind'],
};

/** Every configured connection, by kind: a mailbox's source follows from its connection's kind. */
export interface ConnectionSet {
  readonly ews: ReadonlyMap<string, ExchangeConnection>;
  readonly graph: ReadonlyMap<string, GraphConnection>;
}

/**
 * Parses the connection configuration:
 * `{ "<name>": { "ewsUrl", "auth": {…}, "impersonation"?, "requestServerVersion"?, "timeoutMs"? } }`
 * for EWS, `{ "<name>": { "kind": "graph", "auth": {"kind": "oauth2", …}, "graphUrl"?, "timeoutMs"? } }`
 * for Microsoft Graph. Defaults are filled in (token URL, scope, impersonation, version, timeout,
 * Graph URL), so what is returned is exactly what will be used.
 */
export function parseConnectionSet(
  json: unknown,
  options: { origin?: string } = {},
): Result<ConnectionSet, InvalidConnectionConfigError> {
  const problems: ConnectionConfigProblem[] = [];
  const ews = new Map<string, ExchangeConnection>();
  const graph = new Map<string, GraphConnection>();
  if (!isRecord(json)) {
    problems.push({
      connection: null,
      field: null,
      value: describeType(json),
      problem: 'is not a JSON object',
      fix: 'write an object whose keys are connection names, e.g. {"exchange-online": {"ewsUrl": …, "auth": {…}}}',
    });
  } else {
    for (const [name, value] of Object.entries(json)) {
      if (isRecord(value) && value.kind === 'graph') {
        const connection = parseGraphConnection(name, value, problems);
        if (connection !== null) graph.set(name, connection);
      } else {
        const connection = parseConnection(name, value, problems);
        if (connection !== null) ews.set(name, connection);
      }
    }
  }
  if (problems.length > 0) return err(new InvalidConnectionConfigError(problems, options.origin ?? null));
  return ok({ ews, graph });
}

/** The EWS connections of the configuration (Graph connections are checked, then left out). */
export function parseConnections(
  json: unknown,
  options: { origin?: string } = {},
): Result<ReadonlyMap<string, ExchangeConnection>, InvalidConnectionConfigError> {
  const set = parseConnectionSet(json, options);
  return set.ok ? ok(set.value.ews) : set;
}

const GRAPH_CONNECTION_KEYS = ['kind', 'graphUrl', 'auth', 'timeoutMs'];

/**
 * How a connection's parser reports: each problem named by the connection, and first of all a
 * name the mailbox records could not refer to.
 */
function problemsOf(name: string, problems: ConnectionConfigProblem[]) {
  const problem = (field: string | null, value: string | null, what: string, fix: string) => {
    problems.push({ connection: name, field, value, problem: what, fix });
  };
  if (!CONNECTION_NAME.test(name)) {
    problem(
      null,
      null,
      'is not a usable connection name',
      'use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (mailbox records refer to it)',
    );
  }
  return problem;
}

function parseGraphConnection(
  name: string,
  raw: Record<string, unknown>,
  problems: ConnectionConfigProblem[],
): GraphConnection | null {
  const before = problems.length;
  const problem = problemsOf(name, problems);
  reportUnknownKeys(raw, GRAPH_CONNECTION_KEYS, null, problem);
  const graphUrl =
    raw.graphUrl === undefined
      ? new URL(DEFAULT_GRAPH_BASE_URL)
      : parseUrl(raw.graphUrl, 'graphUrl', problem, {
          example: `${DEFAULT_GRAPH_BASE_URL} (the default)`,
        });
  // Graph's scope is fixed (https://graph.microsoft.com/.default): a scope here would be ignored.
  if (isRecord(raw.auth) && raw.auth.scope !== undefined) {
    problem(
      'auth.scope',
      null,
      'is not used by a Graph connection (its scope is always https://graph.microsoft.com/.default)',
      'remove "scope" from auth',
    );
  }
  const auth = parseAuth(isRecord(raw.auth) ? withoutScope(raw.auth) : raw.auth, problem);
  if (auth !== null && auth.kind !== 'oauth2') {
    problem(
      'auth.kind',
      showValue(auth.kind),
      'is not usable with Graph, which takes only app-only OAuth2 tokens',
      'use "oauth2" with the tenant, client id and secret of an app registration holding Mail.Read and Calendars.Read',
    );
  }
  const timeoutMs = parseTimeout(raw.timeoutMs, problem);
  if (graphUrl !== null) {
    if (graphUrl.protocol === 'http:' && !isLoopbackHost(graphUrl.hostname)) {
      problem(
        'graphUrl',
        showValue(safeUrlText(graphUrl.href)),
        'uses plain http, which would send the access token in clear',
        `use https (the default is ${DEFAULT_GRAPH_BASE_URL}); plain http only for a loopback stand-in`,
      );
    }
    if (graphUrl.search !== '') {
      problem('graphUrl', showValue(graphUrl.href), 'has a query string', 'remove the part from "?" on');
    }
  }
  if (problems.length > before || graphUrl === null || auth === null || auth.kind !== 'oauth2') return null;
  return {
    kind: 'graph',
    name,
    graphUrl: graphUrl.href.replace(/\/+$/, ''),
    tenantId: auth.tenantId,
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
    tokenUrl: tokenUrlOf(auth),
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

function withoutScope(auth: Record<string, unknown>): Record<string, unknown> {
  const { scope: _scope, ...rest } = auth;
  return rest;
}

function parseTimeout(timeoutRaw: unknown, problem: Report): number | null {
  if (timeoutRaw === undefined) return DEFAULT_TIMEOUT_MS;
  if (
    typeof timeoutRaw !== 'number' ||
    !Number.isInteger(timeoutRaw) ||
    timeoutRaw < MIN_TIMEOUT_MS ||
    timeoutRaw > MAX_TIMEOUT_MS
  ) {
    problem(
      'timeoutMs',
      describeType(timeoutRaw),
      `is not a whole number of milliseconds from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}`,
      `write a number such as ${DEFAULT_TIMEOUT_MS}, without quotes, or leave it out (default ${DEFAULT_TIMEOUT_MS})`,
    );
    return null;
  }
  return timeoutRaw;
}

function parseConnection(
  name: string,
  raw: unknown,
  problems: ConnectionConfigProblem[],
): ExchangeConnection | null {
  const before = problems.length;
  const problem = problemsOf(name, problems);
  if (!isRecord(raw)) {
    problem(
      null,
      describeType(raw),
      'is not an object',
      'give each connection an object with "ewsUrl" and "auth" (see the README, "Exchange connections")',
    );
    return null;
  }
  reportUnknownKeys(raw, CONNECTION_KEYS, null, problem);
  if (raw.kind !== undefined && raw.kind !== 'ews') {
    problem(
      'kind',
      describeType(raw.kind),
      'is not a kind of connection',
      'use "ews" (the default: leave it out) or "graph" (Microsoft Graph, for Exchange Online)',
    );
  }

  const ewsUrl = parseUrl(raw.ewsUrl, 'ewsUrl', problem, {
    example: 'https://outlook.office365.com/EWS/Exchange.asmx or https://mail.example.com/EWS/Exchange.asmx',
  });
  const auth = parseAuth(raw.auth, problem);

  const impersonationRaw = raw.impersonation;
  let impersonation = true;
  if (impersonationRaw !== undefined) {
    if (typeof impersonationRaw !== 'boolean') {
      problem(
        'impersonation',
        describeType(impersonationRaw),
        'is not true or false',
        'write true (act as each mailbox, the usual setup) or false, without quotes',
      );
    } else {
      impersonation = impersonationRaw;
    }
  }
  if (auth?.kind === 'oauth2' && !impersonation) {
    problem(
      'impersonation',
      'false',
      'cannot be false for oauth2: an app-only token has no mailbox of its own',
      'remove "impersonation" (it defaults to true) or set it to true',
    );
  }

  let requestServerVersion: ExchangeVersion = DEFAULT_EXCHANGE_VERSION;
  const versionRaw = raw.requestServerVersion;
  if (versionRaw !== undefined) {
    const version = EXCHANGE_VERSIONS.find((v) => v === versionRaw);
    if (version === undefined) {
      problem(
        'requestServerVersion',
        describeType(versionRaw),
        'is not an Exchange version EWS knows',
        `use one of ${EXCHANGE_VERSIONS.join(', ')}, or leave it out (default ${DEFAULT_EXCHANGE_VERSION})`,
      );
    } else {
      requestServerVersion = version;
    }
  }

  const timeoutMs = parseTimeout(raw.timeoutMs, problem) ?? DEFAULT_TIMEOUT_MS;

  if (ewsUrl !== null && auth !== null) {
    checkTransport(ewsUrl, auth, problem);
  }
  if (problems.length > before || ewsUrl === null || auth === null) return null;
  return { kind: 'ews', name, ewsUrl: ewsUrl.href, auth, impersonation, requestServerVersion, timeoutMs };
}

type Report = (field: string | null, value: string | null, what: string, fix: string) => void;

/** Credentials must not cross the network in clear, and Exchange Online no longer takes Basic. */
function checkTransport(ewsUrl: URL, auth: ExchangeAuth, problem: Report): void {
  const loopback = isLoopbackHost(ewsUrl.hostname);
  const shown = showValue(safeUrlText(ewsUrl.href));
  if (auth.kind === 'none' && !loopback) {
    problem(
      'auth.kind',
      '"none"',
      `is only allowed for the local EWS simulator on a loopback address, and ewsUrl ${shown} is not one`,
      'use "oauth2" for Exchange Online or "basic" for Exchange on-premises',
    );
  }
  if (auth.kind !== 'none' && ewsUrl.protocol === 'http:' && !loopback) {
    problem(
      'ewsUrl',
      shown,
      `uses plain http, which would send the ${auth.kind === 'basic' ? 'password' : 'access token'} in clear`,
      'use the https:// URL of the EWS endpoint (plain http is accepted only for a loopback simulator)',
    );
  }
  if (auth.kind === 'basic' && EXCHANGE_ONLINE_HOSTS.has(ewsUrl.hostname.toLowerCase())) {
    problem(
      'auth.kind',
      '"basic"',
      'does not work with Exchange Online, which turned Basic authentication off for EWS',
      'use "oauth2" with an app registration that has the full_access_as_app application permission',
    );
  }
}

function parseAuth(raw: unknown, problem: Report): ExchangeAuth | null {
  if (!isRecord(raw)) {
    problem(
      'auth',
      raw === undefined ? null : describeType(raw),
      raw === undefined ? 'is missing' : 'is not an object',
      'add "auth": {"kind": "oauth2", …} for Exchange Online or {"kind": "basic", …} for on-premises',
    );
    return null;
  }
  const kind = raw.kind;
  if (kind !== 'oauth2' && kind !== 'basic' && kind !== 'none') {
    problem(
      'auth.kind',
      kind === undefined ? null : describeType(kind),
      kind === undefined ? 'is missing' : 'is not a known kind of authentication',
      'use "oauth2" (Exchange Online), "basic" (on-premises, over https) or "none" (local simulator only)',
    );
    return null;
  }
  reportUnknownKeys(raw, AUTH_KEYS[kind], 'auth', problem);
  if (kind === 'none') return { kind };

  if (kind === 'basic') {
    const username = requiredString(raw, 'username', problem, {
      secret: false,
      fix: 'set it to the service account, e.g. "svc-ews@example.com" or "EXAMPLE\\\\svc-ews"',
    });
    const hasColon = username?.includes(':') === true;
    if (hasColon) {
      problem(
        'auth.username',
        showValue(username ?? ''),
        'contains ":", which Basic authentication cannot carry',
        "use the account's UPN (user@domain) or DOMAIN\\\\user form",
      );
    }
    const password = requiredString(raw, 'password', problem, {
      secret: true,
      fix: "set it to the service account's password",
    });
    if (username === null || password === null || hasColon) return null;
    return { kind, username, password };
  }

  const tenantId = requiredString(raw, 'tenantId', problem, {
    secret: false,
    fix: 'set it to the Directory (tenant) ID GUID from the Entra admin center, or the tenant domain (contoso.onmicrosoft.com)',
  });
  let tenantOk = tenantId !== null;
  if (tenantId !== null) {
    if (['common', 'organizations', 'consumers'].includes(tenantId.toLowerCase())) {
      problem(
        'auth.tenantId',
        showValue(tenantId),
        'is a multi-tenant alias, which the client credentials grant does not accept',
        'use the Directory (tenant) ID GUID of the tenant whose mailboxes the bridge watches',
      );
      tenantOk = false;
    } else if (!GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
      problem(
        'auth.tenantId',
        showValue(tenantId),
        'is neither a GUID nor a domain name',
        'use the Directory (tenant) ID GUID from the Entra admin center, or the tenant domain (contoso.onmicrosoft.com)',
      );
      tenantOk = false;
    }
  }
  const clientId = requiredString(raw, 'clientId', problem, {
    secret: false,
    fix: 'set it to the Application (client) ID GUID of the app registration',
  });
  let clientOk = clientId !== null;
  if (clientId !== null && !GUID.test(clientId)) {
    problem(
      'auth.clientId',
      showValue(clientId),
      'is not a GUID',
      "use the Application (client) ID from the app registration's overview page (not its name or object ID)",
    );
    clientOk = false;
  }
  const clientSecret = requiredString(raw, 'clientSecret', problem, {
    secret: true,
    fix: "set it to the client secret's Value (not its Secret ID) from Certificates & secrets",
  });

  let tokenUrl: string | undefined;
  let tokenUrlOk = true;
  if (raw.tokenUrl !== undefined) {
    const parsed = parseUrl(raw.tokenUrl, 'auth.tokenUrl', problem, {
      example: 'https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token (the default)',
    });
    tokenUrlOk = parsed !== null;
    if (parsed !== null && parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
      problem(
        'auth.tokenUrl',
        showValue(safeUrlText(parsed.href)),
        'uses plain http, which would send the client secret in clear',
        'use https, or leave tokenUrl out for the Microsoft identity platform default',
      );
      tokenUrlOk = false;
    }
    if (parsed !== null) tokenUrl = parsed.href;
  }

  let scope: string | undefined;
  let scopeOk = true;
  const scopeRaw = raw.scope;
  if (scopeRaw !== undefined) {
    if (typeof scopeRaw !== 'string' || !/^\S+\/\.default$/.test(scopeRaw)) {
      problem(
        'auth.scope',
        describeType(scopeRaw),
        'is not a client-credentials scope (a resource URI ending in "/.default")',
        `use ${EXCHANGE_ONLINE_SCOPE}, or leave scope out (that is the default)`,
      );
      scopeOk = false;
    } else {
      scope = scopeRaw;
    }
  }

  if (
    tenantId === null ||
    clientId === null ||
    clientSecret === null ||
    !tenantOk ||
    !clientOk ||
    !tokenUrlOk ||
    !scopeOk
  ) {
    return null;
  }
  return {
    kind,
    tenantId,
    clientId,
    clientSecret,
    tokenUrl: tokenUrl ?? defaultTokenUrl(tenantId),
    scope: scope ?? EXCHANGE_ONLINE_SCOPE,
  };
}

function requiredString(
  raw: Record<string, unknown>,
  key: string,
  problem: Report,
  options: { secret: boolean; fix: string },
): string | null {
  const value = raw[key];
  const field = `auth.${key}`;
  // A secret's value is never shown, not even when it has the wrong type: it may be the real one.
  const shown = (v: unknown) => (options.secret ? null : describeType(v));
  if (value === undefined) {
    problem(field, null, 'is missing', options.fix);
    return null;
  }
  if (typeof value !== 'string') {
    problem(field, shown(value), `is ${typeOf(value)}, not a string`, options.fix);
    return null;
  }
  if (value.trim() === '') {
    problem(field, null, 'is empty', options.fix);
    return null;
  }
  if (CONTROL.test(value)) {
    problem(
      field,
      options.secret ? null : showValue(value),
      'contains control characters (a stray newline?)',
      options.fix,
    );
    return null;
  }
  return value;
}

function parseUrl(raw: unknown, field: string, problem: Report, options: { example: string }): URL | null {
  if (raw === undefined) {
    problem(field, null, 'is missing', `set it to the endpoint's URL, e.g. ${options.example}`);
    return null;
  }
  if (typeof raw !== 'string') {
    problem(
      field,
      describeType(raw),
      `is ${typeOf(raw)}, not a URL string`,
      `write it as a string, e.g. ${options.example}`,
    );
    return null;
  }
  const shown = showValue(safeUrlText(raw));
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problem(field, shown, 'is not an absolute URL', `write the full URL, e.g. ${options.example}`);
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problem(
      field,
      shown,
      `has scheme ${showValue(url.protocol.replace(':', ''))}`,
      `use https, e.g. ${options.example}`,
    );
    return null;
  }
  if (url.username !== '' || url.password !== '') {
    problem(
      field,
      shown,
      'carries credentials in the URL',
      'remove "user:password@" from the URL and put the credentials in "auth"',
    );
    return null;
  }
  if (url.hash !== '') {
    problem(
      field,
      shown,
      'has a #fragment, which is never sent to the server',
      'remove the part from "#" on',
    );
    return null;
  }
  return url;
}

/** A URL as it may appear in messages: any `user:password@` part is masked. */
export function safeUrlText(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@');
}

function reportUnknownKeys(
  raw: Record<string, unknown>,
  known: readonly string[],
  prefix: string | null,
  problem: Report,
): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    // Only the key is shown: a misspelled secret field ("clientSecrte") holds a secret.
    problem(
      prefix === null ? key : `${prefix}.${key}`,
      null,
      'is not a known field',
      `check the spelling; the fields here are ${known.join(', ')}`,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** A non-secret value as shown in a message: strings quoted and cut, others by their JSON or type. */
function describeType(value: unknown): string {
  if (typeof value === 'string') return showValue(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `(${typeOf(value)})`;
}
