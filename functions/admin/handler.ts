/**
 * Lambda entry point of the admin function: invoked directly (never through the public API) by
 * the `mailboxes` CLI with the caller's own IAM credentials, so operators manage mailboxes without
 * ever holding Exchange credentials.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { secretsManagerSources } from '../adapters/secret-sources.ts';
import { lambdaHost } from '../core/lambda-host.ts';
import { wireAdmin } from './wiring.ts';

export const handler = wireAdmin(process.env, {
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
  secrets: secretsManagerSources(new SecretsManagerClient({})),
  ...lambdaHost('admin'),
});
