/** Reading the enrichment hints the receiver put on an ingest message (domain/enrichment.ts). */
import type { SQSRecord } from 'aws-lambda';
import { HINT_ATTRIBUTES, isEnrichMode, isFieldUri } from '../domain/enrichment.ts';
import { isGraphItemKind } from '../graph/items.ts';
import type { EnrichmentHints } from './enrich.ts';

export function hintsOf(record: Pick<SQSRecord, 'messageAttributes'>): EnrichmentHints | undefined {
  const value = (name: string) => record.messageAttributes?.[name]?.stringValue;
  const connection = value(HINT_ATTRIBUTES.connection);
  if (connection === undefined || connection === '') return undefined;
  const mode = value(HINT_ATTRIBUTES.mode);
  const fields = (value(HINT_ATTRIBUTES.extraFields) ?? '').split(',').filter(isFieldUri);
  const graphItem = value(HINT_ATTRIBUTES.graphItem);
  return {
    connection,
    ...(isEnrichMode(mode) ? { mode } : {}),
    ...(fields.length > 0 ? { extraFields: fields } : {}),
    ...(isGraphItemKind(graphItem) ? { graphItem } : {}),
  };
}
