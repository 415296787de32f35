/**
 * The processor's environment (core/access.ts): every variable it reads, each resource variable with
 * the actions its code takes there, and the enrichment's optional settings. wiring.ts reads it (for
 * Lambda and the local run); infra sets each variable with its grant.
 * Reading the ingest queue is the event source mapping's, granted where it is created.
 */
import { CONNECTIONS_SECRET_ACTIONS } from '../adapters/connections-source.ts';
import { SNS_EVENT_TOPIC_ACTIONS } from '../adapters/sns-event-topic.ts';
import { defineEnvironment } from '../core/access.ts';
import { ENRICHMENT_VARIABLES } from './enrich-config.ts';

export const PROCESSOR_ENVIRONMENT = defineEnvironment(
  {
    EVENTS_TOPIC_ARN: SNS_EVENT_TOPIC_ACTIONS,
    // Enrichment: the mailbox's Exchange connection (GetItem), and nothing more.
    CONNECTIONS_SECRET_ARN: CONNECTIONS_SECRET_ACTIONS,
  },
  [],
  // The deployment's enrichment default and body cap (enrich-config.ts).
  ENRICHMENT_VARIABLES,
);
