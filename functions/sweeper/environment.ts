/**
 * The sweeper's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there, and the lifecycle policy's optional numbers. wiring.ts reads it
 * (for Lambda and the local run); infra sets each variable with its grant.
 */
import { SQS_RENEWAL_QUEUE_ACTIONS } from '../adapters/sqs-renewal-queue.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import { defineEnvironment } from '../core/access.ts';
import { POLICY_VARIABLES } from '../domain/config.ts';

export const SWEEPER_ENVIRONMENT = defineEnvironment(
  {
    TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.RecordScan,
    RENEWALS_QUEUE_URL: SQS_RENEWAL_QUEUE_ACTIONS,
  },
  [],
  POLICY_VARIABLES,
);
