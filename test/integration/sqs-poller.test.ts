/**
 * The local pollers' batching window (local/sqs-poller.ts) against fauxqs: it waits only once the
 * queue is empty, never while a backlog remains, however short the FIFO receives come back.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsPoller } from '../../local/sqs-poller.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

async function fifoQueueWith(name: string, groups: number, perGroup: number) {
  const { QueueUrl = '' } = await aws.emulators.sqs.send(
    new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  for (let g = 0; g < groups; g++) {
    const entries = Array.from({ length: perGroup }, (_, i) => ({
      Id: `m${i}`,
      MessageBody: `${g}-${i}`,
      MessageGroupId: `group-${g}`,
      MessageDeduplicationId: `${name}-${g}-${i}`,
    }));
    for (let i = 0; i < entries.length; i += 10)
      await aws.emulators.sqs.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: entries.slice(i, i + 10) }),
      );
  }
  const { Attributes } = await aws.emulators.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
}

describe('the batching window', () => {
  it('is waited only when the queue is empty: a backlog of short FIFO receives drains back to back', async () => {
    const total = 2 * 15;
    const queue = await fifoQueueWith('window-backlog', 2, 15);
    const batches: number[] = [];
    const handledAtWaits: number[] = [];
    const handled = () => batches.reduce((sum, n) => sum + n, 0);
    let poller: SqsPoller | undefined;
    const waited = new Promise<void>((resolve) => {
      poller = new SqsPoller(
        aws.emulators.sqs,
        async (event) => {
          batches.push(event.Records.length);
          return { batchItemFailures: [] };
        },
        {
          queueUrl: queue.url,
          queueArn: queue.arn,
          batchSize: 10,
          waitSeconds: 1,
          batchWindowMs: 60_000,
          sleep: async () => {
            handledAtWaits.push(handled());
            resolve();
          },
        },
      );
      poller.start();
    });
    await waited;
    await poller?.stop();
    // The receives came back short with messages still waiting (what made the old window, which
    // waited after every short receive, slow the drain) ...
    expect(
      batches.some((n) => n < 10),
      `batches ${batches.join(', ')}`,
    ).toBe(true);
    // ... and still the first wait came only after everything was handled.
    expect(handledAtWaits).toEqual([total]);
  });
});
