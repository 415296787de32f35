/**
 * Lambda entry point of the receiver (API Gateway HTTP API → this function). Configuration is read
 * once, at load, and a missing variable fails the cold start with its name.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerCallbackKey } from '../adapters/callback-key-source.ts';
import { systemClock } from '../core/clock.ts';
import { powertoolsMetrics } from '../core/telemetry.ts';
import { RECEIVER_ENVIRONMENT } from './environment.ts';
import { wireReceiver } from './wiring.ts';

const read = RECEIVER_ENVIRONMENT.read(process.env);

export const handler = wireReceiver(process.env, {
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
  callbackKey: secretsManagerCallbackKey(new SecretsManagerClient({}), read('CALLBACK_KEY_SECRET_ARN')),
  clock: systemClock,
  logger: new Logger({ serviceName: 'receiver' }),
  metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'receiver' })),
});
