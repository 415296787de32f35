/**
 * Helpers for the simulator tests: a callback receiver that records every push and answers as
 * told, an EWS client built on the project's own request encoders and response decoders, waiting
 * on the simulated clock, and a clock that can jump forward (to age watermarks past 30 days).
 */
import http from 'node:http';
import type { Clock } from '../../functions/core/clock.ts';
import type { Result } from '../../functions/core/result.ts';
import type { EwsError } from '../../functions/ews/errors.ts';
import {
  decodeSendNotification,
  encodeSendNotificationResult,
  type SendNotification,
} from '../../functions/ews/notification.ts';
import type { RequestContext } from '../../functions/ews/request.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
  type SubscribeResult,
} from '../../functions/ews/subscribe.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../simulator/server.ts';

/** The value, or a failed test when there is none (instead of a cast). */
export function defined<T>(x: T | undefined, what = 'a value'): T {
  if (x === undefined) throw new Error(`expected ${what}, got undefined`);
  return x;
}

export function value<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${String(result.error)}`);
  return result.value;
}
export function failure<T, E>(result: Result<T, E>): E {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

// ---- the callback receiver --------------------------------------------------------------------

export interface ReceivedPush {
  /** Simulated time the push arrived. */
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The project's decoder's reading of the body (null when it refused it). */
  readonly decoded: SendNotification | null;
}

/** How the receiver answers one push. */
export type Reply =
  | 'OK'
  | 'Unsubscribe'
  /** Never answer (the simulator's timeout must fire). */
  | 'hang'
  | { readonly status: number; readonly body?: string; readonly contentType?: string };

export interface Receiver {
  readonly url: string;
  readonly pushes: ReceivedPush[];
  /** Changes how later pushes are answered. */
  answerWith(policy: (push: ReceivedPush, index: number) => Reply): void;
  close(): Promise<void>;
}

export async function startReceiver(clock: Clock, path = '/callback/abc?token=t0k%2B'): Promise<Receiver> {
  const pushes: ReceivedPush[] = [];
  let policy: (push: ReceivedPush, index: number) => Reply = () => 'OK';
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const decoded = decodeSendNotification(body);
      const push: ReceivedPush = {
        at: clock.now(),
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
        decoded: decoded.ok ? decoded.value : null,
      };
      const index = pushes.length;
      pushes.push(push);
      const reply = policy(push, index);
      if (reply === 'hang') {
        hanging.add(response);
        return;
      }
      if (reply === 'OK' || reply === 'Unsubscribe') {
        const result = encodeSendNotificationResult(reply);
        response.writeHead(200, { 'Content-Type': result.contentType });
        response.end(result.body);
        return;
      }
      response.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'text/xml; charset=utf-8' });
      response.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no address');
  return {
    url: `http://127.0.0.1:${address.port}${path}`,
    pushes,
    answerWith(next) {
      policy = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- talking to the simulator -----------------------------------------------------------------

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

export async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  return response.json();
}

/** The default test mailbox context: impersonate `mailbox`, as app-only access must. */
export function as(mailbox: string): RequestContext {
  return { impersonation: { kind: 'PrimarySmtpAddress', value: mailbox } };
}

/** Sends a push Subscribe for `mailbox` (impersonated) and decodes the answer with the project's decoder. */
export async function subscribe(
  sim: Simulator,
  mailbox: string,
  request: PushSubscriptionRequest,
  headers: Record<string, string> = {},
): Promise<Result<SubscribeResult, EwsError>> {
  const reply = await post(sim.ewsUrl, encodeSubscribe(request, as(mailbox)), headers);
  return decodeSubscribeResponse(reply.body);
}

// ---- time -------------------------------------------------------------------------------------

/** A wait never gives up before this much real time: a busy machine is slow, not wrong. */
const MIN_REAL_WAIT_MS = 5_000;

/**
 * Waits until `condition` holds, polling every few real milliseconds, or fails once `simulatedMs`
 * of simulated time (and at least MIN_REAL_WAIT_MS of real time) have passed, with `what` in the
 * message. Waiting is not asserting: tests assert on the recorded simulated times instead.
 */
export async function waitFor(
  clock: Clock,
  condition: () => boolean,
  what: string,
  simulatedMs: number,
): Promise<void> {
  const budget = Math.max(simulatedMs, MIN_REAL_WAIT_MS * clock.timeScale);
  const deadline = clock.now() + budget;
  while (!condition()) {
    if (clock.now() > deadline) {
      throw new Error(`timed out after ${budget / 1000} simulated s waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Sleeps `simulatedMs` on the clock. */
export function elapse(clock: Clock, simulatedMs: number): Promise<void> {
  return clock.sleep(simulatedMs);
}

/**
 * A clock on top of another that can jump forward: `now()` adds the jumps, timers still run on the
 * base clock. Lets a test make a watermark 31 days old without waiting 31 simulated days.
 */
export function createJumpableClock(base: Clock): Clock & { jump(ms: number): void } {
  let offset = 0;
  return {
    now: () => base.now() + offset,
    setTimer: (ms, fn) => base.setTimer(ms, fn),
    sleep: (ms) => base.sleep(ms),
    timeScale: base.timeScale,
    jump(ms) {
      offset += ms;
    },
  };
}

/** Real milliseconds of timer jitter the assertions allow, as simulated milliseconds on `clock`. */
export function jitterTolerance(clock: Clock, realMs = 50): number {
  return realMs * clock.timeScale;
}

/**
 * Starts a simulator and a receiver on `clock`; both stop when the test ends (`onTestFinished` of
 * the test's context, so concurrent tests clean up only their own).
 */
export async function startWithReceiver(
  onTestFinished: (fn: () => Promise<void>) => void,
  options: SimulatorOptions & { clock: Clock },
): Promise<{ sim: Simulator; receiver: Receiver }> {
  const sim = await startSimulator(options);
  const receiver = await startReceiver(options.clock);
  onTestFinished(async () => {
    await sim.stop();
    await receiver.close();
  });
  return { sim, receiver };
}
