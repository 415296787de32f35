/**
 * Lambda entry point of the admin function: invoked directly (never through the public API) by
 * the `mailboxes` CLI with the caller's own IAM credentials, so operators manage mailboxes without
 * ever holding Exchange credentials.
 */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerCallbackKey } from '../adapters/callback-key-source.ts';
import { secretsManagerConnections } from '../adapters/connections-source.ts';
import { exchangeClients } from '../adapters/exchange-clients.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../adapters/sync-state-table.ts';
import { systemClock } from '../core/clock.ts';
import { createAdminHandler } from './invoke.ts';

const tableName = getStringFromEnv({ key: 'TABLE_NAME' });
const syncStateTableName = getStringFromEnv({ key: 'SYNC_STATE_TABLE_NAME' });
const callbackKeySecretArn = getStringFromEnv({ key: 'CALLBACK_KEY_SECRET_ARN' });
const connectionsSecretArn = getStringFromEnv({ key: 'CONNECTIONS_SECRET_ARN' });
const callbackBaseUrl = getStringFromEnv({ key: 'CALLBACK_BASE_URL' });
const ingestQueueUrl = getStringFromEnv({ key: 'INGEST_QUEUE_URL' });

const secrets = new SecretsManagerClient({});
const clients = exchangeClients(
  secretsManagerConnections({ secretId: connectionsSecretArn, client: secrets }),
);

const doc = documentClient(new DynamoDBClient({}));

export const handler = createAdminHandler({
  records: new DynamoSubscriptionStore(doc, tableName),
  syncStates: new DynamoSyncStateStore(doc, syncStateTableName),
  publisher: new SqsEventPublisher(new SQSClient({}), ingestQueueUrl),
  connectionNames: () => clients.names(),
  callbackBaseUrl,
  callbackKey: secretsManagerCallbackKey(secrets, callbackKeySecretArn),
  clock: systemClock,
  logger: new Logger({ serviceName: 'admin' }),
});
