/**
 * What the processor relies on from the events topic (EventTopic): a subscriber's queue gets each
 * event's bytes unchanged, grouped by mailbox, in the order published, one call or a batch, and
 * an event published again with the same id is delivered once (the retry after a timeout that
 * took effect). Run against FakeEventTopic and against SnsEventTopic on the emulator, read from
 * the Events queue subscribed with raw message delivery as the template subscribes it.
 */
import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { EventTopic, RoutedEvent } from '../../functions/processor/forward.ts';

export interface EventTopicWorld {
  readonly topic: EventTopic;
  /** What the subscriber's queue receives now (and takes out): group and body, in delivery order. */
  received(): Promise<Array<{ groupId: string; body: string }>>;
}

let counter = 0;

function eventsOf(count: number): RoutedEvent[] {
  const mailbox = `topic${++counter}-${Math.random().toString(36).slice(2, 8)}@contoso.test`;
  const mailboxKey = mailboxKeyOf(mailbox);
  return Array.from({ length: count }, (_, i) => {
    const id = `${mailboxKey}-${i}`;
    const type = 'exchange-push-bridge.notification.created';
    return { id, type, mailboxKey, body: JSON.stringify({ id, type, data: { n: i, text: 'ü ✓ <x/>' } }) };
  });
}

const delivered = (events: readonly RoutedEvent[]) =>
  events.map((e) => ({ groupId: e.mailboxKey, body: e.body }));

export function eventTopicContract(world: () => EventTopicWorld): void {
  it('delivers events published one by one, bytes unchanged, in order within the mailbox group', async () => {
    const w = world();
    const events = eventsOf(4);
    for (const event of events) await w.topic.publish(event);
    expect(await w.received()).toEqual(delivered(events));
  });

  it('delivers an event published twice with the same id once', async () => {
    const w = world();
    const [first, second] = eventsOf(2);
    if (first === undefined || second === undefined) throw new Error('two events expected');
    await w.topic.publish(first);
    await w.topic.publish(first);
    await w.topic.publish(second);
    expect(await w.received()).toEqual(delivered([first, second]));
  });

  describe('PublishBatch', () => {
    it('takes every entry of a batch and delivers them in batch order, a repeated id once', async () => {
      const w = world();
      const publishBatch = w.topic.publishBatch?.bind(w.topic);
      if (publishBatch === undefined) throw new Error('the topic has no publishBatch');
      const events = eventsOf(10);
      expect(await publishBatch(events.slice(0, 6))).toEqual(events.slice(0, 6).map(() => ({ ok: true })));
      // A retried batch overlapping the first: the repeated entries are taken, and not delivered again.
      expect(await publishBatch(events.slice(4, 10))).toEqual(events.slice(4, 10).map(() => ({ ok: true })));
      expect(await w.received()).toEqual(delivered(events));
    });
  });
}
