/**
 * Faults of our own side: AWS calls that fail, injected at the SDK boundary of the local run's
 * function clients (the clients the receiver, processor, renewer, sweeper and admin use; not the
 * event source mapping stand-ins, the run's audit consumer or its own reads, which are AWS's side
 * or the run's accounting). Store-before-ack is the promise they test: the receiver answers 500
 * and Exchange retries; a processor record that fails is retried by the poller; nothing is lost,
 * nothing is published twice beyond what the event ids de-duplicate.
 *
 * Each call fails with probability `rate`, as one of (seeded, so a run can be replayed):
 * - `throttling`: a ThrottlingException (HTTP 400, throttling), before the request is sent;
 * - `server`: an InternalServerError (HTTP 500), before the request is sent;
 * - `timeout`: a TimeoutError *after* the request was carried out: the call took effect but the
 *   caller cannot know (the ambiguous case: a retry repeats it).
 * Inside the SDK's retry loop, so its retries (maxAttempts 2 locally) see them as they would see
 * AWS's; what still fails after the retries reaches the function's code.
 */
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';

export type AwsFaultKind = 'throttling' | 'server' | 'timeout';

export interface AwsFaultCounts {
  /** Injected faults, by service and kind: `dynamodb throttling`, `sns timeout`, … */
  readonly injected: Readonly<Record<string, number>>;
  /** Calls that went through the faulty clients. */
  readonly calls: number;
}

/** The fault plan every faulty client shares: one rate, one seeded sequence, one set of counts. */
export class AwsFaults {
  #rate: number;
  #state: number;
  #calls = 0;
  readonly #injected: Record<string, number> = {};

  constructor(options: { readonly rate: number; readonly seed: number }) {
    this.#rate = validRate(options.rate);
    this.#state = (options.seed >>> 0) ^ 0x9e3779b9;
  }

  get rate(): number {
    return this.#rate;
  }

  /** 0 turns them off (the drain at stop does, as it turns off the simulator's faults). */
  setRate(rate: number): void {
    this.#rate = validRate(rate);
  }

  counts(): AwsFaultCounts {
    return { injected: { ...this.#injected }, calls: this.#calls };
  }

  /** Adds the fault middleware to a client: `service` names it in the counts. */
  attach<I extends object, O extends object>(
    client: { readonly middlewareStack: MiddlewareStack<I, O> },
    service: string,
  ): void {
    const middleware: DeserializeMiddleware<I, O> = (next, context) => async (args) => {
      this.#calls++;
      const kind = this.#draw();
      if (kind === undefined) return next(args);
      const operation = String(Reflect.get(context, 'commandName') ?? 'call').replace(/Command$/, '');
      const key = `${service} ${kind}`;
      this.#injected[key] = (this.#injected[key] ?? 0) + 1;
      if (kind === 'timeout') {
        await next(args);
        throw awsError('TimeoutError', `${operation}: injected timeout after the call took effect`, 0);
      }
      if (kind === 'throttling')
        throw awsError('ThrottlingException', `${operation}: injected throttling`, 400, true);
      throw awsError('InternalServerError', `${operation}: injected server error`, 500);
    };
    client.middlewareStack.add(
      middleware,
      // Inside the retry middleware (finalizeRequest), outside the deserializer: it sees what
      // the SDK's retries see, and the parsed response of a call it lets through.
      { step: 'deserialize', priority: 'high', name: 'localAwsFaults' },
    );
  }

  #draw(): AwsFaultKind | undefined {
    if (this.#rate <= 0) return undefined;
    const roll = this.#next();
    if (roll >= this.#rate) return undefined;
    const which = roll / this.#rate;
    return which < 0.4 ? 'throttling' : which < 0.8 ? 'server' : 'timeout';
  }

  /** mulberry32: small, seeded, good enough for drawing faults. */
  #next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

function validRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new RangeError(`an AWS fault rate is a probability from 0 to 1, not ${rate}`);
  return rate;
}

/** An error shaped like the SDK's service exceptions, so its retry strategy classifies it. */
function awsError(name: string, message: string, status: number, throttling = false): Error {
  const error = new Error(message);
  error.name = name;
  Object.assign(error, {
    $fault: status >= 500 || status === 0 ? 'server' : 'client',
    $metadata: status === 0 ? { attempts: 1 } : { httpStatusCode: status, attempts: 1 },
    ...(throttling ? { $retryable: { throttling: true } } : {}),
  });
  return error;
}
