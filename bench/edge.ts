/**
 * The price of the middy edge (functions/core/edge.ts) on the receiver's hot path: a heartbeat and
 * a 5-event notification through `createReceiverHandler` (the chain Lambda runs), against the
 * use case in the hand-written try/catch/finally the handler was before middy, same run, same
 * in-memory ports, so only the edge differs.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { systemClock } from '../functions/core/clock.ts';
import { describeError } from '../functions/core/edge.ts';
import { MemoryMetrics } from '../functions/core/telemetry.ts';
import { callbackKeyFrom, callbackPath } from '../functions/domain/callback.ts';
import { mailboxKeyOf } from '../functions/domain/mailbox-key.ts';
import { createReceiverHandler, type ReceiverDeps, receiveHttp } from '../functions/receiver/http.ts';
import { callbackPush } from '../test/support/callback-push.ts';
import { created, sendNotification, status } from '../test/support/pushes.ts';
import { activeRecord } from './cost.ts';
import { type Comparison, compare, type Effort } from './harness.ts';

/** The receiver's edge as it was hand-written before middy: the baseline. */
function handWritten(deps: ReceiverDeps) {
  const useCase = receiveHttp(deps);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      return await useCase(event);
    } catch (error) {
      deps.logger.error('notification not taken; answering 500 so Exchange retries', {
        error: describeError(error),
      });
      deps.metrics.count('Errors');
      return {
        statusCode: 500,
        headers: { 'content-type': 'text/plain' },
        body: 'internal error; please retry',
      };
    } finally {
      deps.metrics.flush();
    }
  };
}

export async function benchEdge(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<Comparison[]> {
  const key = callbackKeyFrom(randomBytes(32));
  const mailboxKey = mailboxKeyOf('ada.lovelace@contoso.com');
  const subscriptionId = `EQB${randomBytes(42).toString('base64url')}`;
  const watermark = () => `AQAAA${randomBytes(36).toString('base64')}`;
  const stored = watermark();
  const record = activeRecord(mailboxKey, subscriptionId, stored);
  // The stored watermark never moves, so every push is taken as the first after it.
  const deps: ReceiverDeps = {
    store: { get: async () => record, advance: async () => true },
    publisher: { publish: async () => {} },
    pushedItemList: { record: async () => {} },
    clock: systemClock,
    callbackKey: async () => key,
    logger: new Logger({ serviceName: 'receiver', logLevel: 'WARN' }),
    metrics: new MemoryMetrics(),
  };
  const chain = createReceiverHandler(deps);
  const bare = handWritten(deps);
  const path = callbackPath(key, mailboxKey, 3);
  const pushes: Array<[string, APIGatewayProxyEventV2]> = [
    [
      'heartbeat',
      callbackPush(
        path,
        sendNotification({ subscriptionId, previousWatermark: stored, events: [status(watermark())] }),
      ),
    ],
    [
      '5-event notification',
      callbackPush(
        path,
        sendNotification({
          subscriptionId,
          previousWatermark: stored,
          events: Array.from({ length: 5 }, () => created(watermark())),
        }),
      ),
    ],
  ];
  const comparisons: Comparison[] = [];
  for (const [label, event] of pushes) {
    const [a, b] = [await chain(event), await bare(event)];
    if (a.statusCode !== 200 || b.statusCode !== 200)
      throw new Error(
        `the ${label} was not taken (${a.statusCode}, ${b.statusCode}); the bench measures nothing`,
      );
    comparisons.push(
      await compare({
        name: `receiver ${label} through the middy edge`,
        baseline: 'the pre-middy hand-written handler',
        target: 1.05,
        baselineWork: () => bare(event),
        candidateWork: () => chain(event),
        iterationsPerRound: 2000,
        rounds: 15,
        effort,
        onProgress: (round, rounds) => onProgress(`  ${label}: round ${round}/${rounds}`),
      }),
    );
  }
  return comparisons;
}
