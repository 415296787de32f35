/**
 * The processor as an SQS batch handler. FIFO semantics: within a mailbox (message group) a
 * failed event stops the events behind it, so order is never broken; other mailboxes go on.
 * Failed messages are reported back (partial batch response) and retried, then dead-lettered.
 * The batch itself (enrichment, PublishBatch in order) is enrich-batch.ts.
 */

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createEnrichingProcessor, type EnrichingProcessorDeps } from './enrich-batch.ts';

export type ProcessorHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export function createProcessorHandler(deps: EnrichingProcessorDeps): ProcessorHandler {
  return createEnrichingProcessor(deps);
}
