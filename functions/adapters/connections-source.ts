/**
 * Where the Exchange connections come from: one Secrets Manager secret in AWS (cached, so a Lambda
 * does not call Secrets Manager per request), a local JSON file in local runs, or an object handed
 * over directly (tests, the local runner). All three parse with `parseConnections`.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IamActions } from '../core/access.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import {
  type ConnectionSet,
  type ExchangeConnection,
  InvalidConnectionConfigError,
  parseConnectionSet,
} from '../ews/connection.ts';
import type { GraphConnection } from '../graph/connection.ts';

export interface ConnectionsSource {
  /** Where the connections come from, for messages: `secret "…"`, `file /…`. */
  readonly origin: string;
  /** Every configured EWS connection, by name. */
  all(): Promise<Result<ReadonlyMap<string, ExchangeConnection>, ConnectionsError>>;
  /** One EWS connection by name (a Graph connection's name is answered UnknownConnectionError). */
  get(name: string): Promise<Result<ExchangeConnection, ConnectionsError | UnknownConnectionError>>;
  /** Every configured Graph connection, by name. */
  allGraph(): Promise<Result<ReadonlyMap<string, GraphConnection>, ConnectionsError>>;
  /** One Graph connection by name (an EWS connection's name is answered UnknownConnectionError). */
  graph(name: string): Promise<Result<GraphConnection, ConnectionsError | UnknownConnectionError>>;
  /** One connection of either kind: what `mailboxes add` picks the mailbox's source by. */
  any(
    name: string,
  ): Promise<Result<ExchangeConnection | GraphConnection, ConnectionsError | UnknownConnectionError>>;
  /** Forgets the cached copy, so the next call reads again (e.g. after rotating credentials). */
  refresh(): void;
}

/** The configuration could not be read at all (missing secret, no permission, file not found…). */
export class ConnectionsUnavailableError extends Error {
  override readonly name = 'ConnectionsUnavailableError';
  readonly origin: string;
  /** The AWS error name (ResourceNotFoundException, AccessDeniedException…) or system code (ENOENT). */
  readonly code: string | null;
  /** Whether reading again later can succeed without anyone changing anything. */
  readonly retryable: boolean;

  constructor(args: {
    origin: string;
    code: string | null;
    detail: string;
    advice: string;
    retryable: boolean;
  }) {
    super(
      `cannot read the Exchange connections from ${args.origin}: ${args.code ?? 'error'} (${showValue(args.detail, 200)}); ${args.advice}`,
    );
    this.origin = args.origin;
    this.code = args.code;
    this.retryable = args.retryable;
  }
}

/** A mailbox refers to a connection name the configuration does not have. */
export class UnknownConnectionError extends Error {
  override readonly name = 'UnknownConnectionError';
  readonly connection: string;
  readonly known: readonly string[];
  readonly origin: string;

  constructor(
    connection: string,
    known: readonly string[],
    origin: string,
    kind: 'ews' | 'graph' | null = null,
  ) {
    const names =
      known.length === 0 ? 'none are configured' : `known: ${known.map((n) => showValue(n)).join(', ')}`;
    const what =
      kind === null ? 'Exchange connection' : kind === 'ews' ? 'EWS connection' : 'Graph connection';
    super(
      `${what} ${showValue(connection)} is not in ${origin} (${names}); add it there or use one of the configured names`,
    );
    this.connection = connection;
    this.known = known;
    this.origin = origin;
  }
}

export type ConnectionsError = InvalidConnectionConfigError | ConnectionsUnavailableError;

/** How long a Lambda container keeps the secret before reading it again. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

/** IAM actions on the connections secret read by `secretsManagerConnections`. */
export const CONNECTIONS_SECRET_ACTIONS = ['secretsmanager:GetSecretValue'] as const satisfies IamActions;

/**
 * Connections from a Secrets Manager secret whose SecretString is the connections JSON. Read at
 * most once per `ttlMs` (concurrent callers share one read); read failures are not cached.
 * Not Powertools Parameters' `getSecret` with `maxAge`, which keeps the other guarantees but not
 * these: it shares no read among concurrent callers (a cold batch calls GetSecretValue once per
 * record), it expires on `Date.now()` instead of the injected clock, and it has no `refresh()`
 * that keeps a read already under way from being cached (docs/development.md, "Secrets").
 */
export function secretsManagerConnections(options: {
  /** Name or ARN of the secret. */
  readonly secretId: string;
  /** @default a client for the Lambda's own region and credentials */
  readonly client?: SecretsManagerClient;
  /** @default DEFAULT_SECRET_TTL_MS (5 minutes) */
  readonly ttlMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}): ConnectionsSource {
  const origin = `secret ${showValue(options.secretId, 200)}`;
  let client = options.client;
  return cachedSource(
    origin,
    options.ttlMs ?? DEFAULT_SECRET_TTL_MS,
    options.clock ?? systemClock,
    async () => {
      client ??= new SecretsManagerClient({});
      try {
        const output = await client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
        if (output.SecretString === undefined) {
          return ok({
            noText: output.SecretBinary === undefined ? 'has no value' : 'holds binary data, not text',
          });
        }
        return ok({ text: output.SecretString });
      } catch (error) {
        return err(secretsManagerError(origin, error));
      }
    },
  );
}

/**
 * Connections from a JSON file, for local runs. Read again on every call unless `ttlMs` says
 * otherwise, so edits apply without a restart.
 */
export function fileConnections(
  path: string,
  options: { ttlMs?: number; clock?: Clock } = {},
): ConnectionsSource {
  const origin = `file ${path}`;
  return cachedSource(origin, options.ttlMs ?? 0, options.clock ?? systemClock, async () => {
    try {
      return ok({ text: await readFile(path, 'utf8') });
    } catch (error) {
      const code = errorCode(error);
      return err(
        new ConnectionsUnavailableError({
          origin,
          code,
          detail: code === 'ENOENT' ? 'no such file' : errorMessage(error),
          advice:
            code === 'ENOENT'
              ? 'create it (see the README, "Exchange connections") or point the local run at the right path'
              : 'check that the file is readable',
          retryable: false,
        }),
      );
    }
  });
}

/** Connections from an object already in memory (tests, the local runner). Parsed once. */
export function objectConnections(
  json: unknown,
  origin = 'the in-memory connection config',
): ConnectionsSource {
  const parsed = parseConnectionSet(json, { origin });
  return {
    origin,
    all: async () => (parsed.ok ? ok(parsed.value.ews) : parsed),
    allGraph: async () => (parsed.ok ? ok(parsed.value.graph) : parsed),
    get: async (name) => pick(parsed, 'ews', name, origin),
    graph: async (name) => pick(parsed, 'graph', name, origin),
    any: async (name) => pickAny(parsed, name, origin),
    refresh: () => {},
  };
}

// ---- internals --------------------------------------------------------------------------------

type Loaded = { readonly text: string } | { readonly noText: string };
type Connections = Result<ConnectionSet, ConnectionsError>;

function cachedSource(
  origin: string,
  ttlMs: number,
  clock: Clock,
  load: () => Promise<Result<Loaded, ConnectionsUnavailableError>>,
): ConnectionsSource {
  // A configuration that was read but is invalid is cached like a valid one: it will not change
  // until someone edits it, and re-reading it on every request would only add load.
  let cached: { readonly result: Connections; readonly until: number } | null = null;
  let inFlight: Promise<Connections> | null = null;
  let generation = 0;

  const read = async (): Promise<Connections> => {
    const started = generation;
    const loaded = await load();
    if (!loaded.ok) return loaded;
    const result =
      'text' in loaded.value ? parseText(loaded.value.text, origin) : noText(loaded.value.noText, origin);
    if (started === generation) cached = { result, until: clock.now() + ttlMs };
    return result;
  };

  const all = (): Promise<Connections> => {
    if (cached !== null && clock.now() < cached.until) return Promise.resolve(cached.result);
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  return {
    origin,
    all: async () => {
      const set = await all();
      return set.ok ? ok(set.value.ews) : set;
    },
    allGraph: async () => {
      const set = await all();
      return set.ok ? ok(set.value.graph) : set;
    },
    get: async (name) => pick(await all(), 'ews', name, origin),
    graph: async (name) => pick(await all(), 'graph', name, origin),
    any: async (name) => pickAny(await all(), name, origin),
    refresh() {
      generation++;
      cached = null;
      inFlight = null;
    },
  };
}

function pick<K extends 'ews' | 'graph'>(
  connections: Connections,
  kind: K,
  name: string,
  origin: string,
): Result<
  ConnectionSet[K] extends ReadonlyMap<string, infer C> ? C : never,
  ConnectionsError | UnknownConnectionError
>;
function pick(
  connections: Connections,
  kind: 'ews' | 'graph',
  name: string,
  origin: string,
): Result<ExchangeConnection | GraphConnection, ConnectionsError | UnknownConnectionError> {
  if (!connections.ok) return connections;
  const map: ReadonlyMap<string, ExchangeConnection | GraphConnection> = connections.value[kind];
  const connection = map.get(name);
  return connection === undefined
    ? err(new UnknownConnectionError(name, [...map.keys()], origin, kind))
    : ok(connection);
}

function pickAny(
  connections: Connections,
  name: string,
  origin: string,
): Result<ExchangeConnection | GraphConnection, ConnectionsError | UnknownConnectionError> {
  if (!connections.ok) return connections;
  const connection = connections.value.ews.get(name) ?? connections.value.graph.get(name);
  return connection === undefined
    ? err(
        new UnknownConnectionError(
          name,
          [...connections.value.ews.keys(), ...connections.value.graph.keys()],
          origin,
        ),
      )
    : ok(connection);
}

/**
 * JSON.parse's own message quotes the text around the error, which here is full of secrets: only
 * the position is kept.
 */
function parseText(text: string, origin: string): Result<ConnectionSet, InvalidConnectionConfigError> {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const message = errorMessage(error);
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const where = lineColumn
      ? ` at line ${lineColumn[1]}, column ${lineColumn[2]}`
      : position
        ? ` at character ${position[1]}`
        : text.trim() === ''
          ? ' (it is empty)'
          : '';
    return err(
      new InvalidConnectionConfigError(
        [
          {
            connection: null,
            field: null,
            value: null,
            problem: `is not valid JSON${where}`,
            fix: 'fix the syntax (a JSON linter shows where; no comments or trailing commas)',
          },
        ],
        origin,
      ),
    );
  }
  return parseConnectionSet(json, { origin });
}

function noText(what: string, origin: string): Connections {
  return err(
    new InvalidConnectionConfigError(
      [
        {
          connection: null,
          field: null,
          value: null,
          problem: what,
          fix: 'store the connections JSON as the secret string (SecretString)',
        },
      ],
      origin,
    ),
  );
}

const SECRETS_MANAGER_ADVICE: Record<string, { advice: string; retryable: boolean }> = {
  ResourceNotFoundException: {
    advice:
      'create the secret (see the README, "Exchange connections") or give the functions the right secret id',
    retryable: false,
  },
  AccessDeniedException: {
    advice: "grant secretsmanager:GetSecretValue on the secret to the function's role",
    retryable: false,
  },
  DecryptionFailure: {
    advice: "grant kms:Decrypt on the secret's KMS key to the function's role",
    retryable: false,
  },
  InvalidRequestException: {
    advice: 'the secret may be scheduled for deletion; restore it (aws secretsmanager restore-secret)',
    retryable: false,
  },
  InvalidParameterException: { advice: 'check the secret id', retryable: false },
};

function secretsManagerError(origin: string, error: unknown): ConnectionsUnavailableError {
  const name = error instanceof Error ? error.name : null;
  const known = name === null ? undefined : SECRETS_MANAGER_ADVICE[name];
  return new ConnectionsUnavailableError({
    origin,
    code: name === 'Error' || name === 'TypeError' ? (errorCode(error) ?? name) : name,
    detail: errorMessage(error),
    advice: known?.advice ?? 'Secrets Manager or the network failed; retry with backoff',
    retryable: known?.retryable ?? true,
  });
}

function errorCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code: unknown = Reflect.get(error, 'code');
  if (typeof code === 'string') return code;
  return errorCode(Reflect.get(error, 'cause'));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One client per connection of one kind (EWS or Graph): what exchange-clients.ts and graph-clients.ts hand out. */
export interface ClientsByConnection<Client> {
  client(name: string): Promise<Client | undefined>;
  names(): Promise<readonly string[]>;
}

/**
 * Clients built from connections, one per name, kept while the connection's configuration is the
 * same and rebuilt when it changes (a rotated secret). An unknown name is `undefined`; an
 * unreadable or invalid configuration is thrown, because nothing can be done without it.
 */
export function clientsByConnection<Config, Client>(
  lookup: {
    readonly get: (name: string) => Promise<Result<Config, ConnectionsError | UnknownConnectionError>>;
    readonly all: () => Promise<Result<ReadonlyMap<string, Config>, ConnectionsError>>;
  },
  build: (config: Config) => Client,
): ClientsByConnection<Client> {
  const cache = new Map<string, { fingerprint: string; client: Client }>();
  return {
    async client(name) {
      const found = await lookup.get(name);
      if (!found.ok) {
        if (found.error instanceof UnknownConnectionError) return undefined;
        throw found.error;
      }
      const fingerprint = JSON.stringify(found.value);
      const cached = cache.get(name);
      if (cached?.fingerprint === fingerprint) return cached.client;
      const client = build(found.value);
      cache.set(name, { fingerprint, client });
      return client;
    },
    async names() {
      const all = await lookup.all();
      if (!all.ok) throw all.error;
      return [...all.value.keys()].sort();
    },
  };
}
