/**
 * The processor's batch, whole: route every record, read the items its events name (enrich.ts,
 * when a reader is wired), put each item into its event, publish 10 per call in order
 * (publish-batch.ts), and answer the records to retry. The FIFO rule is the one
 * `skipGroupOnError` gave: within a mailbox (message group) the first record that fails and every
 * later record of that mailbox are reported failed, so order is never broken; other mailboxes go
 * on. A record that is not a bridge event fails like before (retried, then dead-lettered).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EnrichmentOutcome, ExchangeItem } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import {
  type Enrichment,
  type EnrichmentRequest,
  type EnrichmentSettings,
  enrich,
  type ItemReader,
} from './enrich.ts';
import { hintsOf } from './enrich-hints.ts';
import { type EventTopic, type RoutedEvent, routeOf } from './forward.ts';
import { messageSize, type Outgoing, publishInOrder, TOPIC_MESSAGE_LIMIT } from './publish-batch.ts';

export interface EnrichingProcessorDeps {
  readonly topic: EventTopic;
  readonly logger: LogSink;
  readonly metrics?: MetricsRecorder;
  /** Without it, events are forwarded as they are (no GetItem). */
  readonly enrichment?: {
    readonly reader: ItemReader;
    readonly clock: Pick<Clock, 'sleep'>;
    readonly settings: EnrichmentSettings;
  };
}

/** A record that is a bridge event, with its place in the batch. */
interface Routed {
  readonly index: number;
  readonly record: SQSRecord;
  readonly event: RoutedEvent;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type BatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export function createEnrichingProcessor(deps: EnrichingProcessorDeps): BatchHandler {
  return async (event) => {
    const records = event.Records;
    /** Group → index of its first failed record. */
    const failedFrom = new Map<string, number>();
    const groupOf = (record: SQSRecord, index: number) =>
      record.attributes?.MessageGroupId ?? `record-${index}`;
    const fail = (record: SQSRecord, index: number, error: string) => {
      const group = groupOf(record, index);
      if (!failedFrom.has(group)) failedFrom.set(group, index);
      deps.logger.warn('event not forwarded; it will be retried', { messageId: record.messageId, error });
    };

    const routed: Routed[] = [];
    records.forEach((record, index) => {
      try {
        routed.push({ index, record, event: routeOf(record.body) });
      } catch (error) {
        fail(record, index, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    });

    const enrichments =
      deps.enrichment === undefined ? new Map<number, Enrichment>() : await enrichAll(routed, deps);

    const outgoing: Outgoing[] = [];
    for (const { index, record, event: routedEvent } of routed) {
      const group = groupOf(record, index);
      if ((failedFrom.get(group) ?? Number.POSITIVE_INFINITY) < index) continue;
      const enrichment = enrichments.get(index);
      outgoing.push({
        index,
        event:
          enrichment === undefined
            ? routedEvent
            : withItem(routedEvent, enrichment, deps.enrichment?.settings),
      });
    }

    const stopped = await publishInOrder(outgoing, deps);
    for (const { index, error } of stopped.values()) {
      const record = records[index];
      if (record !== undefined) fail(record, index, error);
    }

    const batchItemFailures = records
      .map((record, index) => ({ record, index }))
      .filter(
        ({ record, index }) => (failedFrom.get(groupOf(record, index)) ?? Number.POSITIVE_INFINITY) <= index,
      )
      .map(({ record }) => ({ itemIdentifier: record.messageId }));
    return { batchItemFailures };
  };
}

async function enrichAll(
  routed: readonly Routed[],
  deps: EnrichingProcessorDeps,
): Promise<Map<number, Enrichment>> {
  const enrichment = deps.enrichment;
  if (enrichment === undefined) return new Map();
  const requests: EnrichmentRequest[] = [];
  const positions: number[] = [];
  for (const { index, record, event } of routed) {
    const hints = hintsOf(record);
    if (hints === undefined) continue;
    const data = dataOf(event.body);
    const eventType = readableEventTypeOf(event.type, data);
    if (eventType === undefined) continue;
    const itemId: unknown = data?.itemId;
    const id = typeof itemId === 'object' && itemId !== null ? Reflect.get(itemId, 'id') : null;
    requests.push({
      mailboxKey: event.mailboxKey,
      mailbox: typeof data?.mailbox === 'string' ? data.mailbox : '',
      eventType,
      itemId: typeof id === 'string' ? id : null,
      hints,
    });
    positions.push(index);
  }
  if (requests.length === 0) return new Map();
  let found: Map<number, Enrichment>;
  try {
    found = await enrich(requests, {
      reader: enrichment.reader,
      clock: enrichment.clock,
      settings: enrichment.settings,
      onCall: ({ outcome, ids }) => {
        deps.metrics?.count('EnrichmentCalls');
        if (outcome === 'retry') deps.metrics?.count('EnrichmentRetries');
        if (outcome === 'ok') deps.metrics?.count('EnrichmentItemsRead', ids);
      },
    });
  } catch (error) {
    // A bug of ours: the events still go out, saying why they have no item.
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    deps.logger.error('enrichment failed; events are published without their items', { error: detail });
    found = new Map(
      requests.map((_, i) => [i, { enrichment: { outcome: 'failed', code: 'EnrichmentError', detail } }]),
    );
  }
  const byRecord = new Map<number, Enrichment>();
  for (const [i, value] of found) {
    const index = positions[i];
    if (index === undefined) continue;
    byRecord.set(index, value);
    if (value.enrichment.outcome === 'failed') {
      deps.metrics?.count('EnrichmentFailed');
      deps.logger.warn('event published without its item', {
        eventId: routed.find((r) => r.index === index)?.event.id,
        code: value.enrichment.code,
        detail: value.enrichment.detail,
      });
    } else if (value.enrichment.outcome === 'notFound') deps.metrics?.count('EnrichmentItemNotFound');
  }
  return byRecord;
}

function dataOf(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const data: unknown =
      typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'data') : undefined;
    return isObject(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The event with `data.item` and `data.enrichment` added, everything else as the receiver wrote
 * it. Kept under the topic's message limit: first the body is cut, then the body dropped, then
 * the item left out (`tooLarge`); never a dead letter.
 */
export function withItem(
  event: RoutedEvent,
  enrichment: Enrichment,
  settings: Pick<EnrichmentSettings, 'maxBodyChars'> | undefined,
  limit = TOPIC_MESSAGE_LIMIT,
): RoutedEvent {
  // routeOf parsed this body already; anything else would be a bug of ours, and the event goes as it came.
  const parsed: unknown = JSON.parse(event.body);
  if (!isObject(parsed)) return event;
  const data = isObject(parsed.data) ? parsed.data : {};
  const build = (item: ExchangeItem | undefined, outcome: EnrichmentOutcome): RoutedEvent => ({
    ...event,
    body: JSON.stringify({
      ...parsed,
      data: { ...data, ...(item === undefined ? {} : { item }), enrichment: outcome },
    }),
  });
  const full = build(enrichment.item, enrichment.enrichment);
  if (messageSize(full) <= limit || enrichment.item === undefined) return full;
  const item = enrichment.item;
  if (item.body !== undefined) {
    // Cut the body by what is over, with room for JSON escaping, then drop it.
    const over = messageSize(full) - limit;
    const keep = Math.max(
      0,
      Math.min(item.body.text.length, settings?.maxBodyChars ?? Infinity) - over * 2 - 1024,
    );
    const cut = build(
      { ...item, body: { ...item.body, text: item.body.text.slice(0, keep), truncated: true } },
      enrichment.enrichment,
    );
    if (messageSize(cut) <= limit) return cut;
    const withoutBody = { ...item };
    delete withoutBody.body;
    const bare = build(withoutBody, enrichment.enrichment);
    if (messageSize(bare) <= limit) return bare;
  }
  return build(undefined, {
    outcome: 'tooLarge',
    code: 'MessageTooLarge',
    detail: `the event with its item is over the topic's ${limit} byte message limit; read the item with GetItem`,
  });
}

/**
 * The EWS event type an event stands for, for what enrichment reads: a pushed event's own, or for
 * a change a catch-up found (resync), the push it stands in for (Create → CreatedEvent, Update →
 * ModifiedEvent; a Delete or read-flag change has nothing to read). Undefined for other events.
 */
function readableEventTypeOf(type: string, data: Record<string, unknown> | undefined): string | undefined {
  if (type.startsWith('exchange-push-bridge.notification.'))
    return typeof data?.eventType === 'string' ? data.eventType : '';
  if (type === 'exchange-push-bridge.resync.Create') return 'CreatedEvent';
  if (type === 'exchange-push-bridge.resync.Update') return 'ModifiedEvent';
  return undefined;
}
