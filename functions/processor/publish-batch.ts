/**
 * Publishing a batch's events to the topic, 10 per call (PublishBatch), in the ingest queue's
 * order, with the processor's FIFO rule kept: within a mailbox (message group) the first event
 * not published stops every later one of that mailbox, which is then retried from the queue in
 * order; other mailboxes go on.
 *
 * SNS says a FIFO batch is published in the order sent and reports each entry; it does not say
 * whether it refuses the entries of a group behind a refused one. So nothing relies on it: after
 * a refusal, the group's later entries are never sent again in this invocation and are reported
 * failed (SQS redelivers them behind the refused one). Should SNS have taken a later entry of the
 * group in the same call anyway, that event has already gone out ahead of the refused one: it is
 * logged as an error (`PublishOrderBroken`) because consumers may then see those two out of order.
 * Entries are checked against the topic's size limit before they are sent, so the refusals left
 * are passing ones (throttling, internal errors).
 */
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import type { EventTopic, RoutedEvent } from './forward.ts';

/** SNS's per-call entry limit. */
export const PUBLISH_BATCH_ENTRIES = 10;
/** SNS's limit for one message, and for a whole PublishBatch call (topic MaximumMessageSize default). */
export const TOPIC_MESSAGE_LIMIT = 256 * 1024;

/** An event ready for the topic, with its place in the batch. */
export interface Outgoing {
  readonly index: number;
  readonly event: RoutedEvent;
}

/** Bytes SNS counts for a message: the body and the attributes (name, type and value). */
export function messageSize(event: RoutedEvent): number {
  const attribute = (name: string, value: string) =>
    Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
  return (
    Buffer.byteLength(event.body) + attribute('type', event.type) + attribute('mailboxKey', event.mailboxKey)
  );
}

/**
 * Publishes `outgoing` (in batch order); answers the indexes of the events that were not
 * published, each with the first failure of its group (so the caller fails them and every later
 * record of their group).
 */
export async function publishInOrder(
  outgoing: readonly Outgoing[],
  deps: { topic: EventTopic; logger: LogSink; metrics?: MetricsRecorder },
): Promise<Map<string, { index: number; error: string }>> {
  const stopped = new Map<string, { index: number; error: string }>();
  const stop = (o: Outgoing, error: string) => {
    if (!stopped.has(o.event.mailboxKey)) stopped.set(o.event.mailboxKey, { index: o.index, error });
  };
  const { topic } = deps;
  if (topic.publishBatch === undefined) {
    for (const o of outgoing) {
      if (stopped.has(o.event.mailboxKey)) continue;
      try {
        await topic.publish(o.event);
      } catch (error) {
        stop(o, describe(error));
      }
    }
    return stopped;
  }
  let next = 0;
  while (next < outgoing.length) {
    const chunk: Outgoing[] = [];
    let bytes = 0;
    for (; next < outgoing.length && chunk.length < PUBLISH_BATCH_ENTRIES; next++) {
      const o = outgoing[next];
      if (o === undefined || stopped.has(o.event.mailboxKey)) continue;
      const size = messageSize(o.event);
      if (chunk.length > 0 && bytes + size > TOPIC_MESSAGE_LIMIT) break;
      chunk.push(o);
      bytes += size;
    }
    if (chunk.length === 0) continue;
    let results: Awaited<ReturnType<NonNullable<EventTopic['publishBatch']>>>;
    try {
      results = await topic.publishBatch(chunk.map((o) => o.event));
    } catch (error) {
      for (const o of chunk) stop(o, describe(error));
      continue;
    }
    chunk.forEach((o, i) => {
      const result = results[i] ?? {
        ok: false,
        code: 'NoResult',
        message: 'PublishBatch answered fewer entries',
      };
      const earlier = stopped.get(o.event.mailboxKey);
      if (result.ok) {
        if (earlier !== undefined) {
          deps.metrics?.count('PublishOrderBroken');
          deps.logger.error(
            'the topic took an event after refusing an earlier one of its mailbox: consumers may see these two out of order',
            {
              mailboxKey: o.event.mailboxKey,
              eventId: o.event.id,
              refused: earlier.error,
            },
          );
        }
        return;
      }
      stop(o, `${result.code}: ${result.message}`);
    });
  }
  return stopped;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
