/**
 * The receiver as an HTTP handler (API Gateway HTTP API, payload v2): authenticate the path,
 * decode the body, let `receive` decide, and answer Exchange. The same function runs in Lambda
 * (handler.ts wires AWS), in the local run and in the tests.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type EdgeHandler, edge, type FailureAnswer } from '../core/edge.ts';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import { type CallbackKey, verifyCallback } from '../domain/callback.ts';
import { GRAPH_LIFECYCLE_ROUTE, GRAPH_NOTIFICATION_ROUTE } from '../domain/graph-mailbox.ts';
import {
  DEFAULT_NOTIFICATION_LIMITS,
  decodeSendNotification,
  encodeSendNotificationResult,
  type NotificationLimits,
} from '../ews/notification.ts';
import { receiveGraphHttp } from './graph-http.ts';
import type { GraphWorkStore } from './graph-receive.ts';
import { type Decision, type ReceiveDeps, receive } from './receive.ts';

export interface ReceiverDeps extends ReceiveDeps {
  /** The deployment secret; loaded once and cached by the caller. */
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly logger: LogSink;
  readonly metrics: MetricsRecorder;
  readonly limits?: NotificationLimits;
  /**
   * Where Graph lifecycle work is noted (the subscription record). With it, the Graph routes
   * (`/graph/notify`, `/graph/lifecycle`) are served; without it they answer 404.
   */
  readonly graphWork?: GraphWorkStore;
}

export type ReceiverHandler = EdgeHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/** CloudWatch metric names per decision (EMF, namespace set by the Metrics instance). */
const DECISION_METRIC: Record<Decision, string> = {
  heartbeat: 'Heartbeats',
  accepted: 'NotificationsAccepted',
  duplicate: 'Duplicates',
  gap: 'Gaps',
  adopted: 'SubscriptionsAdopted',
  dead: 'ErrorPushes',
  unknownMailbox: 'UnsubscribesAnswered',
  removed: 'UnsubscribesAnswered',
  superseded: 'UnsubscribesAnswered',
  stray: 'UnsubscribesAnswered',
};

/** Our failure (DynamoDB, SQS, a bug): 500 so Exchange retries. Never Unsubscribe for it. */
const RETRY_LATER: FailureAnswer<APIGatewayProxyStructuredResultV2> = {
  message: 'notification not taken; answering 500 so Exchange retries',
  answer: () => ({
    statusCode: 500,
    headers: { 'content-type': 'text/plain' },
    body: 'internal error; please retry',
  }),
};

/** The receiver as its hosts call it: the use case in the edge chain (core/edge.ts). */
export function createReceiverHandler(deps: ReceiverDeps): ReceiverHandler {
  return edge(receiveHttp(deps), { logger: deps.logger, metrics: deps.metrics, failure: RETRY_LATER });
}

/** The use case, host-neutral: an HTTP request in, Exchange's answer out; our failures throw. */
export function receiveHttp(
  deps: ReceiverDeps,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const { logger, metrics } = deps;
  const limits = deps.limits ?? DEFAULT_NOTIFICATION_LIMITS;
  const graphWork = deps.graphWork;
  const graph =
    graphWork === undefined
      ? undefined
      : receiveGraphHttp({
          store: deps.store,
          publisher: deps.publisher,
          pushedItemList: deps.pushedItemList,
          clock: deps.clock,
          callbackKey: deps.callbackKey,
          logger,
          metrics,
          graphWork,
        });
  return handle;

  async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    if (event.rawPath === GRAPH_NOTIFICATION_ROUTE || event.rawPath === GRAPH_LIFECYCLE_ROUTE) {
      if (graph === undefined) {
        reject('GraphNotWired');
        return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
      }
      return graph(event);
    }
    const target = verifyCallback(await deps.callbackKey(), event.pathParameters ?? {});
    if (target === undefined) {
      // Forged or malformed: a short 403 with no detail, before any state is read.
      reject('Forbidden');
      return { statusCode: 403, headers: { 'content-type': 'text/plain' }, body: 'forbidden' };
    }
    if (event.requestContext.http.method !== 'POST') {
      reject('MethodNotAllowed');
      return { statusCode: 405, headers: { allow: 'POST', 'content-type': 'text/plain' }, body: 'use POST' };
    }
    const body =
      event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
    const decoded = decodeSendNotification(body, limits);
    if (!decoded.ok) {
      if (decoded.error.reason === 'DecoderFailure') throw decoded.error;
      reject(decoded.error.reason);
      logger.warn('request is not a SendNotification', {
        mailboxKey: target.mailboxKey,
        reason: decoded.error.reason,
        detail: decoded.error.message,
      });
      return { statusCode: 400, headers: { 'content-type': 'text/plain' }, body: decoded.error.message };
    }
    metrics.count('Notifications');
    const result = await receive(target, decoded.value.notifications, deps);
    for (const outcome of result.outcomes) {
      metrics.count(DECISION_METRIC[outcome.decision]);
      if (outcome.published > 0) metrics.count('EventsAccepted', outcome.published);
      if (outcome.responseClass !== 'Success') metrics.count('WarningOrErrorPushes');
      const level =
        outcome.answer === 'Unsubscribe' || outcome.decision === 'gap' || outcome.decision === 'dead'
          ? 'warn'
          : 'debug';
      logger[level]('notification taken', {
        mailboxKey: target.mailboxKey,
        generation: target.generation,
        subscriptionId: outcome.subscriptionId,
        decision: outcome.decision,
        answer: outcome.answer,
        published: outcome.published,
        responseClass: outcome.responseClass,
        responseCode: outcome.responseCode,
      });
    }
    const reply = encodeSendNotificationResult(result.answer, decoded.value.soapVersion);
    return { statusCode: 200, headers: { 'content-type': reply.contentType }, body: reply.body };
  }

  function reject(reason: string): void {
    metrics.count('Rejections', 1, { name: 'Reason', value: reason });
  }
}
