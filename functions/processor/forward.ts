/**
 * The processor's one job per message: take a bridge event from the ingest queue and hand it to
 * the events topic, where every consumer queue subscribed to it (with its own filter policy)
 * receives it, in order per mailbox and de-duplicated by event id.
 */
import { showValue } from '../core/show.ts';
import { parseMailboxKey } from '../domain/mailbox-key.ts';

/** What the topic needs to route one event. */
export interface RoutedEvent {
  readonly id: string;
  readonly type: string;
  readonly mailboxKey: string;
  /** The event exactly as received: consumers get the bytes the receiver produced. */
  readonly body: string;
}

export interface EventTopic {
  /** Publishes durably, or throws. */
  publish(event: RoutedEvent): Promise<void>;
  /**
   * Publishes up to 10 events in one call, in order (processor/publish-batch.ts); answers, per
   * event, whether it was taken. Throws when the call itself failed (nothing is known taken).
   */
  publishBatch?(events: readonly RoutedEvent[]): Promise<readonly PublishEntryResult[]>;
}

/** One entry of a batch publish: taken, or refused with the topic's code. */
export type PublishEntryResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** A message on the ingest queue that is not a bridge event: a bug, never retried into success. */
export class UnroutableEventError extends Error {
  override readonly name = 'UnroutableEventError';
  constructor(detail: string, body: string) {
    super(
      `ingest message is not a bridge event (${detail}): ${showValue(body, 120)}; it goes to the dead-letter queue after its retries`,
    );
  }
}

const SOURCE = /^\/exchange-push-bridge\/mailboxes\/([A-Za-z0-9_-]{22})$/;

export function routeOf(body: string): RoutedEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UnroutableEventError('not JSON', body);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new UnroutableEventError('not an object', body);
  const field = (name: string): unknown => Reflect.get(parsed, name);
  const id = field('id');
  const type = field('type');
  const source = field('source');
  if (field('specversion') !== '1.0') throw new UnroutableEventError('specversion is not 1.0', body);
  if (typeof id !== 'string' || id === '') throw new UnroutableEventError('no id', body);
  if (typeof type !== 'string' || !type.startsWith('exchange-push-bridge.'))
    throw new UnroutableEventError('not a bridge event type', body);
  const mailboxKey = typeof source === 'string' ? parseMailboxKey(SOURCE.exec(source)?.[1] ?? '') : undefined;
  if (mailboxKey === undefined) throw new UnroutableEventError('source names no mailbox', body);
  return { id, type, mailboxKey, body };
}

export async function forward(body: string, topic: EventTopic): Promise<void> {
  await topic.publish(routeOf(body));
}
