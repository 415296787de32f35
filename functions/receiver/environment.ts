/**
 * The receiver's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there. handler.ts and the local run read it; infra sets each variable
 * with its grant.
 */
import { CALLBACK_KEY_ACTIONS } from '../adapters/callback-key-source.ts';
import { PUSHED_ITEM_LIST_ACTIONS } from '../adapters/pushed-item-list.ts';
import { SQS_EVENT_PUBLISHER_ACTIONS } from '../adapters/sqs-event-publisher.ts';
import { SUBSCRIPTION_TABLE_ACTIONS } from '../adapters/subscription-table.ts';
import { defineEnvironment } from '../core/access.ts';

export const RECEIVER_ENVIRONMENT = defineEnvironment({
  TABLE_NAME: SUBSCRIPTION_TABLE_ACTIONS.SubscriptionStore,
  SYNC_STATE_TABLE_NAME: PUSHED_ITEM_LIST_ACTIONS.PushedItemListWriter,
  INGEST_QUEUE_URL: SQS_EVENT_PUBLISHER_ACTIONS,
  CALLBACK_KEY_SECRET_ARN: CALLBACK_KEY_ACTIONS,
});
