/**
 * What the queues must do for the code that writes to them: the ingest FIFO queue keeps the order
 * of a mailbox's events and drops a re-sent event (same id); the renewals queue delivers every
 * job, and a requeued job only after its delay. Run against the fakes and the SQS adapters on
 * the emulator; `received` is how each side reads what a consumer would get.
 */
import { describe, expect, it } from 'vitest';
import type { BridgeEvent } from '../../events/bridge-event.ts';
import { type EventPublisher, toLifecycleCloudEvent } from '../../functions/domain/events.ts';
import { type MailboxKey, mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { RenewalJob, RenewalQueue } from '../../functions/domain/renewal-job.ts';

export interface IngestQueue {
  readonly publisher: EventPublisher;
  /** What a consumer receives now (and takes out): group and event, in delivery order. */
  received(): Promise<Array<{ groupId: string; event: BridgeEvent }>>;
}

export interface RenewalsQueue {
  readonly queue: RenewalQueue;
  /** The jobs a consumer receives now (and takes out). */
  received(): Promise<RenewalJob[]>;
}

let counter = 0;
const newMailbox = () => `queue${++counter}-${Math.random().toString(36).slice(2, 8)}@contoso.test`;

function lifecycleEvent(mailbox: string, generation: number): BridgeEvent {
  return toLifecycleCloudEvent({
    mailbox,
    mailboxKey: mailboxKeyOf(mailbox),
    kind: 'renewed',
    generation,
    subscriptionId: `S${generation}`,
    previousSubscriptionId: null,
    detail: null,
    at: Date.UTC(2026, 10, 21),
  });
}

export function ingestQueueContract(ingest: () => IngestQueue): void {
  describe('the ingest queue', () => {
    it('delivers a mailbox’s events in order, in batches of any size, and drops an event sent again', async () => {
      const a = newMailbox();
      const b = newMailbox();
      const keyA: MailboxKey = mailboxKeyOf(a);
      const keyB: MailboxKey = mailboxKeyOf(b);
      const first = Array.from({ length: 13 }, (_, i) => lifecycleEvent(a, i + 1));
      await ingest().publisher.publish(keyA, first);
      await ingest().publisher.publish(keyB, [lifecycleEvent(b, 1)]);
      // A retried notification publishes the same events again: nothing new arrives.
      await ingest().publisher.publish(keyA, [
        first[0] as BridgeEvent,
        first[12] as BridgeEvent,
        lifecycleEvent(a, 14),
      ]);
      const received = await ingest().received();
      const ofA = received.filter((m) => m.groupId === keyA).map((m) => m.event);
      expect(ofA.map((e) => e.id)).toEqual([...first, lifecycleEvent(a, 14)].map((e) => e.id));
      expect(ofA[0]).toEqual(first[0]);
      expect(received.filter((m) => m.groupId === keyB)).toHaveLength(1);
    });
  });
}

export function renewalsQueueContract(renewals: () => RenewalsQueue): void {
  describe('the renewals queue', () => {
    it('delivers every job enqueued, more than one batch of them', async () => {
      const jobs: RenewalJob[] = Array.from({ length: 12 }, (_, i) => ({
        mailboxKey: mailboxKeyOf(newMailbox()),
        generation: i + 1,
        reason: 'stale',
      }));
      await renewals().queue.enqueue(jobs);
      await renewals().queue.enqueue([]);
      const received = await renewals().received();
      expect(received.sort((x, y) => x.generation - y.generation)).toEqual(jobs);
    });

    it('delivers a requeued job at once without a delay, and not before its delay with one', async () => {
      const now: RenewalJob = { mailboxKey: mailboxKeyOf(newMailbox()), generation: 2, reason: 'retry' };
      const later: RenewalJob = { mailboxKey: mailboxKeyOf(newMailbox()), generation: 3, reason: 'sync' };
      await renewals().queue.requeue(now, 0);
      await renewals().queue.requeue(later, 120_000);
      expect(await renewals().received()).toEqual([now]);
    });
  });
}
