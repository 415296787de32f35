/**
 * From the receiver's publish to a consumer's queue: ingest FIFO queue → processor → SNS FIFO
 * topic → the Events queue, on the emulators, provisioned from the CDK template.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsEventTopic } from '../../functions/adapters/sns-event-topic.ts';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { toNotificationCloudEvent } from '../../functions/domain/events.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { createProcessorHandler } from '../../functions/processor/batch.ts';
import { SqsPoller } from '../../local/sqs-poller.ts';
import { drain, type LocalAws, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

function notificationEvents(mailbox: string, watermarks: string[]) {
  const mailboxKey = mailboxKeyOf(mailbox);
  return watermarks.map((watermark, index) =>
    toNotificationCloudEvent({
      mailbox,
      mailboxKey,
      subscriptionId: 'S1',
      notification: { previousWatermark: 'W0' },
      event: {
        type: 'CreatedEvent',
        watermark,
        timeStamp: '2026-11-21T10:00:00Z',
        itemId: { id: `i-${watermark}`, changeKey: null },
        folderId: null,
        parentFolderId: null,
        oldItemId: null,
        oldFolderId: null,
        oldParentFolderId: null,
        unreadCount: null,
      },
      index,
      receivedAt: 0,
    }),
  );
}

describe('event fan-out', () => {
  it('delivers every event to the Events queue exactly as published, in order per mailbox, once', async () => {
    const env = aws.environment('processor');
    const ingestId = aws.resources.resourceId('AWS::SQS::Queue', 'QueuesIngest');
    const ingest =
      aws.resources.queues.get(ingestId.replace(/DeadLetters.*/, '')) ?? aws.resources.queues.get(ingestId);
    const eventsId = aws.resources.resourceId('AWS::SQS::Queue', 'FanoutEvents');
    const events = aws.resources.queues.get(eventsId);
    if (ingest === undefined || events === undefined) throw new Error('queues not provisioned');
    const publisher = new SqsEventPublisher(aws.emulators.sqs, ingest.url);
    const ada = notificationEvents('ada@contoso.test', ['A1', 'A2', 'A3', 'A4']);
    const bob = notificationEvents('bob@contoso.test', ['B1', 'B2']);
    await publisher.publish(mailboxKeyOf('ada@contoso.test'), ada.slice(0, 2));
    await publisher.publish(mailboxKeyOf('bob@contoso.test'), bob);
    await publisher.publish(mailboxKeyOf('ada@contoso.test'), ada.slice(2));
    // A retry of the first publish (the receiver answering 500 and Exchange retrying) adds nothing.
    await publisher.publish(mailboxKeyOf('ada@contoso.test'), ada.slice(0, 2));

    const handler = createProcessorHandler({
      topic: new SnsEventTopic(aws.emulators.sns, env.EVENTS_TOPIC_ARN ?? ''),
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const poller = new SqsPoller(aws.emulators.sqs, handler, {
      queueUrl: ingest.url,
      queueArn: ingest.arn,
      waitSeconds: 0,
    });
    for (let idle = 0; idle < 2; ) idle = (await poller.pollOnce()) === 0 ? idle + 1 : 0;

    const delivered = await drain(aws.emulators.sqs, events.url);
    const bodies = delivered.map((m) => m.Body ?? '');
    const byMailbox = (key: string) =>
      bodies
        .map((b) => JSON.parse(b))
        .filter((e) => e.data.mailboxKey === key)
        .map((e) => e.data.watermark);
    expect(byMailbox(mailboxKeyOf('ada@contoso.test'))).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(byMailbox(mailboxKeyOf('bob@contoso.test'))).toEqual(['B1', 'B2']);
    expect(new Set(bodies)).toEqual(new Set([...ada, ...bob].map((e) => JSON.stringify(e))));
    for (const message of delivered) {
      expect(message.MessageAttributes?.type?.StringValue).toBe(
        'exchange-push-bridge.notification.CreatedEvent',
      );
    }
  });
});
