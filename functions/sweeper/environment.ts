/**
 * The sweeper's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there. handler.ts and the local run read it; infra sets each variable
 * with its grant.
 */
import { SQS_RENEWAL_QUEUE_ACTIONS } from '../adapters/sqs-renewal-queue.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import { defineEnvironment } from '../core/access.ts';

export const SWEEPER_ENVIRONMENT = defineEnvironment({
  TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.RecordScan,
  RENEWALS_QUEUE_URL: SQS_RENEWAL_QUEUE_ACTIONS,
});
