/**
 * One HTTP exchange with Exchange or its token endpoint: a POST under the connection's timeout,
 * never following a redirect, with the answer's body read up to a size cap. What fails is
 * returned as a Failure, not yet tied to a call (a shared token request serves many callers).
 */
import type { Clock } from '../../core/clock.ts';
import { readCapped } from '../../core/read-capped.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { formatCount } from '../../core/show.ts';
import { safeUrlText } from '../../ews/connection.ts';
import type { EwsTarget } from './errors.ts';
import { classifyNetworkError, type UnreachableReason } from './network.ts';

export const USER_AGENT = 'exchange-push-bridge';

/** A failure before it is tied to a call site (a shared token request serves many callers). */
export type Failure =
  | {
      readonly kind: 'unreachable';
      readonly target: EwsTarget;
      readonly url: string;
      readonly reason: UnreachableReason;
      readonly code: string | null;
      readonly timeoutMs: number | null;
      readonly cause: unknown;
    }
  | {
      readonly kind: 'auth';
      readonly target: EwsTarget;
      readonly url: string;
      readonly httpStatus: number;
      readonly oauthError: string | null;
      readonly detail: string | null;
    }
  | {
      readonly kind: 'unavailable';
      readonly target: EwsTarget;
      readonly url: string;
      readonly httpStatus: number;
      readonly retryAfterMs: number | null;
      readonly detail: string | null;
    }
  | { readonly kind: 'protocol'; readonly detail: string };

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** One POST and its answer, or why there was none. */
export type HttpExchange = (
  target: EwsTarget,
  url: string,
  init: { headers: Record<string, string>; body: string },
  maxBytes: number,
) => Promise<Result<HttpReply, Failure>>;

/** The exchange every call of a client goes through: `fetchFn` under a timeout of `timeoutMs` (on `clock`). */
export function createHttpExchange(fetchFn: typeof fetch, clock: Clock, timeoutMs: number): HttpExchange {
  /** One HTTP exchange, body included, under the connection's timeout and a size cap. */
  return async function exchange(
    target: EwsTarget,
    url: string,
    init: { headers: Record<string, string>; body: string },
    maxBytes: number,
  ): Promise<Result<HttpReply, Failure>> {
    const shownUrl = safeUrlText(url);
    const controller = new AbortController();
    const timeout = new Error('timeout');
    const cancelTimer = clock.setTimer(timeoutMs, () => controller.abort(timeout));
    try {
      const response = await fetchFn(url, {
        method: 'POST',
        headers: init.headers,
        body: init.body,
        // A redirect is a misconfigured URL (or a login page); following it would resend credentials.
        redirect: 'manual',
        signal: controller.signal,
      });
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > maxBytes) {
        controller.abort();
        return err(tooLarge(target, shownUrl, maxBytes, `declares ${formatCount(declared)} bytes`));
      }
      const body = await readCapped(response, maxBytes);
      if (body === null) {
        controller.abort();
        return err(tooLarge(target, shownUrl, maxBytes, 'kept coming'));
      }
      return ok({ status: response.status, headers: response.headers, body });
    } catch (error) {
      const timedOut = controller.signal.aborted && controller.signal.reason === timeout;
      const { reason, code } = timedOut
        ? { reason: 'timeout' as const, code: null }
        : classifyNetworkError(error);
      return err({
        kind: 'unreachable',
        target,
        url: shownUrl,
        reason,
        code,
        timeoutMs: timedOut ? timeoutMs : null,
        cause: timedOut ? undefined : error,
      });
    } finally {
      cancelTimer();
    }
  };
}

function tooLarge(target: EwsTarget, url: string, maxBytes: number, how: string): Failure {
  return {
    kind: 'protocol',
    detail: `the answer of ${target === 'EWS' ? 'EWS' : 'the token endpoint'} at ${url} ${how}, more than the ${formatCount(maxBytes)} bytes accepted; ask for fewer items or changes per call`,
  };
}

/** `Retry-After`: delay-seconds or an HTTP date, as milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Replaces every occurrence of a secret with "[redacted]". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== '') out = out.split(secret).join('[redacted]');
  }
  return out;
}
