/**
 * The processor's wiring, one for every host: Lambda (handler.ts) and the local run give the SNS
 * client, the connections, the clock and the telemetry; the topic, the item readers (EWS GetItem,
 * Graph item reads) and the enrichment settings are chosen here, once, from the environment.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { exchangeItemReader } from '../adapters/exchange-item-reader.ts';
import { graphItemReader, sourceItemReader } from '../adapters/graph-item-reader.ts';
import type { SecretSources } from '../adapters/secret-sources.ts';
import { SnsEventTopic } from '../adapters/sns-event-topic.ts';
import type { EnvironmentRecord, FunctionHost } from '../core/host.ts';
import type { EnrichMode } from '../domain/enrichment.ts';
import { createProcessorHandler, type ProcessorHandler } from './batch.ts';
import { DEFAULT_ENRICHMENT_SETTINGS } from './enrich.ts';
import { enrichmentSettingsFromEnvironment } from './enrich-config.ts';
import { PROCESSOR_ENVIRONMENT } from './environment.ts';

export interface ProcessorHost extends FunctionHost {
  readonly sns: SNSClient;
  /** Enrichment (GetItem) reads the mailbox's connection from the connections secret. */
  readonly secrets: Pick<SecretSources, 'exchangeClients'> & Partial<Pick<SecretSources, 'graphClients'>>;
  /**
   * The local run's `--enrich` choice instead of the environment's settings: the mode for every
   * mailbox without its own, with the default body cap; `none` wires no GetItem at all.
   */
  readonly enrich?: EnrichMode;
}

export function wireProcessor(env: EnvironmentRecord, host: ProcessorHost): ProcessorHandler {
  const read = PROCESSOR_ENVIRONMENT.read(env);
  const topic = new SnsEventTopic(host.sns, read('EVENTS_TOPIC_ARN'));
  const telemetry = { logger: host.logger, metrics: host.metrics };
  if (host.enrich === 'none') return createProcessorHandler({ topic, ...telemetry });
  const settings =
    host.enrich === undefined
      ? enrichmentSettingsFromEnvironment(read.optional)
      : { ...DEFAULT_ENRICHMENT_SETTINGS, defaultMode: host.enrich };
  const secretArn = read('CONNECTIONS_SECRET_ARN');
  const options = { maxBodyChars: settings.maxBodyChars, clock: host.clock };
  // A 429 goes back to enrichment at once with its Retry-After, to be waited within the same
  // budget as EWS's ErrorServerBusy (enrich.ts), not slept on by the client past the timeout.
  const graph = host.secrets.graphClients?.(secretArn, { maxRetryWaitMs: 0 });
  return createProcessorHandler({
    topic,
    ...telemetry,
    enrichment: {
      reader: sourceItemReader({
        ews: exchangeItemReader(host.secrets.exchangeClients(secretArn), options),
        ...(graph === undefined ? {} : { graph: graphItemReader(graph, options) }),
      }),
      clock: host.clock,
      settings,
    },
  });
}
