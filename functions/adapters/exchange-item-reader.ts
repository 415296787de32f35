/**
 * GetItem for enrichment (processor/enrich.ts) through the EWS client of the mailbox's
 * connection. Everything that can go wrong becomes a ReadFailure saying whether waiting helps
 * and how long Exchange asked to wait; nothing throws, so a broken connection or secret never
 * stops events: they go out without the item and say why.
 */
import { EwsResponseError } from '../ews/errors.ts';
import type { DetailRequest } from '../ews/item-details.ts';
import type { ItemAnswer, ItemReader, ReadAnswer, ReadFailure } from '../processor/enrich.ts';
import { type EwsCallError, retryAfterMs } from './ews/errors.ts';
import type { ExchangeClients } from './exchange-clients.ts';

/** Response codes that mean the item is no longer there to read. */
const GONE = new Set([
  'ErrorItemNotFound',
  'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
  'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange',
]);

export function failureOf(error: EwsCallError): ReadFailure {
  const code = error instanceof EwsResponseError ? String(error.responseCode) : error.name;
  return {
    code,
    detail: error.message,
    notFound: GONE.has(code) || (error instanceof EwsResponseError && error.category === 'NotFound'),
    retryable: error.retryable,
    backOffMs: retryAfterMs(error),
  };
}

export function exchangeItemReader(clients: ExchangeClients, options: { maxBodyChars: number }): ItemReader {
  return {
    async read(connection, mailbox, request: DetailRequest): Promise<ReadAnswer> {
      let client: Awaited<ReturnType<ExchangeClients['client']>>;
      try {
        client = await clients.client(connection);
      } catch (error) {
        // The connections secret could not be read or is invalid: worth a retry later.
        const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return {
          ok: false,
          error: {
            code: 'ConnectionsUnavailable',
            detail,
            notFound: false,
            retryable: true,
            backOffMs: null,
          },
        };
      }
      if (client === undefined) {
        return {
          ok: false,
          error: {
            code: 'UnknownConnection',
            detail: `connection ${JSON.stringify(connection)} is not in the connections secret`,
            notFound: false,
            retryable: false,
            backOffMs: null,
          },
        };
      }
      const result = await client.getItemDetails(mailbox, request, {
        maxBodyChars: options.maxBodyChars,
        ...(request.extraFields === undefined ? {} : { extraFields: request.extraFields }),
      });
      if (!result.ok) return { ok: false, error: failureOf(result.error) };
      return {
        ok: true,
        value: result.value.map(
          (one): ItemAnswer => (one.ok ? one : { ok: false, error: failureOf(one.error) }),
        ),
      };
    },
  };
}
