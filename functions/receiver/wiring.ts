/**
 * The receiver's wiring, one for every host: Lambda (handler.ts) and the local run give the AWS
 * clients, the callback key and the telemetry; the adapters and the variables they need are
 * chosen here, once.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoPushedItemList } from '../adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import type { Clock } from '../core/clock.ts';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import type { CallbackKey } from '../domain/callback.ts';
import { RECEIVER_ENVIRONMENT } from './environment.ts';
import { createReceiverHandler, type ReceiverHandler } from './http.ts';

export interface ReceiverHost {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly clock: Clock;
  readonly logger: LogSink;
  readonly metrics: MetricsRecorder;
}

export function wireReceiver(
  env: Readonly<Record<string, string | undefined>>,
  host: ReceiverHost,
): ReceiverHandler {
  const read = RECEIVER_ENVIRONMENT.read(env);
  const doc = documentClient(host.dynamodb);
  const store = new DynamoSubscriptionStore(doc, read('TABLE_NAME'));
  return createReceiverHandler({
    store,
    // Graph's lifecycle work is noted in the record (the sweeper queues it): no grant beyond the table's.
    graphWork: store,
    pushedItemList: new DynamoPushedItemList(doc, read('SYNC_STATE_TABLE_NAME')),
    publisher: new SqsEventPublisher(host.sqs, read('INGEST_QUEUE_URL')),
    callbackKey: host.callbackKey,
    clock: host.clock,
    logger: host.logger,
    metrics: host.metrics,
  });
}
