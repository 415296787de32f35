/**
 * What the processor's code may do in AWS (core/access.ts): by the variable handler.ts reads.
 * Reading the ingest queue is the event source mapping's, granted where it is created.
 */
import { CONNECTIONS_SECRET_ACTIONS } from '../adapters/connections-source.ts';
import { SNS_EVENT_TOPIC_ACTIONS } from '../adapters/sns-event-topic.ts';
import type { FunctionAccess } from '../core/access.ts';

export const PROCESSOR_ACCESS = {
  EVENTS_TOPIC_ARN: SNS_EVENT_TOPIC_ACTIONS,
  // Enrichment: the mailbox's Exchange connection (GetItem), and nothing more.
  CONNECTIONS_SECRET_ARN: CONNECTIONS_SECRET_ACTIONS,
} as const satisfies FunctionAccess;
