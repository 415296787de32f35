/**
 * The local run's own consumer: a second, private queue subscribed to the events topic, so the run
 * can count what consumers get (for its report) without taking it from them.
 */
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { Emulators } from './emulators.ts';
import { onEndpoint, subscribeOnce } from './provision.ts';

/** One event as a consumer received it, for the local run's own accounting. */
export interface DeliveredEvent {
  readonly id: string;
  readonly type: string;
  readonly mailboxKey: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
  /** When the audit consumer received it, simulated epoch ms. */
  readonly receivedAt: number;
}

/** Creates the audit queue and subscribes it to the topic (raw messages, as the Events queue gets them). */
export async function createAuditQueue(
  emulators: Emulators,
  topicArn: string,
): Promise<{ readonly url: string; readonly arn: string }> {
  const { QueueUrl: createdAuditUrl } = await emulators.sqs.send(
    new CreateQueueCommand({
      QueueName: 'local-audit.fifo',
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  if (createdAuditUrl === undefined) throw new Error('the audit queue could not be created');
  const url = onEndpoint(createdAuditUrl, emulators.sqsEndpoint);
  const { Attributes: auditAttributes } = await emulators.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = auditAttributes?.QueueArn ?? '';
  await subscribeOnce(emulators.sns, topicArn, arn, { RawMessageDelivery: 'true' });
  return { url, arn };
}

/** Every event the audit queue receives, in order, and how many times each id came. */
export class Deliveries {
  readonly delivered: DeliveredEvent[] = [];
  readonly counts = new Map<string, number>();

  /** The audit queue's batch handler: records every message at `now()`. */
  handler(now: () => number): (event: SQSEvent) => Promise<{ batchItemFailures: [] }> {
    return async (event) => {
      for (const record of event.Records) this.record(record.body, now());
      return { batchItemFailures: [] };
    };
  }

  record(body: string, now: number): void {
    recordDelivery(body, now, this.delivered, this.counts);
  }
}

function recordDelivery(
  body: string,
  now: number,
  delivered: DeliveredEvent[],
  deliveries: Map<string, number>,
): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null) return;
  const field = (name: string): unknown => Reflect.get(parsed, name);
  const id = field('id');
  const type = field('type');
  const time = field('time');
  const data = field('data');
  if (
    typeof id !== 'string' ||
    typeof type !== 'string' ||
    typeof time !== 'string' ||
    typeof data !== 'object' ||
    data === null
  )
    return;
  const mailboxKey = Reflect.get(data, 'mailboxKey');
  deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
  delivered.push({
    id,
    type,
    time,
    mailboxKey: typeof mailboxKey === 'string' ? mailboxKey : '',
    data: { ...data },
    receivedAt: now,
  });
}
