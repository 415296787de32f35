/**
 * One Graph client per configured Graph connection, shared by every call in a container: each
 * client keeps its app-only token and its limiter (at most 4 requests in flight per mailbox, the
 * Outlook limit; 429/503 Retry-After waited out within a bound, longer ones handed back typed).
 * Rebuilt when the connection's configuration changes (a rotated secret). Unknown names (or an
 * EWS connection's) are answered `undefined`; an unreadable or invalid configuration is thrown.
 *
 * The limiter is per container: a mailbox's Graph calls must come from one container at a time
 * (the renewer handles a mailbox's jobs one at a time) for the limit to hold across Lambdas.
 */
import type { Clock } from '../core/clock.ts';
import { type GraphConnection, graphCredentialsOf } from '../graph/connection.ts';
import { createGraphClient, type GraphClient } from '../graph/graph-client.ts';
import { type ConnectionsSource, clientsByConnection } from './connections-source.ts';

export interface GraphClients {
  client(name: string): Promise<GraphClient | undefined>;
  /** The Graph connections' names (mailbox management picks a mailbox's source by them). */
  names(): Promise<readonly string[]>;
}

export interface GraphClientDeps {
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  /** Longest Retry-After slept on in-process. @default 30_000 (graph-client.ts) */
  readonly maxRetryWaitMs?: number;
}

export function graphClients(source: ConnectionsSource, deps: GraphClientDeps = {}): GraphClients {
  return clientsByConnection(
    { get: (name) => source.graph(name), all: () => source.allGraph() },
    (connection) => graphClientFor(connection, deps),
  );
}

export function graphClientFor(connection: GraphConnection, deps: GraphClientDeps = {}): GraphClient {
  return createGraphClient({
    credentials: graphCredentialsOf(connection),
    baseUrl: connection.graphUrl,
    timeoutMs: connection.timeoutMs,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.maxRetryWaitMs === undefined ? {} : { maxRetryWaitMs: deps.maxRetryWaitMs }),
  });
}
