/**
 * Item reads for enrichment (processor/enrich.ts) through the Graph client of the mailbox's
 * connection: one `GET /users/{mailbox}/messages/{id}` (or `/events/{id}`) per item, the client
 * keeping them within Outlook's 4 concurrent requests per mailbox and waiting out short
 * Retry-Afters. Everything that can go wrong becomes a ReadFailure saying whether waiting helps
 * and how long Graph asked to wait; nothing throws, so events go out without the item and say why.
 */
import { type Clock, systemClock } from '../core/clock.ts';
import { GraphResponseError } from '../graph/errors.ts';
import type { GraphCallError } from '../graph/graph-client.ts';
import { buildGetItem, decodeGetItem, type GraphItemKind, type ItemReadError } from '../graph/items.ts';
import type {
  ItemAnswer,
  ItemReader,
  ItemReadRequest,
  ReadAnswer,
  ReadFailure,
} from '../processor/enrich.ts';
import type { GraphClients } from './graph-clients.ts';

export function graphFailureOf(error: GraphCallError | ItemReadError): ReadFailure {
  if (error instanceof GraphResponseError) {
    return {
      code: error.code ?? `HTTP${error.httpStatus}`,
      detail: error.message,
      notFound: error.category === 'NotFound',
      retryable: error.retryable,
      backOffMs: error.retryAfterMs,
    };
  }
  return {
    code: error.name,
    detail: error.message,
    notFound: false,
    retryable: 'retryable' in error ? error.retryable !== false : false,
    backOffMs: null,
  };
}

function failed(code: string, detail: string, retryable: boolean): ReadAnswer {
  return { ok: false, error: { code, detail, notFound: false, retryable, backOffMs: null } };
}

export function graphItemReader(
  clients: GraphClients,
  options: { readonly maxBodyChars: number; readonly clock?: Pick<Clock, 'now'> },
): ItemReader {
  const clock = options.clock ?? systemClock;
  return {
    async read(connection, mailbox, request: ItemReadRequest): Promise<ReadAnswer> {
      const kind: GraphItemKind = request.graphItem ?? 'message';
      let client: Awaited<ReturnType<GraphClients['client']>>;
      try {
        client = await clients.client(connection);
      } catch (error) {
        // The connections secret could not be read or is invalid: worth a retry later.
        const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return failed('ConnectionsUnavailable', detail, true);
      }
      if (client === undefined) {
        return failed(
          'UnknownConnection',
          `Graph connection ${JSON.stringify(connection)} is not in the connections secret`,
          false,
        );
      }
      const graph = client;
      // In parallel: the client holds them to 4 in flight per mailbox (Outlook's limit).
      const answers = await Promise.all(
        request.itemIds.map(async (itemId): Promise<ItemAnswer> => {
          let built: ReturnType<typeof buildGetItem>;
          try {
            built = buildGetItem({ userId: mailbox, kind, itemId, body: request.body });
          } catch (error) {
            const detail = error instanceof Error ? error.message : String(error);
            return {
              ok: false,
              error: { code: 'InvalidItemId', detail, notFound: false, retryable: false, backOffMs: null },
            };
          }
          const reply = await graph.send(built);
          if (!reply.ok) return { ok: false, error: graphFailureOf(reply.error) };
          const item = decodeGetItem(reply.value, clock.now(), kind, options);
          return item.ok ? item : { ok: false, error: graphFailureOf(item.error) };
        }),
      );
      return { ok: true, value: answers };
    },
  };
}

/**
 * The processor's one reader: Graph mailboxes' events (their ingest messages carry the item kind,
 * `bridge.graphItem`) are read through Graph, every other through EWS GetItem.
 */
export function sourceItemReader(readers: {
  readonly ews: ItemReader;
  readonly graph?: ItemReader;
}): ItemReader {
  return {
    read(connection, mailbox, request) {
      if (request.graphItem === undefined) return readers.ews.read(connection, mailbox, request);
      if (readers.graph === undefined)
        return Promise.resolve(
          failed('GraphNotWired', 'this host reads no items through Graph (no Graph clients wired)', false),
        );
      return readers.graph.read(connection, mailbox, request);
    },
  };
}
