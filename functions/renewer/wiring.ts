/**
 * The renewer's wiring, one for every host: Lambda (handler.ts) and the local run give the AWS
 * clients, the secrets, the clock and the telemetry; the adapters, the resources they work on
 * and the lifecycle policy are chosen here, once, from the renewer's environment.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { asRenewalExchange } from '../adapters/exchange-clients.ts';
import { mailboxWatchAdapters } from '../adapters/mailbox-watch.ts';
import { DynamoPushedItemList } from '../adapters/pushed-item-list.ts';
import type { SecretSources } from '../adapters/secret-sources.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import { SqsRenewalQueue } from '../adapters/sqs-renewal-queue.ts';
import { DynamoGraphDeltaStore } from '../adapters/sync-state-table.ts';
import type { EnvironmentRecord, FunctionHost } from '../core/host.ts';
import { policyFromEnvironment } from '../domain/config.ts';
import type { LifecyclePolicy } from '../domain/policy.ts';
import { createRenewerHandler, type RenewerHandler } from './batch.ts';
import { RENEWER_ENVIRONMENT } from './environment.ts';
import type { RenewOutcome } from './job.ts';

export interface RenewerHost extends FunctionHost {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly secrets: SecretSources;
  /**
   * Policy fields over the environment's (the local run's knobs, in milliseconds: finer than the
   * variables' seconds and minutes).
   */
  readonly policy?: Partial<LifecyclePolicy>;
  /** Told about every renewal's outcome (the local run's report). */
  readonly onOutcome?: (outcome: RenewOutcome) => void;
}

export function wireRenewer(env: EnvironmentRecord, host: RenewerHost): RenewerHandler {
  const read = RENEWER_ENVIRONMENT.read(env);
  const { doc, records, syncStates, clients, graphClients, callbackBaseUrl, callbackKey } =
    mailboxWatchAdapters(read, host);
  return createRenewerHandler({
    store: records,
    syncStates,
    // The pushed-item list lives in the sync-state table (a catch-up checks and trims it).
    pushedItemList: new DynamoPushedItemList(doc, read('SYNC_STATE_TABLE_NAME')),
    exchange: async (connection) => {
      const client = await clients.client(connection);
      return client === undefined ? undefined : asRenewalExchange(client);
    },
    queue: new SqsRenewalQueue(host.sqs, read('RENEWALS_QUEUE_URL'), host.clock),
    // Graph mailboxes: their subscriptions in the record, their delta links beside the SyncStates.
    graph: {
      store: records,
      deltas: new DynamoGraphDeltaStore(doc, read('SYNC_STATE_TABLE_NAME')),
      client: (connection) => graphClients.client(connection),
    },
    publisher: new SqsEventPublisher(host.sqs, read('INGEST_QUEUE_URL')),
    callbackBaseUrl,
    callbackKey,
    clock: host.clock,
    policy: { ...policyFromEnvironment(read.optional), ...host.policy },
    random: Math.random,
    logger: host.logger,
    metrics: host.metrics,
    ...(host.onOutcome ? { onOutcome: host.onOutcome } : {}),
  });
}
