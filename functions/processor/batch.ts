/**
 * The processor as an SQS batch handler. FIFO semantics: within a mailbox (message group) a
 * failed event stops the events behind it, so order is never broken; other mailboxes go on.
 * Failed messages are reported back (partial batch response) and retried, then dead-lettered.
 */

import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type EdgeHandler, edge } from '../core/edge.ts';
import type { LogSink } from '../core/telemetry.ts';
import { type EventTopic, forward } from './forward.ts';

export type ProcessorHandler = EdgeHandler<SQSEvent, SQSBatchResponse>;

export function createProcessorHandler(deps: { topic: EventTopic; logger: LogSink }): ProcessorHandler {
  const recordHandler = async (record: SQSRecord) => {
    try {
      await forward(record.body, deps.topic);
    } catch (error) {
      deps.logger.warn('event not forwarded; it will be retried', {
        messageId: record.messageId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
  };
  // A new processor per invocation: it holds the state of one batch.
  const useCase = (event: SQSEvent) =>
    processPartialResponse(event, recordHandler, new SqsFifoPartialProcessorAsync(), {
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });
  return edge(useCase, { logger: deps.logger });
}
