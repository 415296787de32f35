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
import { type ConnectionsSource, UnknownConnectionError } from './connections-source.ts';

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
  const cache = new Map<string, { fingerprint: string; client: GraphClient }>();
  return {
    async client(name) {
      const found = await source.graph(name);
      if (!found.ok) {
        if (found.error instanceof UnknownConnectionError) return undefined;
        throw found.error;
      }
      const fingerprint = JSON.stringify(found.value);
      const cached = cache.get(name);
      if (cached?.fingerprint === fingerprint) return cached.client;
      const client = graphClientFor(found.value, deps);
      cache.set(name, { fingerprint, client });
      return client;
    },
    async names() {
      const all = await source.allGraph();
      if (!all.ok) throw all.error;
      return [...all.value.keys()].sort();
    },
  };
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
