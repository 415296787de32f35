import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createProcessorHandler } from '../../../functions/processor/batch.ts';
import { type RoutedEvent, routeOf, UnroutableEventError } from '../../../functions/processor/forward.ts';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const event = (mailboxKey: string, id: string) =>
  JSON.stringify({
    specversion: '1.0',
    id,
    source: `/exchange-push-bridge/mailboxes/${mailboxKey}`,
    type: 'exchange-push-bridge.notification.CreatedEvent',
    time: '2026-11-21T10:00:00Z',
    datacontenttype: 'application/json',
    data: {},
  });

function record(messageId: string, group: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: group,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:0:ingest.fifo',
    awsRegion: 'us-east-1',
  };
}

describe('processor', () => {
  it('routes a bridge event by mailbox and id, keeping its bytes', () => {
    const body = event(A, 'id-1');
    expect(routeOf(body)).toEqual({
      id: 'id-1',
      type: 'exchange-push-bridge.notification.CreatedEvent',
      mailboxKey: A,
      body,
    });
  });

  it('refuses messages that are not bridge events', () => {
    for (const body of [
      'nope',
      '[]',
      '{}',
      event('short', 'x'),
      JSON.stringify({
        specversion: '1.0',
        id: 'x',
        type: 'other',
        source: `/exchange-push-bridge/mailboxes/${A}`,
      }),
    ]) {
      expect(() => routeOf(body)).toThrow(UnroutableEventError);
    }
  });

  it('stops a mailbox at its first failure (order) while other mailboxes go on, reporting exactly what to retry', async () => {
    const published: RoutedEvent[] = [];
    const handler = createProcessorHandler({
      topic: {
        publish: async (e) => {
          if (e.id === 'a2') throw new Error('SNS throttled');
          published.push(e);
        },
      },
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const batch: SQSEvent = {
      Records: [
        record('m1', A, event(A, 'a1')),
        record('m2', A, event(A, 'a2')),
        record('m3', B, event(B, 'b1')),
        record('m4', A, event(A, 'a3')),
        record('m5', B, event(B, 'b2')),
        record('m6', B, 'poison'),
        record('m7', B, event(B, 'b3')),
      ],
    };
    const response = await handler(batch);
    expect(published.map((e) => e.id)).toEqual(['a1', 'b1', 'b2']);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m2', 'm4', 'm6', 'm7']);
  });
});
