/**
 * A small Graph client over an injected `fetch`: app-only token caching, Outlook's limits (at most
 * 4 requests in flight per app and mailbox; 429/503 with Retry-After waited out and retried, a few
 * times, within a bound), one fresh token after a 401, and the typed decoders of this folder.
 * Nothing here throws for anything the network or Graph can do; no AWS, no logging.
 *
 * Waits use the injected clock, so the tests' stepped clock and the local run's scaled clock work.
 * A Retry-After longer than `maxRetryWaitMs` is not slept on: the typed `Throttled` error goes back
 * with `retryAfterMs`, for a queue to wait instead of a running Lambda.
 */
import { type Clock, systemClock } from '../core/clock.ts';
import { readCapped } from '../core/read-capped.ts';
import { err, ok, type Result } from '../core/result.ts';
import { formatCount } from '../core/show.ts';
import { type DeltaCallError, type DeltaPage, decodeDeltaPage } from './delta.ts';
import {
  type GraphOperation,
  GraphUnreachableError,
  InvalidGraphRequestError,
  parseRetryAfter,
  shownUrl,
} from './errors.ts';
import type { GraphReply, GraphRequest } from './request.ts';
import {
  buildCreateSubscription,
  buildDeleteSubscription,
  buildGetSubscription,
  buildReauthorizeSubscription,
  buildRenewSubscription,
  type CreateSubscriptionInput,
  decodeCreateSubscriptionResponse,
  decodeDeleteSubscriptionResponse,
  decodeGetSubscriptionResponse,
  decodeReauthorizeResponse,
  decodeRenewSubscriptionResponse,
  expiryFrom,
  type GraphSubscription,
  type SubscriptionCallError,
} from './subscription.ts';
import {
  buildTokenRequest,
  decodeTokenResponse,
  type GraphCredentials,
  type GraphTokenError,
} from './token.ts';

export const GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';
/** Outlook service limit: concurrent requests per app per mailbox (Learn, service-specific throttling limits). */
export const OUTLOOK_CONCURRENCY_PER_MAILBOX = 4;

export interface GraphClientOptions {
  readonly credentials: GraphCredentials;
  /** @default GRAPH_BASE_URL */
  readonly baseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Requests in flight per mailbox. @default 4 */
  readonly perMailboxConcurrency?: number;
  /** Retries of one request after 429/503. @default 3 */
  readonly maxRetries?: number;
  /** Longest wait slept on in-process; longer Retry-Afters are returned to the caller. @default 30_000 */
  readonly maxRetryWaitMs?: number;
  /** Per request, clock time. @default 30_000 */
  readonly timeoutMs?: number;
  /** @default 16 MiB */
  readonly maxResponseBytes?: number;
}

export type GraphCallError =
  | SubscriptionCallError
  | DeltaCallError
  | GraphTokenError
  | GraphUnreachableError
  | InvalidGraphRequestError;

export interface GraphClient {
  /** Sends a built request (token, limits and retries applied); the caller decodes the reply. */
  send(request: GraphRequest): Promise<Result<GraphReply, GraphCallError>>;
  createSubscription(input: CreateSubscriptionInput): Promise<Result<GraphSubscription, GraphCallError>>;
  /** @default expiresAt expiryFrom(now) */
  renewSubscription(
    subscriptionId: string,
    expiresAt?: number,
  ): Promise<Result<GraphSubscription, GraphCallError>>;
  reauthorizeSubscription(subscriptionId: string): Promise<Result<void, GraphCallError>>;
  getSubscription(subscriptionId: string): Promise<Result<GraphSubscription, GraphCallError>>;
  deleteSubscription(subscriptionId: string): Promise<Result<'deleted' | 'alreadyGone', GraphCallError>>;
  /** One delta page (build the request with delta.ts). */
  deltaPage(request: GraphRequest): Promise<Result<DeltaPage, GraphCallError>>;
  /** Requests in flight or waiting for a slot, for `mailbox` (tests and metrics). */
  inFlight(mailbox: string): number;
}

interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? systemClock;
  const baseUrl = (options.baseUrl ?? GRAPH_BASE_URL).replace(/\/+$/, '');
  const maxRetries = options.maxRetries ?? 3;
  const maxRetryWaitMs = options.maxRetryWaitMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const limiter = new KeyedLimiter(options.perMailboxConcurrency ?? OUTLOOK_CONCURRENCY_PER_MAILBOX);
  const tokenRequest = buildTokenRequest(options.credentials);

  async function exchange(
    operation: GraphOperation,
    url: string,
    init: { method: string; headers: Record<string, string>; body: string | null },
  ): Promise<Result<RawReply, GraphUnreachableError>> {
    const controller = new AbortController();
    const timeout = new Error('timeout');
    const cancel = clock.setTimer(timeoutMs, () => controller.abort(timeout));
    try {
      const response = await fetchFn(url, {
        method: init.method,
        headers: init.headers,
        ...(init.body === null ? {} : { body: init.body }),
        // A redirect would resend the bearer token to wherever it points.
        redirect: 'manual',
        signal: controller.signal,
      });
      const body = await readCapped(response, maxResponseBytes);
      if (body === null) {
        controller.abort();
        return err(
          new GraphUnreachableError({
            operation,
            url: shownUrl(url),
            reason: 'tooLarge',
            detail: `answered more than the ${formatCount(maxResponseBytes)} bytes accepted`,
          }),
        );
      }
      return ok({ status: response.status, headers: response.headers, body });
    } catch (error) {
      const timedOut = controller.signal.aborted && controller.signal.reason === timeout;
      return err(
        new GraphUnreachableError({
          operation,
          url: shownUrl(url),
          reason: timedOut ? 'timeout' : 'network',
          detail: timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached',
          ...(timedOut ? {} : { cause: error }),
        }),
      );
    } finally {
      cancel();
    }
  }

  // ---- the token: one cached per client, concurrent callers share one request, failures not cached
  let cached: { readonly value: string; readonly refreshAt: number } | null = null;
  let pending: Promise<Result<string, GraphTokenError | GraphUnreachableError>> | null = null;

  async function requestToken(): Promise<Result<string, GraphTokenError | GraphUnreachableError>> {
    const requestedAt = clock.now();
    const reply = await exchange('token', tokenRequest.url, {
      method: 'POST',
      headers: { ...tokenRequest.headers },
      body: tokenRequest.body,
    });
    if (!reply.ok) return reply;
    const token = decodeTokenResponse(reply.value.status, reply.value.headers, reply.value.body, requestedAt);
    if (!token.ok) return token;
    cached = { value: token.value.accessToken, refreshAt: token.value.refreshAt };
    return ok(token.value.accessToken);
  }

  function token(): Promise<Result<string, GraphTokenError | GraphUnreachableError>> {
    if (cached !== null && clock.now() < cached.refreshAt) return Promise.resolve(ok(cached.value));
    pending ??= requestToken().finally(() => {
      pending = null;
    });
    return pending;
  }

  function resolve(path: string): Result<string, InvalidGraphRequestError> {
    if (path.startsWith('/')) return ok(`${baseUrl}${path}`);
    // Links Graph handed out are followed only on Graph's own origin and version: the bearer
    // token must never go anywhere a stored (or tampered) link points.
    if (path.startsWith(`${baseUrl}/`)) return ok(path);
    return err(
      new InvalidGraphRequestError(
        'link',
        shownUrl(path),
        `is not under the Graph base URL ${baseUrl}; it is not followed`,
      ),
    );
  }

  async function send(request: GraphRequest): Promise<Result<GraphReply, GraphCallError>> {
    const url = resolve(request.path);
    if (!url.ok) return url;
    let refreshed = false;
    for (let attempt = 0; ; ) {
      const release = request.mailbox === null ? null : await limiter.acquire(request.mailbox.toLowerCase());
      let reply: Result<RawReply, GraphCallError>;
      let bearer: string | null = null;
      try {
        const t = await token();
        if (!t.ok) return t;
        bearer = t.value;
        reply = await exchange(request.operation, url.value, {
          method: request.method,
          headers: { ...request.headers, Authorization: `Bearer ${bearer}` },
          body: request.body,
        });
      } finally {
        release?.();
      }
      if (!reply.ok) return reply;
      const { status, headers } = reply.value;
      // A cached token can be revoked before it expires: one fresh token, once.
      if (status === 401 && !refreshed) {
        refreshed = true;
        if (cached?.value === bearer) cached = null;
        continue;
      }
      if ((status === 429 || status === 503) && attempt < maxRetries) {
        const wait = parseRetryAfter(headers.get('retry-after'), clock.now()) ?? 1000 * 2 ** attempt;
        if (wait <= maxRetryWaitMs) {
          attempt++;
          // The slot is released while waiting: holding it would throttle this app's other calls.
          await clock.sleep(wait);
          continue;
        }
      }
      return ok(reply.value);
    }
  }

  async function call<T>(
    build: () => GraphRequest,
    decode: (reply: GraphReply, now: number) => Result<T, GraphCallError>,
  ): Promise<Result<T, GraphCallError>> {
    let request: GraphRequest;
    try {
      request = build();
    } catch (error) {
      if (error instanceof InvalidGraphRequestError) return err(error);
      throw error;
    }
    const reply = await send(request);
    if (!reply.ok) return reply;
    return decode(reply.value, clock.now());
  }

  return {
    send,
    createSubscription: (input) =>
      call(() => buildCreateSubscription(input, clock.now()), decodeCreateSubscriptionResponse),
    renewSubscription: (id, expiresAt) =>
      call(
        () => buildRenewSubscription(id, expiresAt ?? expiryFrom(clock.now()), clock.now()),
        decodeRenewSubscriptionResponse,
      ),
    reauthorizeSubscription: (id) => call(() => buildReauthorizeSubscription(id), decodeReauthorizeResponse),
    getSubscription: (id) => call(() => buildGetSubscription(id), decodeGetSubscriptionResponse),
    deleteSubscription: (id) => call(() => buildDeleteSubscription(id), decodeDeleteSubscriptionResponse),
    deltaPage: (request) => call(() => request, decodeDeltaPage),
    inFlight: (mailbox) => limiter.load(mailbox.toLowerCase()),
  };
}

/** At most `limit` holders per key; waiters are served in arrival order. */
class KeyedLimiter {
  readonly #limit: number;
  readonly #keys = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidGraphRequestError(
        'perMailboxConcurrency',
        String(limit),
        'must be a positive integer',
      );
    }
    this.#limit = limit;
  }

  async acquire(key: string): Promise<() => void> {
    let slot = this.#keys.get(key);
    if (slot === undefined) {
      slot = { active: 0, waiting: [] };
      this.#keys.set(key, slot);
    }
    const entry = slot;
    if (entry.active < this.#limit) entry.active++;
    // The releaser hands its slot straight to the next waiter, so `active` stays counted.
    else await new Promise<void>((resolve) => entry.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry.waiting.shift();
      if (next !== undefined) next();
      else if (--entry.active === 0) this.#keys.delete(key);
    };
  }

  load(key: string): number {
    const slot = this.#keys.get(key);
    return slot === undefined ? 0 : slot.active + slot.waiting.length;
  }
}
