/** Lambda entry point of the sweeper (EventBridge Scheduler, every minute). */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { lambdaHost, lambdaMetrics } from '../core/lambda-host.ts';
import { wireSweeper } from './wiring.ts';

export const handler = wireSweeper(process.env, {
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
  ...lambdaHost('sweeper'),
  metrics: lambdaMetrics('sweeper'),
});
