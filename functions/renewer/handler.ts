/** Lambda entry point of the renewer (renewals queue → renew, resubscribe, catch up). */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerSources } from '../adapters/secret-sources.ts';
import { lambdaHost, lambdaMetrics } from '../core/lambda-host.ts';
import { wireRenewer } from './wiring.ts';

export const handler = wireRenewer(process.env, {
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
  secrets: secretsManagerSources(new SecretsManagerClient({})),
  ...lambdaHost('renewer'),
  metrics: lambdaMetrics('renewer'),
});
