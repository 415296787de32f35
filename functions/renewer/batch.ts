/**
 * The renewer as an SQS batch handler: each job opened (job.ts), then handed to the entry point
 * of the job the mailbox needs (Subscribe, SyncFolderItems catch-up, checkpoint); outcomes as
 * metrics and logs. A job that throws (DynamoDB or SQS failing) is reported as a batch item
 * failure and retried by SQS, then dead-lettered; a message that is not a job is dropped with a
 * log line.
 */

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidRenewalJobError, parseRenewalJob } from '../adapters/sqs-renewal-queue.ts';
import { type EdgeHandler, edge } from '../core/edge.ts';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { checkpoint } from './checkpoint.ts';
import {
  type GraphCheckpointDeps,
  type GraphCheckpointRecords,
  graphCheckpoint,
} from './graph-checkpoint.ts';
import { type GraphDeltaStore, type GraphRenewDeps, runGraphJob } from './graph-lifecycle.ts';
import {
  type OpenedGraphJob,
  type OpenedJob,
  openJob,
  type RenewalExchange,
  type RenewDeps,
  type RenewerJob,
  type RenewOutcome,
} from './job.ts';
import { resubscribe } from './resubscribe.ts';
import { synchronize } from './synchronize.ts';

/** The renewer's entry points, one per job (job.ts says which job a queued message gets). */
const JOBS: Record<
  RenewerJob,
  (record: SubscriptionRecord, exchange: RenewalExchange, deps: RenewDeps) => Promise<RenewOutcome>
> = { resubscribe, synchronize, checkpoint };

export type RenewerHandler = EdgeHandler<SQSEvent, SQSBatchResponse>;

/** Runs an opened job: the entry point its record needs (EWS jobs, or the Graph lifecycle). */
export async function runOpened(
  opened: OpenedJob | OpenedGraphJob | RenewOutcome,
  deps: RenewDeps,
): Promise<RenewOutcome> {
  if (opened.kind === 'open') return JOBS[opened.job](opened.record, opened.exchange, deps);
  if (opened.kind === 'graph') {
    if (opened.job === 'lifecycle') return runGraphJob(opened.record, graphDepsOf(deps));
    return graphCheckpoint(opened.record, graphCheckpointDepsOf(deps));
  }
  return opened;
}

/** The Graph checkpoint's deps from the renewer's: the record writes are the EWS checkpoint's. */
function graphCheckpointDepsOf(deps: RenewDeps): GraphCheckpointDeps {
  const graph = graphDepsOf(deps);
  return {
    store: {
      get: (key) => deps.store.get(key),
      claimCheckpoint: (args) => deps.store.claimCheckpoint(args),
      scheduleCheckpoint: (args) => deps.store.scheduleCheckpoint(args),
      requestGraphWork: (key, request) => graph.requestGraphWork(key, request),
    },
    deltas: graph.deltas,
    graph: graph.graph,
    pushedItemList: deps.pushedItemList,
    clock: deps.clock,
    policy: deps.policy,
    random: deps.random,
    ...(deps.progress ? { progress: deps.progress } : {}),
  };
}

/** Without Graph wired: no links (and no Graph connection is found, so nothing asks for one). */
const NO_DELTAS: GraphDeltaStore = {
  get: async () => undefined,
  put: async () => {},
  getPending: async () => undefined,
  putPending: async () => false,
  promote: async () => false,
  getCheckpoint: async () => undefined,
  putCheckpoint: async () => {},
  deleteCheckpoint: async () => {},
};

/** The Graph lifecycle's deps from the renewer's: without Graph wired, no connection is found. */
function graphDepsOf(deps: RenewDeps): GraphRenewDeps & Pick<GraphCheckpointRecords, 'requestGraphWork'> {
  const graph = deps.graph;
  return {
    store: graph?.store ?? {
      get: (key) => deps.store.get(key),
      putGraphSubscription: async () => false,
      settleGraph: async () => false,
      recordFailure: (args) => deps.store.recordFailure(args),
    },
    requestGraphWork: (key, request) => graph?.store.requestGraphWork(key, request) ?? Promise.resolve(),
    deltas: graph?.deltas ?? NO_DELTAS,
    graph: graph?.client ?? (async () => undefined),
    publisher: deps.publisher,
    pushedItemList: deps.pushedItemList,
    queue: deps.queue,
    callbackBaseUrl: deps.callbackBaseUrl,
    callbackKey: deps.callbackKey,
    clock: deps.clock,
    policy: deps.policy,
    random: deps.random,
  };
}

export function createRenewerHandler(
  deps: RenewDeps & {
    logger: LogSink;
    metrics: MetricsRecorder;
    onOutcome?: (outcome: RenewOutcome) => void;
  },
): RenewerHandler {
  const { logger, metrics } = deps;
  const count = (name: string, value = 1) => metrics.count(name, value);

  const recordHandler = async (record: SQSRecord) => {
    let job: ReturnType<typeof parseRenewalJob>;
    try {
      job = parseRenewalJob(record.body);
    } catch (error) {
      if (error instanceof InvalidRenewalJobError) {
        logger.error(error.message);
        return;
      }
      throw error;
    }
    const outcome = await runOpened(await openJob(job, deps), deps);
    deps.onOutcome?.(outcome);
    const context = { mailboxKey: job.mailboxKey, generation: job.generation, reason: job.reason, outcome };
    switch (outcome.kind) {
      case 'subscribed':
        count('RenewalsSucceeded');
        if (outcome.recovered) count('SubscriptionsRecovered');
        if (outcome.resyncPublished > 0) count('ResyncEvents', outcome.resyncPublished);
        logger.info('subscription current again', context);
        break;
      case 'synced':
        if (outcome.published > 0) count('ResyncEvents', outcome.published);
        logger.info('folder synchronization done', context);
        break;
      case 'throttled':
        count('RenewalsThrottled');
        logger.info('Exchange is throttling; waiting as told', context);
        break;
      case 'failed':
        count('RenewalsFailed');
        if (outcome.becameLost) count('SubscriptionsLost');
        if (outcome.needsAttention) count('RenewalsNeedingAttention');
        if (outcome.graph !== undefined) {
          count('GraphRenewalsFailed');
          if (outcome.graph.validationFailed) count('GraphValidationFailures');
        }
        logger[outcome.lost || outcome.needsAttention ? 'error' : 'warn']('renewal failed', context);
        break;
      case 'checkpointed':
        if (outcome.promoted > 0) count('CheckpointFoldersPromoted', outcome.promoted);
        if (outcome.trimmed > 0) count('PushedItemsTrimmed', outcome.trimmed);
        logger.info('checkpoint done', context);
        break;
      case 'deferred':
        count('CheckpointsDeferred');
        // Not urgent: a healthy subscription loses nothing while its checkpoint waits.
        logger.warn('checkpoint failed; trying again later', context);
        break;
      case 'graphCheckpointed':
        if (outcome.taken > 0) count('GraphCheckpointsTaken');
        if (outcome.promoted > 0) count('GraphCheckpointsPromoted');
        if (outcome.promoted > 0) count('GraphCheckpointLinksPromoted', outcome.promoted);
        if (outcome.trimmed > 0) count('PushedItemsTrimmed', outcome.trimmed);
        if (outcome.subscriptionsGone > 0) count('GraphSubscriptionsFoundGone', outcome.subscriptionsGone);
        logger[outcome.subscriptionsGone > 0 ? 'warn' : 'info']('Graph checkpoint done', context);
        break;
      case 'graphSettled':
        count('GraphJobsDone');
        if (outcome.created.length > 0) count('GraphSubscriptionsCreated', outcome.created.length);
        if (outcome.renewed.length > 0) count('GraphSubscriptionsRenewed', outcome.renewed.length);
        if (outcome.caughtUp.length > 0) count('GraphCatchUps', outcome.caughtUp.length);
        logger.info('Graph mailbox settled', context);
        break;
      case 'skipped':
        logger.debug('renewal not needed', context);
        break;
      default:
        outcome satisfies never;
    }
  };

  // A new processor per invocation: it holds the state of one batch.
  const useCase = (event: SQSEvent) =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
      throwOnFullBatchFailure: false,
    });
  return edge(useCase, { logger, metrics });
}
