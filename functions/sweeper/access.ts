/** What the sweeper may do in AWS (core/access.ts): by the variable handler.ts reads. */
import { SQS_RENEWAL_QUEUE_ACTIONS } from '../adapters/sqs-renewal-queue.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import type { FunctionAccess } from '../core/access.ts';

export const SWEEPER_ACCESS = {
  TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.RecordScan,
  RENEWALS_QUEUE_URL: SQS_RENEWAL_QUEUE_ACTIONS,
} as const satisfies FunctionAccess;
