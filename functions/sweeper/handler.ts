/** Lambda entry point of the sweeper (EventBridge Scheduler, every minute). */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRenewalQueue } from '../adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import { systemClock } from '../core/clock.ts';
import { powertoolsMetrics } from '../core/telemetry.ts';
import { policyFromEnvironment } from '../domain/config.ts';
import { createSweepHandler } from './run.ts';

const tableName = getStringFromEnv({ key: 'TABLE_NAME' });
const renewalsQueueUrl = getStringFromEnv({ key: 'RENEWALS_QUEUE_URL' });

export const handler = createSweepHandler({
  records: new DynamoSubscriptionStore(documentClient(new DynamoDBClient({})), tableName),
  queue: new SqsRenewalQueue(new SQSClient({}), renewalsQueueUrl, systemClock),
  clock: systemClock,
  policy: policyFromEnvironment(process.env),
  logger: new Logger({ serviceName: 'sweeper' }),
  metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'sweeper' })),
});
