/**
 * Publishing events to the ingest FIFO queue: one message per event, MessageGroupId = mailbox key
 * (order per mailbox), MessageDeduplicationId = the event's stable id (a retried or concurrent
 * delivery cannot double a message within SQS's five-minute window).
 */
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { BridgeEvent } from '../../events/bridge-event.ts';
import type { IamActions } from '../core/access.ts';
import type { EventPublisher } from '../domain/events.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';

/** IAM actions on the ingest queue (SendMessageBatch is authorized as SendMessage). */
export const SQS_EVENT_PUBLISHER_ACTIONS = ['sqs:SendMessage'] as const satisfies IamActions;

/** SQS's per-call limit. */
const BATCH_SIZE = 10;
/** Re-sends of entries SQS reported failed (throttling, a passing internal error) before giving up. */
const MAX_RETRIES = 3;

export class PublishFailedError extends Error {
  override readonly name = 'PublishFailedError';
  readonly failures: readonly { id: string; code: string; message: string }[];

  constructor(queueUrl: string, failures: readonly { id: string; code: string; message: string }[]) {
    const first = failures[0];
    super(
      `SQS refused ${failures.length} event(s) for ${queueUrl} after ${MAX_RETRIES} retries (first: ${first?.code ?? '?'}: ${first?.message ?? ''}); the push is answered 500 so Exchange delivers it again`,
    );
    this.failures = failures;
  }
}

export class SqsEventPublisher implements EventPublisher {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  async publish(
    mailboxKey: MailboxKey,
    events: readonly BridgeEvent[],
    attributes: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    // The call's attributes, as SQS wants them, once for all its events.
    const extra = Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
    );
    // Batches go one after another: within a message group, SQS keeps the order of arrival.
    for (let start = 0; start < events.length; start += BATCH_SIZE) {
      await this.#sendInOrder(
        events.slice(start, start + BATCH_SIZE).map((event, i) => toEntry(mailboxKey, event, i, extra)),
      );
    }
  }

  async #sendInOrder(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; ; attempt++) {
      const { Failed = [] } = await this.#sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
      );
      if (Failed.length === 0) return;
      const failures = Failed.map((f) => ({
        id: f.Id ?? '?',
        code: f.Code ?? 'Unknown',
        message: f.Message ?? '',
      }));
      if (attempt >= MAX_RETRIES) throw new PublishFailedError(this.#queueUrl, failures);
      // Re-send from the first failed entry on, so order is kept; entries after it that did
      // succeed are dropped by SQS as duplicates of their de-duplication id.
      const firstFailed = pending.findIndex((e) => Failed.some((f) => f.Id === e.Id));
      pending = pending.slice(Math.max(0, firstFailed));
    }
  }
}

function toEntry(
  mailboxKey: MailboxKey,
  event: BridgeEvent,
  index: number,
  extra: Readonly<Record<string, MessageAttributeValue>>,
): SendMessageBatchRequestEntry {
  return {
    Id: `e${index}`,
    MessageBody: JSON.stringify(event),
    MessageGroupId: mailboxKey,
    MessageDeduplicationId: event.id,
    // Attributes let consumers (and SNS subscription filter policies) select without parsing bodies.
    MessageAttributes: {
      ...extra,
      type: { DataType: 'String', StringValue: event.type },
      mailboxKey: { DataType: 'String', StringValue: mailboxKey },
    },
  };
}
