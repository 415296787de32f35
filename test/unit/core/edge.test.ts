/**
 * The edge every function runs behind (core/edge.ts): what it adds around a use case, seen from
 * outside. Given a use case that succeeds or fails, when a host calls the chain, then the metrics
 * are flushed, a failure is answered (logged, counted) or fails the invocation, and only a
 * Powertools Logger gets the Lambda context.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { edge, type FailureAnswer } from '../../../functions/core/edge.ts';
import type { LogSink, MetricsRecorder } from '../../../functions/core/telemetry.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** What the edge does to the telemetry, in order: `count Name`, `flush`, `error message`. */
function telemetry() {
  const calls: string[] = [];
  const logged: { message: string; extra: Record<string, unknown>[] }[] = [];
  const log =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      calls.push(`${level} ${message}`);
      logged.push({ message, extra });
    };
  const logger: LogSink = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  // `flush` answers a value (push's new length), as an implementation of `() => void` may: the
  // edge must not take it for the response.
  const metrics: MetricsRecorder = {
    count: (name) => calls.push(`count ${name}`),
    flush: () => calls.push('flush'),
  };
  return { calls, logged, logger, metrics };
}

class TableUnavailableError extends Error {
  override readonly name = 'TableUnavailableError';
}

const ANSWER: FailureAnswer<{ statusCode: number; error: string }> = {
  message: 'request failed; answered 500',
  answer: (error) => ({ statusCode: 500, error: `${error.name}: ${error.message}` }),
};

/** A Lambda context with this request id. */
function lambdaContext(awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'exchange-push-bridge-receiver',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:exchange-push-bridge-receiver',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/exchange-push-bridge-receiver',
    logStreamName: '2026/12/01/[$LATEST]0000',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

describe('the edge', () => {
  it('flushes the metrics after a use case that succeeds, after what it counted', async () => {
    const { calls, logger, metrics } = telemetry();
    const handler = edge(
      async (event: { n: number }) => {
        metrics.count('Heartbeats');
        return event.n * 2;
      },
      { logger, metrics },
    );

    await expect(handler({ n: 21 })).resolves.toBe(42);
    expect(calls).toEqual(['count Heartbeats', 'flush']);
  });

  it('flushes the metrics after a use case that fails, and the invocation fails with its error', async () => {
    const { calls, logger, metrics } = telemetry();
    const failure = new TableUnavailableError('the subscription table did not answer');
    const handler = edge(
      async () => {
        metrics.count('RenewalsStarted');
        throw failure;
      },
      { logger, metrics },
    );

    // No failure answer: the invocation rejects, so Lambda (or the event source) retries it.
    await expect(handler(undefined)).rejects.toBe(failure);
    expect(calls).toEqual(['count RenewalsStarted', 'flush']);
  });

  it('answers a failure with its answer: logged as an error with the error named, counted as Errors, then flushed', async () => {
    const { calls, logged, logger, metrics } = telemetry();
    const handler = edge(
      async () => {
        throw new TableUnavailableError('the subscription table did not answer');
      },
      { logger, metrics, failure: ANSWER },
    );

    await expect(handler(undefined)).resolves.toEqual({
      statusCode: 500,
      error: 'TableUnavailableError: the subscription table did not answer',
    });
    expect(calls).toEqual(['error request failed; answered 500', 'count Errors', 'flush']);
    expect(logged).toEqual([
      {
        message: 'request failed; answered 500',
        extra: [
          { error: { name: 'TableUnavailableError', message: 'the subscription table did not answer' } },
        ],
      },
    ]);
  });

  it('answers a thrown value that is not an Error by its text', async () => {
    const { logger } = telemetry();
    const handler = edge(
      async () => {
        throw 'socket hang up';
      },
      { logger, failure: ANSWER },
    );

    await expect(handler(undefined)).resolves.toEqual({ statusCode: 500, error: 'Unknown: socket hang up' });
  });

  it('leaves a successful answer alone: no error logged, nothing counted', async () => {
    const { calls, logger, metrics } = telemetry();
    const handler = edge(async () => ({ statusCode: 200, error: '' }), { logger, metrics, failure: ANSWER });

    await expect(handler(undefined)).resolves.toEqual({ statusCode: 200, error: '' });
    expect(calls).toEqual(['flush']);
  });

  it("gives a Powertools Logger the Lambda context: the request id and the cold start are in the use case's log lines", async () => {
    // Dev mode makes Powertools write through the global console, where the lines can be read.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    // As Lambda sets it for an on-demand execution environment (without it, no start is cold).
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const lines: string[] = [];
    vi.spyOn(console, 'info').mockImplementation((line: unknown) => lines.push(String(line)));
    const logger = new Logger({ serviceName: 'receiver' });
    const handler = edge(
      async () => {
        logger.info('push received');
      },
      { logger },
    );

    await handler(undefined, lambdaContext('req-1'));
    await handler(undefined, lambdaContext('req-2'));

    const entries = lines.map((line) => JSON.parse(line));
    expect(entries).toMatchObject([
      { message: 'push received', function_request_id: 'req-1', cold_start: true },
      { message: 'push received', function_request_id: 'req-2', cold_start: false },
    ]);
  });

  it('gives any other log sink only what the use case logs (the local run has no Lambda context)', async () => {
    const { logged, logger } = telemetry();
    const handler = edge(
      async () => {
        logger.info('push received', { mailbox: 'alice@contoso.test' });
      },
      { logger },
    );

    await handler(undefined, lambdaContext('req-1'));
    await handler(undefined);

    expect(logged).toEqual([
      { message: 'push received', extra: [{ mailbox: 'alice@contoso.test' }] },
      { message: 'push received', extra: [{ mailbox: 'alice@contoso.test' }] },
    ]);
  });
});
