/**
 * The admin function's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there. wiring.ts reads it (for Lambda and the local run); infra sets
 * each variable with its grant.
 */
import { CALLBACK_KEY_ACTIONS } from '../adapters/callback-key-source.ts';
import { CONNECTIONS_SECRET_ACTIONS } from '../adapters/connections-source.ts';
import { SQS_EVENT_PUBLISHER_ACTIONS } from '../adapters/sqs-event-publisher.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import { SYNC_STATE_TABLE_ACTIONS } from '../adapters/sync-state-table.ts';
import { defineEnvironment } from '../core/access.ts';

export const ADMIN_ENVIRONMENT = defineEnvironment(
  {
    TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.MailboxRecords,
    SYNC_STATE_TABLE_NAME: SYNC_STATE_TABLE_ACTIONS.SyncProgress,
    INGEST_QUEUE_URL: SQS_EVENT_PUBLISHER_ACTIONS,
    CALLBACK_KEY_SECRET_ARN: CALLBACK_KEY_ACTIONS,
    CONNECTIONS_SECRET_ARN: CONNECTIONS_SECRET_ACTIONS,
  },
  ['CALLBACK_BASE_URL'],
);
