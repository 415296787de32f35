/**
 * The processor as an SQS batch handler. FIFO semantics: within a mailbox (message group) a
 * failed event stops the events behind it, so order is never broken; other mailboxes go on.
 * Failed messages are reported back (partial batch response) and retried, then dead-lettered.
 * The batch itself (enrichment, PublishBatch in order) is enrich-batch.ts.
 */

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type EdgeHandler, edge } from '../core/edge.ts';
import { createEnrichingProcessor, type EnrichingProcessorDeps } from './enrich-batch.ts';

export type ProcessorHandler = EdgeHandler<SQSEvent, SQSBatchResponse>;

export function createProcessorHandler(deps: EnrichingProcessorDeps): ProcessorHandler {
  // The edge flushes the metrics after every batch, failed or not.
  return edge(createEnrichingProcessor(deps), {
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}
