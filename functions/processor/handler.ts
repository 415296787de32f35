/** Lambda entry point of the processor (ingest FIFO queue → enrichment → events topic). */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { secretsManagerConnections } from '../adapters/connections-source.ts';
import { exchangeClients } from '../adapters/exchange-clients.ts';
import { exchangeItemReader } from '../adapters/exchange-item-reader.ts';
import { SnsEventTopic } from '../adapters/sns-event-topic.ts';
import { systemClock } from '../core/clock.ts';
import { powertoolsMetrics } from '../core/telemetry.ts';
import { createProcessorHandler } from './batch.ts';
import { enrichmentSettingsFromEnvironment } from './enrich-config.ts';

const topicArn = getStringFromEnv({ key: 'EVENTS_TOPIC_ARN' });
// Enrichment (GetItem) reads the mailbox's connection from the connections secret.
const connectionsSecretArn = getStringFromEnv({ key: 'CONNECTIONS_SECRET_ARN' });
const settings = enrichmentSettingsFromEnvironment(process.env);
const clients = exchangeClients(
  secretsManagerConnections({ secretId: connectionsSecretArn, client: new SecretsManagerClient({}) }),
);

export const handler = createProcessorHandler({
  topic: new SnsEventTopic(new SNSClient({}), topicArn),
  logger: new Logger({ serviceName: 'processor' }),
  metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'processor' })),
  enrichment: {
    reader: exchangeItemReader(clients, { maxBodyChars: settings.maxBodyChars }),
    clock: systemClock,
    settings,
  },
});
