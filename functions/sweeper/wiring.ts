/**
 * The sweeper's wiring, one for every host: Lambda (handler.ts) and the local run give the AWS
 * clients, the clock and the telemetry; the adapters, the resources they work on and the
 * lifecycle policy are chosen here, once, from the sweeper's environment.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRenewalQueue } from '../adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../adapters/subscription-table.ts';
import type { EnvironmentRecord, FunctionHost } from '../core/host.ts';
import { policyFromEnvironment } from '../domain/config.ts';
import type { LifecyclePolicy } from '../domain/policy.ts';
import { SWEEPER_ENVIRONMENT } from './environment.ts';
import { createSweepHandler, type SweepHandler } from './run.ts';

export interface SweeperHost extends FunctionHost {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Policy fields over the environment's (the local run's knobs; see RenewerHost). */
  readonly policy?: Partial<LifecyclePolicy>;
}

export function wireSweeper(env: EnvironmentRecord, host: SweeperHost): SweepHandler {
  const read = SWEEPER_ENVIRONMENT.read(env);
  return createSweepHandler({
    records: new DynamoSubscriptionStore(documentClient(host.dynamodb), read('TABLE_NAME')),
    queue: new SqsRenewalQueue(host.sqs, read('RENEWALS_QUEUE_URL'), host.clock),
    clock: host.clock,
    policy: { ...policyFromEnvironment(read.optional), ...host.policy },
    logger: host.logger,
    metrics: host.metrics,
  });
}
