/**
 * The contract suites against the real adapters on the emulators (dynalite, fauxqs), with the
 * tables and queues provisioned from the synthesized template: what keeps the fakes honest.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { BridgeEvent } from '../../events/bridge-event.ts';
import { DynamoPushedItemList } from '../../functions/adapters/pushed-item-list.ts';
import { SnsEventTopic } from '../../functions/adapters/sns-event-topic.ts';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { parseRenewalJob, SqsRenewalQueue } from '../../functions/adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../../functions/adapters/subscription-table.ts';
import { DynamoGraphDeltaStore, DynamoSyncStateStore } from '../../functions/adapters/sync-state-table.ts';
import { systemClock } from '../../functions/core/clock.ts';
import { drain, type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { eventTopicContract } from './event-topic.contract.ts';
import { ingestQueueContract, renewalsQueueContract } from './queues.contract.ts';
import { type SubscriptionTable, subscriptionTableContract } from './subscription-table.contract.ts';
import { type SyncStateTable, syncStateTableContract } from './sync-state-table.contract.ts';

let aws: LocalAws;
let table: SubscriptionTable;
let syncStates: SyncStateTable;
let publisher: SqsEventPublisher;
let renewals: SqsRenewalQueue;
let ingestUrl: string;
let renewalsUrl: string;

const env = (fn: string, name: string): string => {
  const value = aws.environment(fn)[name];
  if (value === undefined) throw new Error(`the ${fn} function has no ${name} in the template`);
  return value;
};

beforeAll(async () => {
  aws = await startLocalAws();
  const doc = documentClient(aws.emulators.dynamodb);
  table = new DynamoSubscriptionStore(doc, env('receiver', 'TABLE_NAME'));
  const syncTable = env('renewer', 'SYNC_STATE_TABLE_NAME');
  syncStates = {
    states: new DynamoSyncStateStore(doc, syncTable),
    items: new DynamoPushedItemList(doc, syncTable),
    deltas: new DynamoGraphDeltaStore(doc, syncTable),
  };
  ingestUrl = env('receiver', 'INGEST_QUEUE_URL');
  renewalsUrl = env('renewer', 'RENEWALS_QUEUE_URL');
  publisher = new SqsEventPublisher(aws.emulators.sqs, ingestUrl);
  renewals = new SqsRenewalQueue(aws.emulators.sqs, renewalsUrl, systemClock);
});

afterAll(async () => {
  await aws?.stop();
});

describe('adapters on the emulators', () => {
  describe('subscription table (DynamoSubscriptionStore)', () => {
    subscriptionTableContract(() => table);
  });

  describe('SyncStates table (DynamoSyncStateStore, DynamoPushedItemList, DynamoGraphDeltaStore)', () => {
    syncStateTableContract(() => syncStates);
  });

  describe('queues (SqsEventPublisher, SqsRenewalQueue)', () => {
    ingestQueueContract(() => ({
      publisher,
      received: async () =>
        (await drain(aws.emulators.sqs, ingestUrl)).map((m) => ({
          groupId: m.Attributes?.MessageGroupId ?? '',
          event: JSON.parse(m.Body ?? 'null') as BridgeEvent,
        })),
    }));
    renewalsQueueContract(() => ({
      queue: renewals,
      received: async () =>
        (await drain(aws.emulators.sqs, renewalsUrl)).map((m) => parseRenewalJob(m.Body ?? '')),
    }));
  });

  describe('events topic (SnsEventTopic → the Events queue)', () => {
    eventTopicContract(() => {
      const eventsUrl = aws.resources.queues.get(
        aws.resources.resourceId('AWS::SQS::Queue', 'FanoutEvents'),
      )?.url;
      if (eventsUrl === undefined) throw new Error('the Events queue was not provisioned');
      return {
        topic: new SnsEventTopic(aws.emulators.sns, env('processor', 'EVENTS_TOPIC_ARN')),
        received: async () =>
          (await drain(aws.emulators.sqs, eventsUrl)).map((m) => ({
            groupId: m.Attributes?.MessageGroupId ?? '',
            body: m.Body ?? '',
          })),
      };
    });
  });
});
