/**
 * Whether the local run keeps up with the load it is given, so it says so instead of failing
 * silently (docs/local-run.md, "When the run cannot keep up"). Two signals, in the order the
 * profile found them useful (notes of issue 16):
 * - push answer time against the simulator's push timeout: a push answered too late counts as
 *   failed, Exchange retries at 30 s doubling, and past StatusFrequency drops the subscription;
 * - the ingest backlog growing: the processor is behind, events reach consumers later and later.
 * Event-loop delay is not one: it stayed low while pushes were already timing out.
 */
import type { DeliveryRecord } from '../simulator/push-engine.ts';

/**
 * The simulator's push timeout as the local run configures it (simulator/options.ts defaults:
 * 10 simulated seconds, at least 1 real second), in real ms.
 */
export function pushTimeoutRealMs(timeScale: number): number {
  return Math.max(10_000, 1000 * timeScale) / timeScale;
}

export interface KeepUpReading {
  /** p95 of the push answer times over the window, real ms (0 with no push). */
  readonly pushP95Ms: number;
  readonly pushTimeoutMs: number;
  /** Pushes that got no answer in time, in the window. */
  readonly pushTimeouts: number;
  readonly ingestBacklog: number;
  /** Seconds in a row the ingest backlog has grown. */
  readonly ingestGrowingFor: number;
  /** What is wrong, when something is; undefined when the run keeps up. */
  readonly warning: string | undefined;
}

export interface KeepUpSummary {
  /** Readings that carried a warning (about one a second). */
  readonly warnings: number;
  /** The first warning, as printed. */
  readonly firstWarning: string | undefined;
  readonly worstPushP95Ms: number;
  readonly pushTimeoutMs: number;
  readonly pushTimeouts: number;
  readonly maxIngestBacklog: number;
}

/** p95 over this much real time. */
const WINDOW_MS = 10_000;
/** Warn when the push answer p95 passes this share of the timeout. */
const LATE_SHARE = 0.5;
/** Warn when the backlog has grown this many readings in a row, and is at least this big. */
const GROWING_READINGS = 10;
const GROWING_MIN_BACKLOG = 100;

export class KeepUpMonitor {
  readonly #timeScale: number;
  readonly #pushTimeoutMs: number;
  #answers: Array<{ at: number; ms: number; timedOut: boolean }> = [];
  #lastBacklog = 0;
  #growingFor = 0;
  #warnings = 0;
  #firstWarning: string | undefined;
  #worstP95 = 0;
  #timeouts = 0;
  #maxBacklog = 0;

  constructor(timeScale: number) {
    this.#timeScale = timeScale;
    this.#pushTimeoutMs = pushTimeoutRealMs(timeScale);
  }

  /** One reading: the push attempts finished since the last one, and the ingest backlog now. */
  read(nowMs: number, attempts: readonly DeliveryRecord[], ingestBacklog: number): KeepUpReading {
    for (const attempt of attempts) {
      if (attempt.outcome === 'skipped') continue;
      const timedOut = attempt.outcome === 'timeout';
      if (timedOut) this.#timeouts++;
      this.#answers.push({
        at: nowMs,
        ms: (attempt.finishedAt - attempt.startedAt) / this.#timeScale,
        timedOut,
      });
    }
    this.#answers = this.#answers.filter((a) => a.at > nowMs - WINDOW_MS);
    const times = this.#answers.map((a) => a.ms).sort((a, b) => a - b);
    const pushP95Ms = times.length === 0 ? 0 : (times[Math.ceil(0.95 * times.length) - 1] ?? 0);
    const pushTimeouts = this.#answers.filter((a) => a.timedOut).length;
    this.#growingFor = ingestBacklog > this.#lastBacklog ? this.#growingFor + 1 : 0;
    this.#lastBacklog = ingestBacklog;
    this.#worstP95 = Math.max(this.#worstP95, pushP95Ms);
    this.#maxBacklog = Math.max(this.#maxBacklog, ingestBacklog);

    const problems: string[] = [];
    if (pushTimeouts > 0)
      problems.push(
        `${pushTimeouts} pushes got no answer within the ${Math.round(this.#pushTimeoutMs)} ms push timeout in the last ${WINDOW_MS / 1000} s: Exchange will drop subscriptions (they heal, with delay)`,
      );
    else if (pushP95Ms > LATE_SHARE * this.#pushTimeoutMs)
      problems.push(
        `push answers p95 ${Math.round(pushP95Ms)} ms, over half the ${Math.round(this.#pushTimeoutMs)} ms push timeout`,
      );
    if (this.#growingFor >= GROWING_READINGS && ingestBacklog >= GROWING_MIN_BACKLOG)
      problems.push(
        `the ingest backlog has grown for ${this.#growingFor} s (${ingestBacklog} events): the processor is behind`,
      );
    const warning =
      problems.length === 0
        ? undefined
        : `cannot keep up: ${problems.join('; ')}. Fewer mailboxes, a lower --time-scale or a higher --status-frequency would.`;
    if (warning !== undefined) {
      this.#warnings++;
      this.#firstWarning ??= warning;
    }
    return {
      pushP95Ms,
      pushTimeoutMs: this.#pushTimeoutMs,
      pushTimeouts,
      ingestBacklog,
      ingestGrowingFor: this.#growingFor,
      warning,
    };
  }

  summary(): KeepUpSummary {
    return {
      warnings: this.#warnings,
      firstWarning: this.#firstWarning,
      worstPushP95Ms: Math.round(this.#worstP95),
      pushTimeoutMs: Math.round(this.#pushTimeoutMs),
      pushTimeouts: this.#timeouts,
      maxIngestBacklog: this.#maxBacklog,
    };
  }
}
