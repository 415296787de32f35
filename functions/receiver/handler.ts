/**
 * Lambda entry point of the receiver (API Gateway HTTP API → this function). Configuration is read
 * once, at load, and a missing variable fails the cold start with its name.
 */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerCallbackKey } from '../adapters/callback-key-source.ts';
import { DynamoPushedItemList } from '../adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import { systemClock } from '../core/clock.ts';
import { powertoolsMetrics } from '../core/telemetry.ts';
import { createReceiverHandler } from './http.ts';

const tableName = getStringFromEnv({ key: 'TABLE_NAME' });
const syncStateTableName = getStringFromEnv({ key: 'SYNC_STATE_TABLE_NAME' });
const ingestQueueUrl = getStringFromEnv({ key: 'INGEST_QUEUE_URL' });
const callbackKeySecretArn = getStringFromEnv({ key: 'CALLBACK_KEY_SECRET_ARN' });

const doc = documentClient(new DynamoDBClient({}));

export const handler = createReceiverHandler({
  store: new DynamoSubscriptionStore(doc, tableName),
  pushedItemList: new DynamoPushedItemList(doc, syncStateTableName),
  publisher: new SqsEventPublisher(new SQSClient({}), ingestQueueUrl),
  callbackKey: secretsManagerCallbackKey(new SecretsManagerClient({}), callbackKeySecretArn),
  clock: systemClock,
  logger: new Logger({ serviceName: 'receiver' }),
  metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'receiver' })),
});
