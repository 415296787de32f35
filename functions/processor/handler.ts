/** Lambda entry point of the processor (ingest FIFO queue → events topic). */

import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { SNSClient } from '@aws-sdk/client-sns';
import { SnsEventTopic } from '../adapters/sns-event-topic.ts';
import { createProcessorHandler } from './batch.ts';

const topicArn = getStringFromEnv({ key: 'EVENTS_TOPIC_ARN' });

export const handler = createProcessorHandler({
  topic: new SnsEventTopic(new SNSClient({}), topicArn),
  logger: new Logger({ serviceName: 'processor' }),
});
