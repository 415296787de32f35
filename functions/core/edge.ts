/**
 * The Lambda edge, said once: every function is a middy chain over a host-neutral use case, and
 * every host (Lambda, the local run, the tests) calls the same chain. The chain adds what a
 * handler would otherwise hand-write: the Lambda context in the logs (request id, cold start),
 * the metrics flushed after every invocation, failed or not, and, where our failure has an answer
 * (the receiver's 500, the admin's error response), one place that logs it and answers it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { LogSink, MetricsRecorder } from './telemetry.ts';

/** A function as its hosts call it; hosts without a Lambda context (tests, the local run) omit it. */
export type EdgeHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/** Errors as log data: name and message, never a request body or a token. */
export interface ErrorDescription {
  readonly name: string;
  readonly message: string;
}

export function describeError(error: unknown): ErrorDescription {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Unknown', message: String(error) };
}

/** How a function answers our own failure, instead of letting the invocation fail. */
export interface FailureAnswer<R> {
  /** The error log line's message: what happened, and what the caller is told. */
  readonly message: string;
  readonly answer: (error: ErrorDescription) => R;
}

export interface EdgeParts<R> {
  readonly logger: LogSink;
  /** Flushed after every invocation; a failure answered is counted as `Errors`. */
  readonly metrics?: MetricsRecorder;
  /** Without it a failure fails the invocation (Lambda's or the event source's retry). */
  readonly failure?: FailureAnswer<R>;
}

export function edge<E, R>(useCase: (event: E) => Promise<R>, parts: EdgeParts<R>): EdgeHandler<E, R> {
  // No early timeout: a function that runs out of time fails as it did before middy (Lambda's
  // timeout), and no timer is set on every invocation.
  const chain = middy<E, R>((event: E) => useCase(event), { timeoutEarlyInMillis: 0 });
  // The local run's log sink has no Lambda context to carry; a Powertools Logger (Lambda's) does.
  if (parts.logger instanceof Logger) chain.use(injectLambdaContext(parts.logger));
  if (parts.metrics !== undefined) chain.use(flushMetrics(parts.metrics));
  if (parts.failure !== undefined) chain.use(answerFailure(parts.failure, parts.logger, parts.metrics));
  return (event, context) => chain(event, context ?? hostContext());
}

/**
 * Instead of Powertools' `logMetrics`: that one publishes unconditionally, and an invocation that
 * counted nothing (a forged push's single metric is already written, a quiet batch) would log
 * "No application metrics to publish" every time; `throwOnEmptyMetrics` would throw instead.
 * `MetricsRecorder.flush` publishes only what was counted, on Powertools in Lambda and in memory
 * locally. Runs last (after, and on error after the failure answer has counted).
 */
function flushMetrics(metrics: MetricsRecorder): MiddlewareObj {
  // Returns nothing whatever `flush` returns: middy takes a value an `after` middleware returns
  // as the invocation's response.
  const flush = () => {
    metrics.flush();
  };
  return { after: flush, onError: flush };
}

function answerFailure<R>(
  failure: FailureAnswer<R>,
  logger: LogSink,
  metrics: MetricsRecorder | undefined,
): MiddlewareObj<unknown, R> {
  return {
    onError: (request) => {
      const error = describeError(request.error);
      logger.error(failure.message, { error });
      metrics?.count('Errors');
      request.response = failure.answer(error);
    },
  };
}

/** The context a host without Lambda passes: names the host, never pretends to be a request. */
function hostContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'local',
    functionVersion: '$LATEST',
    invokedFunctionArn: '',
    memoryLimitInMB: '0',
    awsRequestId: '',
    logGroupName: '',
    logStreamName: '',
    getRemainingTimeInMillis: () => Number.POSITIVE_INFINITY,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
