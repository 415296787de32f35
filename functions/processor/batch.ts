/**
 * The processor as an SQS batch handler. FIFO semantics: within a mailbox (message group) a
 * failed event stops the events behind it, so order is never broken; other mailboxes go on.
 * Failed messages are reported back (partial batch response) and retried, then dead-lettered.
 */

import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LogSink } from '../core/telemetry.ts';
import { type EventTopic, forward } from './forward.ts';

export type ProcessorHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

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
  return async (event) => {
    // A new processor per invocation: it holds the state of one batch.
    const processor = new SqsFifoPartialProcessorAsync();
    return processPartialResponse(event, recordHandler, processor, {
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });
  };
}
