/**
 * The processor's wiring for Graph reads: its Graph clients wait no Retry-After in-process, so a
 * 429 reaches enrichment with its delay, to be waited within enrichment's budget (as EWS's
 * ErrorServerBusy is), never slept on by the client past the function's timeout.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import type { GraphClients } from '../../../functions/adapters/graph-clients.ts';
import { graphFailureOf } from '../../../functions/adapters/graph-item-reader.ts';
import { MemoryMetrics, silentLog } from '../../../functions/core/telemetry.ts';
import { decodeGraphError } from '../../../functions/graph/errors.ts';
import { wireProcessor } from '../../../functions/processor/wiring.ts';
import { manualClock } from '../../support/manual-clock.ts';

const env = {
  EVENTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:events.fifo',
  CONNECTIONS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:connections',
};

describe('processor wiring, Graph reads', () => {
  it('asks for Graph clients that sleep on no Retry-After', () => {
    const asked: unknown[] = [];
    const none: GraphClients = { client: async () => undefined, names: async () => [] };
    wireProcessor(env, {
      sns: new SNSClient({ region: 'us-east-1' }),
      secrets: {
        exchangeClients: () => ({ client: async () => undefined, names: async () => [] }),
        graphClients: (arn, options) => {
          asked.push({ arn, options });
          return none;
        },
      },
      clock: manualClock(),
      logger: silentLog,
      metrics: new MemoryMetrics(),
    });
    expect(asked).toEqual([{ arn: env.CONNECTIONS_SECRET_ARN, options: { maxRetryWaitMs: 0 } }]);
  });

  it('a 429 becomes a retryable read failure carrying its Retry-After; a 404 is notFound', () => {
    const throttled = decodeGraphError(
      'getItem',
      429,
      new Headers({ 'retry-after': '5' }),
      '{"error":{"code":"ApplicationThrottled"}}',
      0,
    );
    expect(graphFailureOf(throttled)).toMatchObject({
      code: 'ApplicationThrottled',
      retryable: true,
      backOffMs: 5000,
      notFound: false,
    });
    const gone = decodeGraphError('getItem', 404, new Headers(), '{"error":{"code":"ErrorItemNotFound"}}', 0);
    expect(graphFailureOf(gone)).toMatchObject({
      code: 'ErrorItemNotFound',
      notFound: true,
      retryable: false,
    });
  });
});
