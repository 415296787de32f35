/**
 * How Graph delivers change and lifecycle notifications to webhooks, and validates their URLs
 * (Learn, "Receive change notifications through webhooks" and its validation include):
 *
 * - Notifications due for one URL go out together as `{"value": [...]}` (they may belong to
 *   several subscriptions), at most `maxBatchSize` per POST, one POST in flight per URL.
 * - A 2xx within 3 s delivers the batch. Anything else (another status, a 2xx after 3 s, no answer
 *   within 10 s, no connection) fails it; each notification is retried with backoff (1, 2, 4, … up
 *   to 60 minutes; Learn gives no schedule) until 4 hours after it was first due, then discarded.
 * - The endpoint rules of April 2026 (shared protocol brief §7): within a 10-minute window, when
 *   more than 10% of answers took over 3 s, new notifications are delayed 10 minutes; when more than
 *   15% took over 10 s, change notifications are dropped for 10 minutes, unrecoverably. The window
 *   starts afresh when the endpoint is flagged.
 * - Validation: POST `{url}?validationToken={encoded}` (`text/plain`, empty body); only 200,
 *   `text/plain` and the decoded token as the body, within 10 s, pass.
 *
 * Windows are simulated time, grown in proportion when the time scale would make 3 s shorter than
 * `minAnswerWindowRealMs` of real time. Every attempt is recorded for the control API.
 */
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../functions/core/clock.ts';
import type { Random } from '../simulator/random.ts';
import type { Timers } from '../simulator/timers.ts';

export const ANSWER_WINDOW_MS = 3_000;
export const REQUEST_TIMEOUT_MS = 10_000;
export const VALIDATION_TIMEOUT_MS = 10_000;
export const RETRY_LIMIT_MS = 4 * 60 * 60 * 1000;
export const THROTTLE_WINDOW_MS = 10 * 60 * 1000;
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 60 * 60 * 1000;
const SLOW_SHARE = 0.1;
const DROP_SHARE = 0.15;
const MAX_REPLY_BYTES = 64 * 1024;

export type Channel = 'change' | 'lifecycle';

/** One item of a POST's `value` array, on its way. */
export interface Notification {
  readonly channel: Channel;
  readonly subscriptionId: string;
  readonly item: Readonly<Record<string, unknown>>;
  /** The change it reports (ground-truth seq), or null for a lifecycle notification. */
  readonly changeSeq: number | null;
  readonly firstDueAt: number;
  dueAt: number;
  attempts: number;
}

/**
 * How an attempt ended: delivered (2xx within 3 s), `late` (2xx after 3 s: Graph resends), `timeout`
 * (no answer within 10 s), `unreachable`, or the HTTP status of any other answer.
 */
export type AttemptOutcome = 'delivered' | 'late' | 'timeout' | 'unreachable' | number;

export type EndpointState = 'normal' | 'slow' | 'drop';

export interface DeliveryRecord {
  readonly seq: number;
  readonly url: string;
  readonly channel: Channel;
  readonly subscriptionIds: readonly string[];
  readonly changeSeqs: readonly number[];
  readonly count: number;
  /** The most retries any notification in the batch had before this attempt. */
  readonly attempt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** finishedAt − startedAt, simulated ms. */
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  readonly httpStatus: number | null;
  /** How the endpoint stood after this answer. */
  readonly endpointState: EndpointState;
}

export interface LossRecord {
  readonly seq: number;
  readonly at: number;
  readonly subscriptionId: string;
  readonly channel: Channel;
  readonly changeSeq: number | null;
  readonly reason: 'dropped' | 'retriesExhausted' | 'missed' | 'paused' | 'subscriptionEnded';
  /** For a lifecycle notification: which (`subscriptionRemoved`, `missed`, `reauthorizationRequired`); else null. */
  readonly lifecycleEvent: string | null;
}

export interface ValidationRecord {
  readonly seq: number;
  readonly url: string;
  readonly token: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly ok: boolean;
  /** What was wrong, or null. */
  readonly problem: string | null;
}

export interface EndpointView {
  readonly url: string;
  readonly channel: Channel;
  readonly state: EndpointState;
  readonly stateUntil: number | null;
  readonly queued: number;
  readonly answersInWindow: number;
  readonly slowAnswersInWindow: number;
  readonly timedOutAnswersInWindow: number;
}

interface Answer {
  readonly at: number;
  readonly slow: boolean;
  readonly timedOut: boolean;
}

interface Endpoint {
  readonly url: string;
  readonly channel: Channel;
  queue: Notification[];
  inFlight: boolean;
  cancelTimer: () => void;
  timerAt: number;
  answers: Answer[];
  state: EndpointState;
  stateUntil: number;
}

export interface DeliveryOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly maxBatchSize: number;
  readonly minAnswerWindowRealMs: number;
  readonly throttleMinAnswers: () => number;
  readonly slowDeliveryRate: () => number;
  readonly slowDeliveryDelayMs: number;
  /** How long a notification is retried after it was first due (Graph: RETRY_LIMIT_MS). @default RETRY_LIMIT_MS */
  readonly retryLimitMs?: number;
  /** Told of every lost change notification (the subscriptions answer with `missed` when the rules say so). */
  readonly onLoss: (loss: LossRecord) => void;
}

type HttpResult =
  | { readonly kind: 'answer'; readonly status: number; readonly contentType: string; readonly body: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unreachable'; readonly detail: string };

const NOOP = () => {};

export class Delivery {
  readonly #o: DeliveryOptions;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #deliveries: DeliveryRecord[] = [];
  readonly #losses: LossRecord[] = [];
  readonly #validations: ValidationRecord[] = [];
  readonly #inFlight = new Set<() => void>();

  constructor(options: DeliveryOptions) {
    this.#o = options;
  }

  /** How much longer than Graph's windows the simulator's are, so a fast time scale leaves real time to answer. */
  get #stretch(): number {
    return Math.max(1, (this.#o.minAnswerWindowRealMs * this.#o.clock.timeScale) / ANSWER_WINDOW_MS);
  }

  windowMs(graphMs: number): number {
    return graphMs * this.#stretch;
  }

  deliveries(filter: { subscriptionId?: string; after?: number } = {}): readonly DeliveryRecord[] {
    const tail = this.#deliveries.slice(Math.max(0, filter.after ?? 0));
    const { subscriptionId } = filter;
    return subscriptionId === undefined
      ? tail
      : tail.filter((d) => d.subscriptionIds.includes(subscriptionId));
  }

  losses(filter: { subscriptionId?: string } = {}): readonly LossRecord[] {
    const { subscriptionId } = filter;
    return subscriptionId === undefined
      ? this.#losses
      : this.#losses.filter((l) => l.subscriptionId === subscriptionId);
  }

  validations(): readonly ValidationRecord[] {
    return this.#validations;
  }

  endpoints(): EndpointView[] {
    const now = this.#o.clock.now();
    return [...this.#endpoints.values()].map((e) => {
      const window = this.#window(e, now);
      return {
        url: e.url,
        channel: e.channel,
        state: e.state,
        stateUntil: e.state === 'normal' ? null : e.stateUntil,
        queued: e.queue.length,
        answersInWindow: window.length,
        slowAnswersInWindow: window.filter((a) => a.slow).length,
        timedOutAnswersInWindow: window.filter((a) => a.timedOut).length,
      };
    });
  }

  /** Queues a notification for its URL; under the drop rule a change notification is lost at once. */
  enqueue(url: string, notification: Notification): void {
    const endpoint = this.#endpoint(url, notification.channel);
    const now = this.#o.clock.now();
    this.#settleState(endpoint, now);
    if (endpoint.state === 'drop' && notification.channel === 'change') {
      this.#lose(notification, 'dropped');
      return;
    }
    if (endpoint.state === 'slow')
      notification.dueAt = Math.max(notification.dueAt, now + THROTTLE_WINDOW_MS);
    if (this.#o.random.chance(this.#o.slowDeliveryRate())) notification.dueAt += this.#o.slowDeliveryDelayMs;
    endpoint.queue.push(notification);
    this.#arm(endpoint);
  }

  /** Loses every queued change notification of a subscription (a `missed` episode, or the subscription ended). */
  discardQueued(subscriptionId: string, reason: LossRecord['reason']): number {
    let count = 0;
    for (const endpoint of this.#endpoints.values()) {
      const keep: Notification[] = [];
      for (const n of endpoint.queue) {
        if (n.subscriptionId === subscriptionId && n.channel === 'change') {
          this.#lose(n, reason);
          count++;
        } else keep.push(n);
      }
      endpoint.queue = keep;
    }
    return count;
  }

  /** Records a notification that was never queued (a paused subscription, a `missed` episode). */
  lost(notification: Notification, reason: LossRecord['reason']): void {
    this.#lose(notification, reason);
  }

  /** POSTs (notifications and validations) waiting for an answer now. */
  pendingRequests(): number {
    return this.#inFlight.size;
  }

  /** Aborts every request in flight (the timers belong to the caller's Timers). */
  stop(): void {
    for (const abort of [...this.#inFlight]) abort();
  }

  // ---- validation -------------------------------------------------------------------------------

  /** Graph's validation handshake with one URL; resolves to null when it passed, else what was wrong. */
  async validate(url: string, token: string): Promise<string | null> {
    const startedAt = this.#o.clock.now();
    const target = new URL(url);
    target.searchParams.append('validationToken', token);
    const timeoutMs = this.windowMs(VALIDATION_TIMEOUT_MS);
    const result = await this.#post(target.toString(), 'text/plain; charset=utf-8', '', timeoutMs);
    let problem: string | null = null;
    if (result.kind === 'timeout') problem = `no answer within ${timeoutMs / 1000} simulated seconds`;
    else if (result.kind === 'unreachable') problem = `the URL could not be reached (${result.detail})`;
    else if (result.status !== 200) problem = `it answered HTTP ${result.status}, not 200`;
    else if (!/^text\/plain\b/i.test(result.contentType)) {
      problem = `it answered Content-Type ${JSON.stringify(result.contentType)}, not text/plain`;
    } else if (result.body !== token) {
      problem =
        result.body === encodeURIComponent(token) || result.body === target.searchParams.toString()
          ? 'it answered the URL-encoded token; answer the decoded token'
          : `it answered ${JSON.stringify(result.body.slice(0, 80))}, not the validation token`;
    }
    this.#validations.push({
      seq: this.#validations.length + 1,
      url,
      token,
      startedAt,
      finishedAt: this.#o.clock.now(),
      ok: problem === null,
      problem,
    });
    return problem;
  }

  // ---- the delivery loop ------------------------------------------------------------------------

  #endpoint(url: string, channel: Channel): Endpoint {
    const key = `${channel} ${url}`;
    let endpoint = this.#endpoints.get(key);
    if (endpoint === undefined) {
      endpoint = {
        url,
        channel,
        queue: [],
        inFlight: false,
        cancelTimer: NOOP,
        timerAt: Number.POSITIVE_INFINITY,
        answers: [],
        state: 'normal',
        stateUntil: 0,
      };
      this.#endpoints.set(key, endpoint);
    }
    return endpoint;
  }

  #settleState(endpoint: Endpoint, now: number): void {
    if (endpoint.state !== 'normal' && now >= endpoint.stateUntil) endpoint.state = 'normal';
  }

  #window(endpoint: Endpoint, now: number): Answer[] {
    endpoint.answers = endpoint.answers.filter((a) => a.at > now - THROTTLE_WINDOW_MS);
    return endpoint.answers;
  }

  /** Sets the endpoint's timer for its earliest due notification, unless one is set for earlier or a POST is out. */
  #arm(endpoint: Endpoint): void {
    if (endpoint.inFlight || endpoint.queue.length === 0) return;
    const earliest = Math.min(...endpoint.queue.map((n) => n.dueAt));
    if (earliest >= endpoint.timerAt) return;
    endpoint.cancelTimer();
    endpoint.timerAt = earliest;
    endpoint.cancelTimer = this.#o.timers.at(earliest, () => {
      endpoint.timerAt = Number.POSITIVE_INFINITY;
      endpoint.cancelTimer = NOOP;
      void this.#flush(endpoint);
    });
  }

  async #flush(endpoint: Endpoint): Promise<void> {
    if (endpoint.inFlight) return;
    const now = this.#o.clock.now();
    const due = endpoint.queue.filter((n) => n.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
    const batch = due.slice(0, this.#o.maxBatchSize);
    if (batch.length === 0) {
      this.#arm(endpoint);
      return;
    }
    endpoint.queue = endpoint.queue.filter((n) => !batch.includes(n));
    endpoint.inFlight = true;
    const startedAt = now;
    const timeoutMs = this.windowMs(REQUEST_TIMEOUT_MS);
    const body = JSON.stringify({ value: batch.map((n) => n.item) });
    const result = await this.#post(endpoint.url, 'application/json; charset=utf-8', body, timeoutMs);
    const finishedAt = this.#o.clock.now();
    const durationMs = finishedAt - startedAt;
    const answeredInTime = durationMs <= this.windowMs(ANSWER_WINDOW_MS);
    let outcome: AttemptOutcome;
    if (result.kind === 'timeout') outcome = 'timeout';
    else if (result.kind === 'unreachable') outcome = 'unreachable';
    else if (result.status >= 200 && result.status < 300) outcome = answeredInTime ? 'delivered' : 'late';
    else outcome = result.status;
    if (result.kind !== 'unreachable') {
      endpoint.answers.push({ at: finishedAt, slow: !answeredInTime, timedOut: result.kind === 'timeout' });
    }
    this.#judge(endpoint, finishedAt);
    this.#deliveries.push({
      seq: this.#deliveries.length + 1,
      url: endpoint.url,
      channel: endpoint.channel,
      subscriptionIds: [...new Set(batch.map((n) => n.subscriptionId))],
      changeSeqs: batch.flatMap((n) => (n.changeSeq === null ? [] : [n.changeSeq])),
      count: batch.length,
      attempt: Math.max(...batch.map((n) => n.attempts)),
      startedAt,
      finishedAt,
      durationMs,
      outcome,
      httpStatus: result.kind === 'answer' ? result.status : null,
      endpointState: endpoint.state,
    });
    if (outcome !== 'delivered') {
      for (const n of batch) {
        n.attempts++;
        if (finishedAt - n.firstDueAt >= (this.#o.retryLimitMs ?? RETRY_LIMIT_MS)) {
          this.#lose(n, 'retriesExhausted');
        } else if (endpoint.state === 'drop' && n.channel === 'change') {
          this.#lose(n, 'dropped');
        } else {
          const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (n.attempts - 1));
          n.dueAt = Math.min(startedAt + backoff, n.firstDueAt + (this.#o.retryLimitMs ?? RETRY_LIMIT_MS));
          endpoint.queue.push(n);
        }
      }
    }
    endpoint.inFlight = false;
    if (this.#o.timers.stopped) return;
    // Whatever fell due while the POST was out goes next.
    if (endpoint.queue.some((n) => n.dueAt <= this.#o.clock.now())) void this.#flush(endpoint);
    else this.#arm(endpoint);
  }

  /** Applies the slow and drop rules to the endpoint's last 10 minutes of answers. */
  #judge(endpoint: Endpoint, now: number): void {
    this.#settleState(endpoint, now);
    const window = this.#window(endpoint, now);
    if (window.length < Math.max(1, this.#o.throttleMinAnswers())) return;
    const timedOut = window.filter((a) => a.timedOut).length / window.length;
    const slow = window.filter((a) => a.slow).length / window.length;
    if (timedOut > DROP_SHARE) {
      endpoint.state = 'drop';
      endpoint.stateUntil = now + THROTTLE_WINDOW_MS;
      endpoint.answers = [];
      const dropped = endpoint.queue.filter((n) => n.channel === 'change');
      endpoint.queue = endpoint.queue.filter((n) => n.channel !== 'change');
      for (const n of dropped) this.#lose(n, 'dropped');
    } else if (slow > SLOW_SHARE && endpoint.state === 'normal') {
      endpoint.state = 'slow';
      endpoint.stateUntil = now + THROTTLE_WINDOW_MS;
      endpoint.answers = [];
      for (const n of endpoint.queue) n.dueAt = Math.max(n.dueAt, now + THROTTLE_WINDOW_MS);
    }
  }

  #lose(notification: Notification, reason: LossRecord['reason']): void {
    const loss: LossRecord = {
      seq: this.#losses.length + 1,
      at: this.#o.clock.now(),
      subscriptionId: notification.subscriptionId,
      channel: notification.channel,
      changeSeq: notification.changeSeq,
      reason,
      lifecycleEvent:
        notification.channel === 'lifecycle' && typeof notification.item.lifecycleEvent === 'string'
          ? notification.item.lifecycleEvent
          : null,
    };
    this.#losses.push(loss);
    if (notification.channel === 'change') this.#o.onLoss(loss);
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  /** POSTs to the URL exactly as given; a fresh connection each time, so nothing lingers after stop(). */
  #post(url: string, contentType: string, body: string, timeoutMs: number): Promise<HttpResult> {
    return new Promise((resolve) => {
      let settled = false;
      let cancelTimeout = NOOP;
      let request: http.ClientRequest | undefined;
      const finish = (result: HttpResult) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        this.#inFlight.delete(abort);
        resolve(result);
      };
      const abort = () => {
        request?.destroy();
        finish({ kind: 'unreachable', detail: 'the stand-in stopped' });
      };
      const payload = Buffer.from(body, 'utf8');
      const target = new URL(url);
      request = (target.protocol === 'https:' ? https : http).request(
        target,
        {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': contentType,
            'Content-Length': payload.byteLength,
            'User-Agent': 'Microsoft-Graph-ChangeNotifications (graph-simulator)',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size <= MAX_REPLY_BYTES) chunks.push(chunk);
          });
          response.on('error', (e) => finish({ kind: 'unreachable', detail: e.message }));
          response.on('end', () =>
            finish({
              kind: 'answer',
              status: response.statusCode ?? 0,
              contentType: response.headers['content-type'] ?? '',
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      this.#inFlight.add(abort);
      request.on('error', (e) => finish({ kind: 'unreachable', detail: e.message }));
      cancelTimeout = this.#o.timers.set(timeoutMs, () => {
        request?.destroy();
        finish({ kind: 'timeout' });
      });
      request.end(payload);
    });
  }
}
