/** Lambda entry point of the processor (ingest FIFO queue → enrichment → events topic). */

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { secretsManagerSources } from '../adapters/secret-sources.ts';
import { lambdaHost, lambdaMetrics } from '../core/lambda-host.ts';
import { wireProcessor } from './wiring.ts';

export const handler = wireProcessor(process.env, {
  sns: new SNSClient({}),
  secrets: secretsManagerSources(new SecretsManagerClient({})),
  ...lambdaHost('processor'),
  metrics: lambdaMetrics('processor'),
});
