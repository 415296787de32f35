/**
 * The renewer's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there, and the lifecycle policy's optional numbers. wiring.ts reads it
 * (for Lambda and the local run); infra sets each variable with its grant.
 * Reading the renewals queue is the event source mapping's, granted where it is created.
 */
import { CALLBACK_KEY_ACTIONS } from '../adapters/callback-key-source.ts';
import { CONNECTIONS_SECRET_ACTIONS } from '../adapters/connections-source.ts';
import { PUSHED_ITEM_LIST_ACTIONS } from '../adapters/pushed-item-list.ts';
import { SQS_EVENT_PUBLISHER_ACTIONS } from '../adapters/sqs-event-publisher.ts';
import { SQS_RENEWAL_QUEUE_ACTIONS } from '../adapters/sqs-renewal-queue.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import { SYNC_STATE_TABLE_ACTIONS } from '../adapters/sync-state-table.ts';
import { allOf, defineEnvironment } from '../core/access.ts';
import { POLICY_VARIABLES } from '../domain/config.ts';

export const RENEWER_ENVIRONMENT = defineEnvironment(
  {
    TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.LifecycleStore,
    // Folder states and checkpoints, and the pushed-item list a catch-up checks and trims.
    SYNC_STATE_TABLE_NAME: allOf(
      SYNC_STATE_TABLE_ACTIONS.CheckpointStore,
      PUSHED_ITEM_LIST_ACTIONS.PushedItemList,
    ),
    INGEST_QUEUE_URL: SQS_EVENT_PUBLISHER_ACTIONS,
    RENEWALS_QUEUE_URL: SQS_RENEWAL_QUEUE_ACTIONS,
    CALLBACK_KEY_SECRET_ARN: CALLBACK_KEY_ACTIONS,
    CONNECTIONS_SECRET_ARN: CONNECTIONS_SECRET_ACTIONS,
  },
  ['CALLBACK_BASE_URL'],
  POLICY_VARIABLES,
);
