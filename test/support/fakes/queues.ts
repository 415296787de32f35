/**
 * The queues in memory: the ingest FIFO queue (EventPublisher), the renewals queue and the events
 * topic. They behave as SQS and SNS FIFO do where the code relies on it: order per message group
 * (mailbox), de-duplication by id within SQS's five-minute window, per-message delays. Kept honest
 * by test/contract/queues.contract.ts.
 */
import type { BridgeEvent } from '../../../events/bridge-event.ts';
import type { Clock } from '../../../functions/core/clock.ts';
import type { EventPublisher } from '../../../functions/domain/events.ts';
import type { MailboxKey } from '../../../functions/domain/mailbox-key.ts';
import type { RenewalJob, RenewalQueue } from '../../../functions/domain/renewal-job.ts';
import type { EventTopic, PublishEntryResult, RoutedEvent } from '../../../functions/processor/forward.ts';
import { Failures } from './failures.ts';

/** SQS FIFO's de-duplication interval. */
export const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

/** A FIFO message as a consumer receives it. */
export interface FifoMessage<T> {
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: T;
  /** String message attributes (the enrichment hints on ingest messages); absent when none. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** FIFO de-duplication: an id seen within the window (per message group) is dropped. */
class Deduplicator {
  readonly #seen = new Map<string, number>();
  readonly #clock: Pick<Clock, 'now'>;
  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock;
  }
  accept(groupId: string, id: string): boolean {
    const key = `${groupId}\u0000${id}`;
    const now = this.#clock.now();
    const seenAt = this.#seen.get(key);
    if (seenAt !== undefined && now - seenAt < DEDUPLICATION_WINDOW_MS) return false;
    this.#seen.set(key, now);
    return true;
  }
}

export class FakeEventPublisher implements EventPublisher {
  readonly failures = new Failures<'publish'>();
  readonly #messages: FifoMessage<BridgeEvent>[] = [];
  readonly #dedup: Deduplicator;

  constructor(clock: Pick<Clock, 'now'> = { now: () => 0 }) {
    this.#dedup = new Deduplicator(clock);
  }

  async publish(
    mailboxKey: MailboxKey,
    events: readonly BridgeEvent[],
    attributes?: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.failures.check('publish');
    for (const event of events) {
      if (this.#dedup.accept(mailboxKey, event.id))
        this.#messages.push({
          groupId: mailboxKey,
          deduplicationId: event.id,
          body: structuredClone(event),
          ...(attributes === undefined ? {} : { attributes: { ...attributes } }),
        });
    }
  }

  /** Every message accepted, in order (a consumer's view of the queue). */
  messages(): readonly FifoMessage<BridgeEvent>[] {
    return this.#messages;
  }

  /** The events accepted, in order, optionally of one mailbox. */
  events(mailboxKey?: MailboxKey): BridgeEvent[] {
    return this.#messages
      .filter((m) => mailboxKey === undefined || m.groupId === mailboxKey)
      .map((m) => m.body);
  }

  /** The event types accepted, in order, short: `notification.CreatedEvent`, `subscription.renewed`. */
  types(mailboxKey?: MailboxKey): string[] {
    return this.events(mailboxKey).map((e) => e.type.replace(/^exchange-push-bridge\./, ''));
  }

  /** Takes every message out (what a consumer has not read yet). */
  drain(): FifoMessage<BridgeEvent>[] {
    return this.#messages.splice(0);
  }
}

export class FakeRenewalQueue implements RenewalQueue {
  readonly failures = new Failures<'enqueue' | 'requeue'>();
  readonly #clock: Pick<Clock, 'now'>;
  #messages: { job: RenewalJob; visibleAt: number; delayMs: number }[] = [];

  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock;
  }

  async enqueue(jobs: readonly RenewalJob[]): Promise<void> {
    this.failures.check('enqueue');
    const now = this.#clock.now();
    for (const job of jobs) this.#messages.push({ job: { ...job }, visibleAt: now, delayMs: 0 });
  }

  async requeue(job: RenewalJob, delayMs: number): Promise<void> {
    this.failures.check('requeue');
    this.#messages.push({ job: { ...job }, visibleAt: this.#clock.now() + Math.max(0, delayMs), delayMs });
  }

  /** Every job waiting, visible or delayed, with its delay (what a test asserts on). */
  pending(): readonly { readonly job: RenewalJob; readonly visibleAt: number; readonly delayMs: number }[] {
    return this.#messages;
  }

  /** Receives and deletes the jobs visible now (the renewer's event source). */
  receive(): RenewalJob[] {
    const now = this.#clock.now();
    const visible = this.#messages.filter((m) => m.visibleAt <= now);
    this.#messages = this.#messages.filter((m) => m.visibleAt > now);
    return visible.map((m) => m.job);
  }
}

export class FakeEventTopic implements EventTopic {
  readonly failures = new Failures<'publish'>();
  readonly #messages: FifoMessage<RoutedEvent>[] = [];
  readonly #dedup: Deduplicator;

  constructor(clock: Pick<Clock, 'now'> = { now: () => 0 }) {
    this.#dedup = new Deduplicator(clock);
  }

  async publish(event: RoutedEvent): Promise<void> {
    this.failures.check('publish');
    this.#take(event);
  }

  /** One call for all: an injected failure fails the call (nothing taken), as a refused request does. */
  async publishBatch(events: readonly RoutedEvent[]): Promise<readonly PublishEntryResult[]> {
    this.failures.check('publish');
    return events.map((event) => {
      this.#take(event);
      return { ok: true };
    });
  }

  messages(): readonly FifoMessage<RoutedEvent>[] {
    return this.#messages;
  }

  /** What a subscriber's queue receives now, taken out. */
  drain(): FifoMessage<RoutedEvent>[] {
    return this.#messages.splice(0);
  }

  #take(event: RoutedEvent): void {
    if (this.#dedup.accept(event.mailboxKey, event.id))
      this.#messages.push({ groupId: event.mailboxKey, deduplicationId: event.id, body: { ...event } });
  }
}
