/**
 * The receiver's Graph routes (`POST /graph/notify`, `POST /graph/lifecycle`) as an HTTP use
 * case: Graph's validation handshake answered from the query string alone (no state, no key, no
 * I/O: it must come back within 10 s even from a cold start), then the body decoded, every
 * item's clientState checked in constant time before anything is read (a forgery costs no read;
 * 403 when nothing verifies), the verified items handed to `receiveGraph`, and 202 only once
 * what they carry is durable. Our failures throw: the edge answers 500 and Graph retries.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import type { CallbackKey } from '../domain/callback.ts';
import { parseMailboxKey } from '../domain/mailbox-key.ts';
import { verifyClientState } from '../graph/client-state.ts';
import {
  DEFAULT_NOTIFICATION_LIMITS,
  decodeNotificationBody,
  type NotificationLimits,
  validationAnswer,
  validationTokenOf,
} from '../graph/notification.ts';
import {
  type GraphDecision,
  type GraphReceiveDeps,
  receiveGraph,
  type VerifiedNotification,
} from './graph-receive.ts';

export interface GraphReceiverDeps extends GraphReceiveDeps {
  /** The deployment secret (the EWS callback key: the clientState HMAC is domain-separated). */
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly logger: LogSink;
  readonly metrics: MetricsRecorder;
  readonly limits?: NotificationLimits;
}

const GRAPH_DECISION_METRIC: Record<GraphDecision, string> = {
  accepted: 'GraphNotificationsAccepted',
  adopted: 'GraphNotificationsAccepted',
  lifecycle: 'GraphLifecycleNotifications',
  superseded: 'GraphSupersededNotifications',
  unknownMailbox: 'GraphNotificationsDropped',
  removed: 'GraphNotificationsDropped',
  stray: 'GraphNotificationsDropped',
  foreignResource: 'GraphNotificationsRefused',
};

const text = (statusCode: number, body: string, extra: Record<string, string> = {}) => ({
  statusCode,
  headers: { 'content-type': 'text/plain', ...extra },
  body,
});

export function receiveGraphHttp(
  deps: GraphReceiverDeps,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const { logger, metrics } = deps;
  const limits = deps.limits ?? DEFAULT_NOTIFICATION_LIMITS;
  const reject = (reason: string) => metrics.count('Rejections', 1, { name: 'Reason', value: reason });

  return async (event) => {
    if (event.requestContext.http.method !== 'POST') {
      reject('MethodNotAllowed');
      return text(405, 'use POST', { allow: 'POST' });
    }
    const validation = validationTokenOf(event.rawQueryString);
    if (validation !== null) {
      if (!validation.ok) {
        reject('InvalidValidationRequest');
        return text(400, validation.error.message);
      }
      metrics.count('GraphValidations');
      return validationAnswer(validation.value);
    }
    const body =
      event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
    const decoded = decodeNotificationBody(body, limits);
    if (!decoded.ok) {
      reject(decoded.error.reason);
      return text(400, decoded.error.message);
    }
    const key = await deps.callbackKey();
    // The items of one subscription carry the same clientState: each distinct value is checked
    // once per request (an HMAC costs tens of microseconds; a batch holds up to 1,000 items).
    const checked = new Map<string, ReturnType<typeof verifyClientState>>();
    const verify = (clientState: string | null) => {
      if (clientState === null) return undefined;
      if (!checked.has(clientState)) checked.set(clientState, verifyClientState(key, clientState));
      return checked.get(clientState);
    };
    const verified: VerifiedNotification[] = [];
    let forged = 0;
    for (const notification of decoded.value.notifications) {
      const state = verify(notification.clientState);
      const mailboxKey = state === undefined ? undefined : parseMailboxKey(state.mailboxKey);
      if (state === undefined || mailboxKey === undefined) forged++;
      else verified.push({ notification, mailboxKey, generation: state.generation });
    }
    // A damaged item whose clientState verifies is ours: the change it stood for is caught up by
    // delta (a `missed`), since it cannot be published.
    for (const item of decoded.value.rejected) {
      const state = verify(item.clientState);
      const mailboxKey = state === undefined ? undefined : parseMailboxKey(state.mailboxKey);
      if (state === undefined || mailboxKey === undefined || item.subscriptionId === null) {
        forged++;
        continue;
      }
      logger.warn('Graph notification item unreadable; catching up instead', {
        mailboxKey,
        reason: item.reason,
      });
      verified.push({
        mailboxKey,
        generation: state.generation,
        notification: {
          kind: 'lifecycle',
          subscriptionId: item.subscriptionId,
          clientState: item.clientState,
          lifecycleEvent: 'missed',
          tenantId: null,
          subscriptionExpirationDateTime: null,
        },
      });
    }
    if (forged > 0) {
      reject('ClientStateMismatch');
      // Its own metric (alarmed on): items, not requests, since a batch mixes subscriptions.
      metrics.count('GraphClientStateRejections', forged);
    }
    if (verified.length === 0 && forged > 0) {
      // Nothing ours in it: a short 403 with no detail, and no state was read.
      return text(403, 'forbidden');
    }
    metrics.count('GraphNotificationBatches');
    const outcomes = await receiveGraph(verified, deps);
    // Counted once per metric, and the routine (published) items in one line: a batch holds up
    // to 1,000 items, and a log call costs even at a level that drops it.
    const tally = new Map<string, number>();
    const add = (name: string, value: number) => tally.set(name, (tally.get(name) ?? 0) + value);
    let taken = 0;
    for (const outcome of outcomes) {
      add(GRAPH_DECISION_METRIC[outcome.decision], 1);
      if (outcome.published > 0) add('EventsAccepted', outcome.published);
      if (outcome.decision === 'accepted' || outcome.decision === 'adopted') {
        taken++;
      } else if (outcome.decision === 'foreignResource') {
        // Its clientState verified, so it came with a secret of ours: a replay onto another
        // user's item, or a subscription made for the wrong user. Someone should look.
        logger.warn(
          'Graph notification refused: its resource does not name the user of the mailbox its clientState names; not published',
          { ...outcome },
        );
      } else {
        logger.info('Graph notification taken', { ...outcome });
      }
    }
    for (const [name, value] of tally) metrics.count(name, value);
    if (taken > 0) logger.debug('Graph notifications published', { items: taken });
    return { statusCode: 202, headers: { 'content-type': 'text/plain' }, body: '' };
  };
}
