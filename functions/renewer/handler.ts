/** Lambda entry point of the renewer (renewals queue → renew, resubscribe, catch up). */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerCallbackKey } from '../adapters/callback-key-source.ts';
import { secretsManagerConnections } from '../adapters/connections-source.ts';
import { asRenewalExchange, exchangeClients } from '../adapters/exchange-clients.ts';
import { DynamoPushedItemList } from '../adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import { SqsRenewalQueue } from '../adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../adapters/sync-state-table.ts';
import { systemClock } from '../core/clock.ts';
import { powertoolsMetrics } from '../core/telemetry.ts';
import { policyFromEnvironment } from '../domain/config.ts';
import { createRenewerHandler } from './batch.ts';

const tableName = getStringFromEnv({ key: 'TABLE_NAME' });
const syncStateTableName = getStringFromEnv({ key: 'SYNC_STATE_TABLE_NAME' });
const ingestQueueUrl = getStringFromEnv({ key: 'INGEST_QUEUE_URL' });
const renewalsQueueUrl = getStringFromEnv({ key: 'RENEWALS_QUEUE_URL' });
const callbackKeySecretArn = getStringFromEnv({ key: 'CALLBACK_KEY_SECRET_ARN' });
const connectionsSecretArn = getStringFromEnv({ key: 'CONNECTIONS_SECRET_ARN' });
const callbackBaseUrl = getStringFromEnv({ key: 'CALLBACK_BASE_URL' });

const doc = documentClient(new DynamoDBClient({}));
const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});
const clients = exchangeClients(
  secretsManagerConnections({ secretId: connectionsSecretArn, client: secrets }),
);

export const handler = createRenewerHandler({
  store: new DynamoSubscriptionStore(doc, tableName),
  syncStates: new DynamoSyncStateStore(doc, syncStateTableName),
  pushedItemList: new DynamoPushedItemList(doc, syncStateTableName),
  exchange: async (connection) => {
    const client = await clients.client(connection);
    return client === undefined ? undefined : asRenewalExchange(client);
  },
  queue: new SqsRenewalQueue(sqs, renewalsQueueUrl, systemClock),
  publisher: new SqsEventPublisher(sqs, ingestQueueUrl),
  callbackBaseUrl,
  callbackKey: secretsManagerCallbackKey(secrets, callbackKeySecretArn),
  clock: systemClock,
  policy: policyFromEnvironment(process.env),
  random: Math.random,
  logger: new Logger({ serviceName: 'renewer' }),
  metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'renewer' })),
});
